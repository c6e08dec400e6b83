"""Jobs that ``allegro-feed worker`` runs beside its parts, each in a daemon thread.

:class:`Keeper` runs one job (its :meth:`~Keeper.job`, ``(settings, store) -> bool``) at
start and then every ``every_s`` (``retry_s`` after a job that asks for another look soon,
or that failed), until stopped. Nothing a job meets stops the worker: failures are logged.
Two jobs: the :class:`~workers.worker.TokenKeeper` (idle accounts stay connected) and the
:class:`HistoryKeeper` here.

**History retention.** The store keeps a status per event and a row per event recorded
(the duplicate check). At a steady 100 changes a second that is over 8 million of each a
day, so :func:`prune_history` deletes those older than ``ALLEGRO_FEED_HISTORY_DAYS``
(:meth:`workers.store.Store.prune_history`: a status not yet published and an event never
handed on stay, however old), in small transactions that the pipeline's writers can pass
between. Every host's worker prunes; the deletes do not conflict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from workers.settings import Settings

if TYPE_CHECKING:
    from workers.store import Store

__all__ = ["HISTORY_PRUNE_EVERY_S", "HistoryKeeper", "Keeper", "prune_history"]

log = structlog.get_logger(__name__)

#: How often :class:`HistoryKeeper` prunes, s; and how soon it tries again after a prune
#: that failed (the store unreachable), s.
HISTORY_PRUNE_EVERY_S = 3600.0
HISTORY_RETRY_S = 300.0


class Keeper:
    """Runs a job (:meth:`job`, or ``check`` when given) in a daemon thread named
    :attr:`name`: at :meth:`start`, then every :attr:`every_s` while it returns True
    (:attr:`retry_s` after False or a failure, which is logged as :attr:`failed_event`),
    until :meth:`stop`. The store is opened on the first run (``open_store``) and kept
    until :meth:`stop`. A job is a subclass that sets these four and :meth:`job`."""

    name = "keeper"
    every_s = 3600.0
    retry_s = 300.0
    failed_event = "worker.keeper_failed"

    def __init__(
        self,
        settings: Settings,
        *,
        open_store: Callable[[str], Store] | None = None,
        check: Callable[[Settings, Store], bool] | None = None,
    ) -> None:
        self._settings = settings
        self._check = check or self.job
        self._open_store = open_store
        self._store: Store | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def job(self, settings: Settings, store: Store) -> bool:
        """One run; True when the next can wait :attr:`every_s`."""
        raise NotImplementedError

    def check_once(self) -> float:
        """One run of the job; returns the seconds until the next one."""
        try:
            if self._store is None:
                from workers.store import open_store

                self._store = (self._open_store or open_store)(self._settings.database_url)
            done = self._check(self._settings, self._store)
        except Exception as exc:
            log.warning(self.failed_event, error=type(exc).__name__, retry_in_s=self.retry_s)
            return self.retry_s
        return self.every_s if done else self.retry_s

    def _run(self) -> None:
        while not self._stopping.is_set():
            delay_s = self.check_once()
            if self._stopping.wait(delay_s):
                break

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop (a run in progress is waited for up to ``timeout_s``; the thread is a
        daemon, so a run stuck on the network does not hold the process)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                return  # still using the store: leave it open
        if self._store is not None:
            self._store.close()
            self._store = None


def prune_history(settings: Settings, store: Store) -> bool:
    """Delete the history older than ``settings.history_days`` (nothing when it is 0);
    logs how many rows went. Always True: the next prune is an hour away."""
    if settings.history_days <= 0:
        return True
    before = datetime.now(UTC) - timedelta(days=settings.history_days)
    deleted = store.prune_history(before)
    if deleted:
        log.info("worker.history_pruned", rows=deleted, before=before.isoformat())
    return True


class HistoryKeeper(Keeper):
    """:func:`prune_history` at start and then hourly."""

    name = "history-keeper"
    every_s = HISTORY_PRUNE_EVERY_S
    retry_s = HISTORY_RETRY_S
    failed_event = "worker.history_prune_failed"

    def job(self, settings: Settings, store: Store) -> bool:
        return prune_history(settings, store)
