"""Working the journal: PUT new commands, poll sent ones, settle finished ones.

:class:`JournalWorker` is the second half of :meth:`workers.batching.Batcher.run_once`
(the first half plans and journals). For each due entry of an account it leads:

- a NEW command is PUT under its stored id (a 409 means Allegro took it earlier: it is SENT
  all the same); a transient failure (5xx, timeout, 429, an exhausted rate budget) is
  tried again later with the same id; a refusal of the whole command settles its items
  (REJECTED for a refusal of its data, the PATCH path for one of the account);
- a SENT command's report is polled no more often than the poll interval, the first time
  when commands of its kind have lately taken to finish (:mod:`._pacing`); once it is
  complete, every item is settled (:class:`~workers.batching.outcome.Outcomes`):
  when the report counts every offer a success, without reading the tasks, otherwise
  from the tasks; a 404 on its report means "not visible yet" (polled again, see
  :meth:`~._answers.AnswerBookkeeping._unseen`), never a refusal; a restock's ACTIVATE is
  written and sent at once; the entry is marked DONE and the SKUs released;
- a settle entry is settled at once.

The HTTP calls of one run (the PUTs, the report and task reads: :mod:`._calls`) are made
concurrently, in a small thread pool of the worker; everything else (the store, the
journal, statuses) is done afterwards in the calling thread, entry by entry, in the
entries' order (the bookkeeping of each answer: :mod:`._answers`).

Nothing waits inside a call: a command not yet processed is looked at again on a later run.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import structlog

from workers.allegro.results import CommandResult
from workers.store.base import Store, StoreError

from ._answers import MAX_BACKOFF_S as MAX_BACKOFF_S
from ._answers import PERMANENT_POLL_BACKOFF_S as PERMANENT_POLL_BACKOFF_S
from ._answers import UNSEEN_GRACE_S, AnswerBookkeeping
from ._calls import (
    CommandClient,
    Poll,
    Started,
    answered,
    probes,
    put,
    read,
    run_all,
    still_busy,
    with_publications,
)
from ._leases import SKU_LEASE_OWNER, SkuLeases
from ._pacing import DurationEstimate, first_poll_s, poll_pause_s
from .config import BatchSettings
from .model import CommandType, JournalEntry, JournalState
from .outcome import Outcomes, Settlement
from .repo import BatchRepo

__all__ = [
    "HTTP_THREADS",
    "SKU_LEASE_OWNER",
    "UNSEEN_GRACE_S",
    "JournalWorker",
    "Tick",
]

log = structlog.get_logger(__name__)

#: Threads of a worker's pool for the HTTP calls of one run.
HTTP_THREADS = 8


@dataclass
class Tick:
    """What one :meth:`workers.batching.Batcher.run_once` did (for logs and tests)."""

    claimed: int = 0  # journal entries written
    sent: int = 0  # PUTs accepted
    polled: int = 0  # report polls
    done: int = 0  # entries finished

    @property
    def busy(self) -> bool:
        return bool(self.claimed or self.sent or self.polled or self.done)


class JournalWorker(AnswerBookkeeping):
    """Works the journal entries of the accounts its batcher leads (see the module doc).
    ``owner``: the batcher's name in the entries' leases, taken for ``lease_s``;
    ``http_threads``: the size of the pool for the HTTP calls of one run (started when
    first needed, stopped by :meth:`close`); ``clock``: the batcher's (epoch seconds), read
    when a PUT has answered to time its first poll from then."""

    def __init__(
        self,
        config: BatchSettings,
        store: Store,
        repo: BatchRepo,
        client_for: Callable[[str], CommandClient],
        outcomes: Outcomes,
        *,
        owner: str,
        lease_s: float,
        http_threads: int = HTTP_THREADS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if http_threads < 1:
            raise ValueError("http_threads must be at least 1")
        self.config = config
        self.store = store
        self.repo = repo
        self.client_for = client_for
        self.outcomes = outcomes
        self.owner = owner
        self.lease_s = lease_s
        self.http_threads = http_threads
        self.clock = clock
        self.durations = DurationEstimate()
        self.skus = SkuLeases(store, repo, config.sku_lease_s)
        self._pending_at: dict[str, float] = {}  # command id -> last poll that found it busy
        self._settlements: dict[str, Settlement] = {}  # command id -> worked out before the lock
        self._pool: ThreadPoolExecutor | None = None
        self._pool_guard = threading.Lock()

    def close(self) -> None:
        """Stop the HTTP thread pool (waiting for calls under way). A later :meth:`work`
        starts a new one."""
        with self._pool_guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def leased(self, command_ids: Iterable[str]) -> None:
        """The SKU leases of these entries were taken just now (when they were claimed)."""
        self.skus.taken(command_ids)

    def release_skus(self, account: str, skus: Iterable[str]) -> None:
        """Release the SKU leases of ``skus`` that have no change in flight any more."""
        self.skus.release(account, skus)

    def first_poll_s(self, command_type: CommandType) -> float:
        """How long after a PUT its report is first read (:func:`._pacing.first_poll_s`,
        from what commands of its type have lately taken)."""
        return first_poll_s(self.durations.get(command_type), self.config.poll_s)

    # --- the journal --------------------------------------------------------------------------

    def work(self, account: str, now: float, tick: Tick) -> None:
        """Work the due entries of ``account``: their HTTP calls concurrently, then each
        entry's bookkeeping here, in order (a failure of one entry reschedules it alone)."""
        self.finish(self.start(account, now), now, tick)

    def start(self, account: str, now: float) -> Started:
        """Lease the due entries of ``account`` and start their HTTP calls in the pool; the
        caller may do other work meanwhile, then :meth:`finish` them."""
        entries = self.repo.lease_due(account, owner=self.owner, lease_s=self.lease_s, now=now)
        unready: dict[str, Exception] = {}
        calls: list[tuple[JournalEntry, CommandClient]] = []
        for entry in entries:
            if entry.type is CommandType.SETTLE:
                continue
            try:
                self.skus.renew(entry)  # before the call: the SKUs are ours while in flight
                calls.append((entry, self.client_for(entry.account)))
            except Exception as exc:
                unready[entry.command_id] = exc
        now_calls, held = probes(calls)
        puts, polls = self._start(now_calls)
        return Started(entries, unready, puts, polls, held)

    def finish(self, started: Started, now: float, tick: Tick) -> None:
        """The bookkeeping of the entries :meth:`start` began, once all their calls
        answered."""
        entries, unready = started.entries, started.unready
        # Every call of the run has answered before the bookkeeping takes the store's
        # writer lock: it is never held while a call is in flight.
        puts = {cid: answered(call) for cid, call in started.puts.items()}
        polls = {cid: answered(call) for cid, call in started.polls.items()}
        # The commands held back behind their kind's oldest one (see probes): read now
        # when it is done, else looked at again with it.
        waiting: dict[str, float] = {}  # command id -> pause until looked at again, s
        later: list[tuple[JournalEntry, CommandClient]] = []
        polled = {entry.command_id: entry.polls for entry in entries}
        for probe_id, others in started.held.items():
            if still_busy(polls[probe_id]):
                pause_s = poll_pause_s(self.config.poll_s, polled.get(probe_id, 0))
                waiting.update((entry.command_id, pause_s) for entry, _ in others)
            else:
                later += others
        if later:
            _, more = self._start(later)
            polls.update((cid, answered(call)) for cid, call in more.items())
        # The publication statuses to check, for every command found finished at once.
        polls.update(
            with_publications(
                entries,
                polls,
                set(waiting) | set(unready),
                self.client_for,
                functools.partial(run_all, self._executor),
            )
        )
        self._settlements = self._prepare(entries, polls, set(waiting) | set(unready))
        follows: list[JournalEntry] = []
        # One transaction and one publication of the statuses for the bookkeeping of the
        # whole run (the ingest bridge waits for the writer lock once, not per command);
        # each entry's part is nested in it, and rolled back alone when it fails.
        with self._bookkeeping():
            for entry in entries:
                try:
                    cid = entry.command_id
                    if cid in unready:
                        raise unready[cid]
                    # An entry's writes stand or fall together: no savepoint each.
                    with self._bookkeeping(savepoints=False):
                        if cid in waiting:
                            # Not read: no poll counted, due again with its kind's oldest.
                            next_at = now + waiting[cid]
                            self.repo.reschedule(cid, owner=self.owner, next_at=next_at)
                        elif entry.type is CommandType.SETTLE:
                            self.outcomes.settle(entry)
                            self._complete(entry, now, None, tick)
                        elif cid in puts:
                            self._sent(entry, puts[cid], now, tick)
                        else:
                            follow = self._polled(entry, polls[cid], now, tick)
                            if follow is not None:
                                follows.append(follow)
                except Exception as exc:
                    # A store, RabbitMQ or callback failure (or a bug): this entry waits,
                    # the others go on.
                    pause_s = self._backoff(entry.attempts + entry.polls)
                    log.exception(
                        "batch.entry_failed", command_id=entry.command_id, retry_in_s=pause_s
                    )
                    try:
                        self.repo.reschedule(
                            entry.command_id,
                            owner=self.owner,
                            next_at=now + pause_s,
                            error=repr(exc),
                        )
                    except StoreError:
                        raise exc from None
        self._settlements.clear()
        for follow in follows:
            self._send(follow, now, tick)  # the ACTIVATE of a restock: once committed

    def _prepare(
        self,
        entries: Iterable[JournalEntry],
        polls: Mapping[str, Callable[[], Poll]],
        skipped: set[str],
    ) -> dict[str, Settlement]:
        """The settlements of the commands whose poll found them finished, worked out
        before the writer lock is taken (:meth:`Outcomes.prepare`); one that fails is
        left to be worked out under the lock, where its failure is handled."""
        found: dict[str, Settlement] = {}
        for entry in entries:
            cid = entry.command_id
            if cid in skipped or cid not in polls or entry.type is CommandType.SETTLE:
                continue
            try:
                _, tasks, _, seen = polls[cid]()
                if tasks is not None:
                    found[cid] = self.outcomes.prepare(entry, tasks, seen)
            except Exception:  # noqa: S112 - the same call fails again where it is handled
                continue
        return found

    def _start(
        self, calls: list[tuple[JournalEntry, CommandClient]]
    ) -> tuple[dict[str, Callable[[], CommandResult]], dict[str, Callable[[], Poll]]]:
        """Start the HTTP part of every entry of ``calls`` in the pool. Returns, by command id,
        the function giving a NEW entry's PUT result and a SENT entry's poll (each raises
        what the call raised)."""
        puts: dict[str, Callable[[], CommandResult]] = {}
        polls: dict[str, Callable[[], Poll]] = {}
        pool = self._executor() if calls else None
        for entry, client in calls:
            if entry.state is JournalState.NEW:
                if pool is None:
                    puts[entry.command_id] = functools.partial(put, client, entry)
                else:
                    puts[entry.command_id] = pool.submit(put, client, entry).result
            elif pool is None:
                polls[entry.command_id] = functools.partial(read, client, entry)
            else:
                polls[entry.command_id] = pool.submit(read, client, entry).result
        return puts, polls

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_guard:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.http_threads, thread_name_prefix="batch-http"
                )
            return self._pool
