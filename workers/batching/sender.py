"""Working the journal: PUT new commands, poll sent ones, settle finished ones.

:class:`JournalWorker` is the second half of :meth:`workers.batching.Batcher.run_once`
(the first half plans and journals). For each due entry of an account it leads:

- a NEW command is PUT under its stored id (a 409 means Allegro took it earlier: it is SENT
  all the same); a transient failure (5xx, timeout, 429, an exhausted rate budget) is
  tried again later with the same id; a refusal of the whole command settles its items
  (REJECTED for a refusal of its data, the PATCH path for one of the account);
- a SENT command's report is polled no more often than the poll interval; once it is
  complete, its tasks are read and every item settled
  (:class:`~workers.batching.outcome.Outcomes`); a restock's ACTIVATE is written and sent
  at once; the entry is marked DONE and the SKUs released;
- a settle entry is settled at once.

Nothing waits inside a call: a command not yet processed is looked at again on a later run.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

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
from workers.allegro.results import CommandKind, CommandResult
from workers.store.base import Store, StoreError

from .config import BatchSettings
from .model import CommandType, JournalEntry, JournalState, NewCommand, SettleOutcome
from .outcome import Outcomes
from .repo import BatchRepo

__all__ = ["SKU_LEASE_OWNER", "CommandClient", "JournalWorker", "Tick"]

log = structlog.get_logger(__name__)

#: The owner of the SKU publishing leases the batcher holds while a SKU's change is in
#: flight: one name for every batcher, so the next leader continues with them.
SKU_LEASE_OWNER = "allegro-feed:batcher"
#: Longest pause before a failed PUT or poll is tried again, s.
MAX_BACKOFF_S = 60.0
#: How long a poll that Allegro refused (e.g. the account's tokens were revoked) waits, s.
PERMANENT_POLL_BACKOFF_S = 30.0
_KINDS = {
    CommandType.QUANTITY: CommandKind.QUANTITY,
    CommandType.PRICE: CommandKind.PRICE,
    CommandType.PUBLICATION: CommandKind.PUBLICATION,
}


class CommandClient(Protocol):
    """The part of :class:`~workers.allegro.AllegroClient` the batcher uses."""

    def change_quantity(
        self, offer_ids: Iterable[str], quantity: int, *, command_id: str | None = None
    ) -> CommandResult: ...

    def change_price(
        self,
        offer_ids: Iterable[str],
        amount: Decimal | str,
        currency: str,
        *,
        marketplace_id: str | None = None,
        command_id: str | None = None,
    ) -> CommandResult: ...

    def change_publication(
        self,
        offer_ids: Iterable[str],
        action: str,
        *,
        scheduled_for: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult: ...

    def get_command_report(self, kind: CommandKind | str, command_id: str) -> GeneralReport: ...

    def get_all_command_tasks(
        self, kind: CommandKind | str, command_id: str, *, page_size: int = 500
    ) -> list[CommandTask]: ...


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


class JournalWorker:
    """Works the journal entries of the accounts its batcher leads (see the module doc).
    ``owner``: the batcher's name in the entries' leases, taken for ``lease_s``."""

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
    ) -> None:
        self.config = config
        self.store = store
        self.repo = repo
        self.client_for = client_for
        self.outcomes = outcomes
        self.owner = owner
        self.lease_s = lease_s
        self._sku_renewed: dict[str, float] = {}  # command id -> monotonic time of renewal

    def leased(self, command_ids: Iterable[str]) -> None:
        """The SKU leases of these entries were taken just now (when they were claimed)."""
        moment = time.monotonic()
        for command_id in command_ids:
            self._sku_renewed[command_id] = moment

    def release_skus(self, account: str, skus: Iterable[str]) -> None:
        """Release the SKU leases of ``skus`` that have no change in flight any more."""
        wanted = set(skus)
        if not wanted:
            return
        for sku in wanted - self.repo.in_flight(account, wanted):
            self.store.release_lease(account, sku, SKU_LEASE_OWNER)

    # --- the journal --------------------------------------------------------------------------

    def work(self, account: str, now: float, tick: Tick) -> None:
        entries = self.repo.lease_due(account, owner=self.owner, lease_s=self.lease_s, now=now)
        for entry in entries:
            try:
                if entry.type is CommandType.SETTLE:
                    self.outcomes.settle(entry)
                    self._complete(entry, now, None, tick)
                    continue
                self._renew_skus(entry)
                if entry.state is JournalState.NEW:
                    self._send(entry, now, tick)
                else:
                    self._poll(entry, now, tick)
            except Exception as exc:
                # A store, RabbitMQ or callback failure (or a bug): this entry waits, the
                # others go on.
                pause_s = self._backoff(entry.attempts + entry.polls)
                log.exception("batch.entry_failed", command_id=entry.command_id, retry_in_s=pause_s)
                try:
                    self.repo.reschedule(
                        entry.command_id, owner=self.owner, next_at=now + pause_s, error=repr(exc)
                    )
                except StoreError:
                    raise exc from None

    def _backoff(self, failures: int) -> float:
        return float(min(self.config.poll_s * 2 ** min(failures, 16), MAX_BACKOFF_S))

    def _send(self, entry: JournalEntry, now: float, tick: Tick) -> None:
        client = self.client_for(entry.account)
        ids, cid = entry.offer_ids, entry.command_id
        try:
            if entry.type is CommandType.QUANTITY:
                result = client.change_quantity(ids, int(entry.value), command_id=cid)
            elif entry.type is CommandType.PRICE:
                price = entry.value
                result = client.change_price(
                    ids, str(price["amount"]), str(price["currency"]), command_id=cid
                )
            else:
                result = client.change_publication(ids, str(entry.value), command_id=cid)
        except TransientError as exc:
            pause_s = exc.retry_after_s or self._backoff(entry.attempts)
            log.warning("batch.put_failed", command_id=cid, error=str(exc), retry_in_s=pause_s)
            self.repo.reschedule(
                cid, owner=self.owner, next_at=now + pause_s, error=str(exc), attempt=True
            )
            return
        except (ValidationFailed, BadRequest, InvalidRequest) as exc:
            errors = [e.model_dump(by_alias=True, exclude_none=True) for e in exc.errors]
            self.outcomes.refused(entry, errors, str(exc), data=True)
            self._complete(entry, now, None, tick)
            return
        except PermanentError as exc:
            errors = [e.model_dump(by_alias=True, exclude_none=True) for e in exc.errors]
            self.outcomes.refused(entry, errors, str(exc), data=False)
            self._complete(entry, now, None, tick)
            return
        self.repo.mark_sent(
            cid,
            owner=self.owner,
            trace_id=result.trace_id,
            now=now,
            next_at=now + self.config.poll_s,
        )
        tick.sent += 1
        log.info(
            "batch.sent",
            command_id=cid,
            kind=entry.type.value,
            offers=len(ids),
            already_accepted=result.already_accepted,
        )

    def _poll(self, entry: JournalEntry, now: float, tick: Tick) -> None:
        client = self.client_for(entry.account)
        kind, cid = _KINDS[entry.type], entry.command_id
        tick.polled += 1
        try:
            report = client.get_command_report(kind, cid)
            tasks = (
                client.get_all_command_tasks(kind, cid, page_size=1000) if report.completed else []
            )
        except NotFound:
            # Allegro does not know it (it never took the PUT): send it again, same id.
            log.warning("batch.command_unknown", command_id=cid)
            self.repo.reschedule(
                cid, owner=self.owner, next_at=now, error="unknown", state=JournalState.NEW
            )
            return
        except TransientError as exc:
            pause_s = max(exc.retry_after_s or 0.0, self._backoff(entry.polls))
            self.repo.reschedule(cid, owner=self.owner, next_at=now + pause_s, error=str(exc))
            return
        except PermanentError as exc:
            log.error("batch.poll_refused", command_id=cid, error=str(exc))
            self.repo.reschedule(
                cid, owner=self.owner, next_at=now + PERMANENT_POLL_BACKOFF_S, error=str(exc)
            )
            return
        if not report.completed:
            self.repo.reschedule(cid, owner=self.owner, next_at=now + self.config.poll_s, poll=True)
            return
        by_offer = {task.offer_id: task for task in tasks if task.offer_id}
        follow = self.outcomes.finish(entry, by_offer)
        written = self._complete(entry, now, follow, tick)
        if written is not None:
            self.leased([written])  # its SKUs stay leased from the quantity command
            nxt = self.repo.entry(written)
            if nxt is not None and nxt.state is JournalState.NEW:
                self._send(nxt, now, tick)  # the ACTIVATE of a restock: at once

    def _renew_skus(self, entry: JournalEntry) -> None:
        """Extend the SKU leases of a command in flight for long (Allegro is slow, or the
        PUT keeps failing), and at first sight of an entry this process did not claim (a
        restart, or taking over from another batcher)."""
        moment = time.monotonic()
        renewed = self._sku_renewed.get(entry.command_id)
        if renewed is not None and moment - renewed < self.config.sku_lease_s / 3:
            return
        for item in entry.items:
            self.store.acquire_lease(
                entry.account, item.sku, SKU_LEASE_OWNER, self.config.sku_lease_s
            )
        self._sku_renewed[entry.command_id] = moment

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
        self._sku_renewed.pop(entry.command_id, None)
        # The SKUs leased for it: a command's, and of a settle entry those found stale
        # under their lease (the others were never leased).
        leased = {
            item.sku
            for item in entry.items
            if entry.type is not CommandType.SETTLE or item.outcome is SettleOutcome.SUPERSEDED
        }
        self.release_skus(entry.account, leased)
        return follow.command_id if done and follow is not None else None
