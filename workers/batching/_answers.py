"""The bookkeeping of a batch call's answer, for :class:`~workers.batching.sender.JournalWorker`.

:class:`AnswerBookkeeping` is what the worker does with each answer once every call of a
run has answered (:mod:`._calls` makes the calls): a PUT's (:meth:`~AnswerBookkeeping._sent`:
SENT with its first poll timed, tried again later, or the command's items settled as
refused), a poll's (:meth:`~AnswerBookkeeping._polled`: busy, not visible yet, or finished
and settled), and the completion of an entry (DONE, its follow-up written, its SKUs
released). It also learns how long commands of each kind take (:mod:`._pacing`).

Only the store, the journal and statuses here; the one call it makes itself is the PUT of
a restock's ACTIVATE, after the bookkeeping that wrote it committed
(:meth:`~AnswerBookkeeping._send`).
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import structlog

from workers.allegro.errors import (
    BadRequest,
    InvalidRequest,
    NotFound,
    PermanentError,
    TransientError,
    ValidationFailed,
)
from workers.allegro.models import CommandTask, GeneralReport
from workers.allegro.results import CommandResult
from workers.store.base import Store

from ._calls import CommandClient, Poll, put
from ._leases import SkuLeases
from ._pacing import DurationEstimate, poll_pause_s, server_duration, took_s
from ._unit import bookkeeping
from .config import BatchSettings
from .model import CommandType, JournalEntry, JournalState, NewCommand
from .outcome import Outcomes, Settlement
from .repo import BatchRepo

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .sender import Tick

__all__ = [
    "MAX_BACKOFF_S",
    "PERMANENT_POLL_BACKOFF_S",
    "UNSEEN_GRACE_S",
    "AnswerBookkeeping",
]

# Under the worker's logger name: its events read as before this module was split out.
log = structlog.get_logger("workers.batching.sender")

#: Longest pause before a failed PUT or poll is tried again, s.
MAX_BACKOFF_S = 60.0
#: How long a poll that Allegro refused (e.g. the account's tokens were revoked) waits, s.
PERMANENT_POLL_BACKOFF_S = 30.0
#: How long a SENT command's report may answer 404 (not visible yet) before the command is
#: PUT again under its id, s: its PUT was accepted, so this is only a safety net.
UNSEEN_GRACE_S = 300.0


class AnswerBookkeeping:
    """The bookkeeping of the answers of a run's calls, mixed into
    :class:`~workers.batching.sender.JournalWorker`, which sets the attributes below in
    its ``__init__`` and defines :meth:`first_poll_s` and :meth:`leased`."""

    config: BatchSettings
    store: Store
    repo: BatchRepo
    client_for: Callable[[str], CommandClient]
    outcomes: Outcomes
    owner: str
    clock: Callable[[], float]
    durations: DurationEstimate
    skus: SkuLeases
    _pending_at: dict[str, float]  # command id -> last poll that found it busy
    _settlements: dict[str, Settlement]  # command id -> worked out before the lock

    if TYPE_CHECKING:

        def first_poll_s(self, command_type: CommandType) -> float: ...

        def leased(self, command_ids: Iterable[str]) -> None: ...

    def _bookkeeping(self, *, savepoints: bool = True) -> AbstractContextManager[None]:
        return bookkeeping(self.store, self.repo, self.outcomes.reporter, savepoints=savepoints)

    def _backoff(self, failures: int) -> float:
        return float(min(self.config.poll_s * 2 ** min(failures, 16), MAX_BACKOFF_S))

    def _send(self, entry: JournalEntry, now: float, tick: Tick) -> None:
        """PUT ``entry`` here and now (a restock's ACTIVATE), then its bookkeeping."""
        client = self.client_for(entry.account)
        self._sent(entry, functools.partial(put, client, entry), now, tick)

    def _sent(
        self, entry: JournalEntry, put: Callable[[], CommandResult], now: float, tick: Tick
    ) -> None:
        """The bookkeeping of a PUT: ``put()`` gives its result (or raises its failure)."""
        cid = entry.command_id
        try:
            result = put()
        except TransientError as exc:
            pause_s = exc.retry_after_s or self._backoff(entry.attempts)
            log.warning("batch.put_failed", command_id=cid, error=str(exc), retry_in_s=pause_s)
            self.repo.reschedule(
                cid, owner=self.owner, next_at=now + pause_s, error=str(exc), attempt=True
            )
            return
        except (ValidationFailed, BadRequest, InvalidRequest) as exc:
            errors = [e.model_dump(by_alias=True, exclude_none=True) for e in exc.errors]
            with self._bookkeeping():
                self.outcomes.refused(entry, errors, str(exc), data=True)
                self._complete(entry, now, None, tick)
            return
        except PermanentError as exc:
            errors = [e.model_dump(by_alias=True, exclude_none=True) for e in exc.errors]
            with self._bookkeeping():
                self.outcomes.refused(entry, errors, str(exc), data=False)
                self._complete(entry, now, None, tick)
            return
        first_poll_s = self.first_poll_s(entry.type)
        # From the answer, not from the run's start: Allegro's processing began then, and
        # a run slowed by its other work would otherwise poll too early and wait a whole
        # poll interval more.
        answered_at = max(now, self.clock())
        self.repo.mark_sent(
            cid,
            owner=self.owner,
            trace_id=result.trace_id,
            now=now,
            next_at=answered_at + first_poll_s,
        )
        tick.sent += 1
        log.info(
            "batch.sent",
            command_id=cid,
            kind=entry.type.value,
            offers=len(entry.offer_ids),
            already_accepted=result.already_accepted,
            first_poll_s=round(first_poll_s, 3),
        )

    def _polled(
        self, entry: JournalEntry, poll: Callable[[], Poll], now: float, tick: Tick
    ) -> JournalEntry | None:
        """The bookkeeping of a poll: ``poll()`` gives what it read (or raises its failure).
        Returns the follow-up to send once the bookkeeping committed (a restock's
        ACTIVATE), if any."""
        cid = entry.command_id
        tick.polled += 1
        try:
            report, tasks, tasks_read, seen = poll()
        except NotFound:
            self._unseen(entry, now)
            return None
        except TransientError as exc:
            pause_s = max(exc.retry_after_s or 0.0, self._backoff(entry.polls))
            self.repo.reschedule(cid, owner=self.owner, next_at=now + pause_s, error=str(exc))
            return None
        except PermanentError as exc:
            log.error("batch.poll_refused", command_id=cid, error=str(exc))
            self.repo.reschedule(
                cid, owner=self.owner, next_at=now + PERMANENT_POLL_BACKOFF_S, error=str(exc)
            )
            return None
        if tasks is None:
            # Busy: polled again after a growing pause (see poll_pause_s), not every
            # poll interval for as long as Allegro takes.
            self._pending_at[cid] = now
            pause_s = poll_pause_s(self.config.poll_s, entry.polls)
            self.repo.reschedule(cid, owner=self.owner, next_at=now + pause_s, poll=True)
            return None
        self._learn(entry, report, now)
        if not tasks_read:
            log.debug("batch.tasks_not_read", command_id=cid, offers=len(tasks))
        with self._bookkeeping():  # one commit for all of it; statuses published after
            return self._finish(entry, tasks, seen, now, tick)

    def _unseen(self, entry: JournalEntry, now: float) -> None:
        """A poll of a SENT command met 404 (its report or tasks). Its PUT was answered
        201 or 409, so Allegro has it: the report is not visible yet (Allegro does not
        promise it at once). Polled again after a growing pause, still SENT; only once it
        has stayed unseen for :data:`UNSEEN_GRACE_S` is it PUT again under its id (201:
        Allegro had lost it; 409: it has it, polled on). Never refused for this."""
        cid = entry.command_id
        unseen_s = now - entry.sent_at if entry.sent_at is not None else UNSEEN_GRACE_S
        if unseen_s >= UNSEEN_GRACE_S:
            log.warning("batch.command_unknown", command_id=cid, unseen_s=round(unseen_s, 1))
            self._pending_at.pop(cid, None)
            self.repo.reschedule(
                cid, owner=self.owner, next_at=now, error="unknown", state=JournalState.NEW
            )
            return
        pause_s = poll_pause_s(self.config.poll_s, entry.polls)
        log.info("batch.report_not_visible_yet", command_id=cid, retry_in_s=round(pause_s, 3))
        self.repo.reschedule(
            cid, owner=self.owner, next_at=now + pause_s, error="report not found yet", poll=True
        )

    def _finish(
        self,
        entry: JournalEntry,
        by_offer: Mapping[str, CommandTask],
        seen: Mapping[str, str],
        now: float,
        tick: Tick,
    ) -> JournalEntry | None:
        """Settle a command Allegro has finished (``by_offer``: its results by offer id;
        ``seen``: the publication statuses Allegro listed for its offers afterwards):
        every item's outcome, the entry DONE, the follow-up (a restock's ACTIVATE) written.
        Only the store and the journal, no call: returns the follow-up entry, NEW, for
        the caller to send."""
        settlement = self._settlements.pop(entry.command_id, None)
        follow = self.outcomes.finish(entry, by_offer, settlement, seen=seen)
        written = self._complete(entry, now, follow, tick)
        if written is None:
            return None
        self.leased([written])  # its SKUs stay leased from the quantity command
        nxt = self.repo.entry(written)
        return nxt if nxt is not None and nxt.state is JournalState.NEW else None

    def _learn(self, entry: JournalEntry, report: GeneralReport, now: float) -> None:
        """Take the command's duration into the estimate of its type: Allegro's own
        (``completedAt - createdAt``) within what this worker saw (after its last poll
        that found it busy, by this poll); without Allegro's, the middle of that span."""
        busy_at = self._pending_at.pop(entry.command_id, None)
        if entry.sent_at is None:
            return
        took = took_s(entry.sent_at, busy_at, now, server_duration(report))
        estimate = self.durations.add(entry.type, took)
        log.debug(
            "batch.command_took", command_id=entry.command_id, took_s=took, estimate_s=estimate
        )

    def _complete(
        self, entry: JournalEntry, now: float, follow: NewCommand | None, tick: Tick
    ) -> str | None:
        """Mark ``entry`` DONE (writing ``follow``), release its SKUs that are no longer in
        flight; returns the follow-up's command id when it was written."""
        if follow is not None:
            follow = dataclasses.replace(follow, command_id=str(uuid.uuid4()))
        done = self.repo.complete(entry, owner=self.owner, now=now, follow=follow)
        if done:
            tick.done += 1
        else:
            log.warning("batch.complete_lost", command_id=entry.command_id)
        self._pending_at.pop(entry.command_id, None)
        self.skus.release_done(entry)
        return follow.command_id if done and follow is not None else None
