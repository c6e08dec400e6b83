"""The outcome of a journal entry, item by item: registry, statuses, hand-overs.

Run when Allegro has finished a command (its report is complete and its tasks read), when
Allegro refused the command as a whole, or for a settle entry. Everything here may run
again for the same entry after a crash (the entry is marked DONE only afterwards): the
store takes one terminal status per event (a repeated report changes nothing), the registry
update writes the same values, and a repeated hand-over is recognised by the publish actor
(the event's status is there already).

Statuses (DESIGN.md): for every item, the events the newest one overtook are
``SUPERSEDED``; the newest gets the change's outcome: ``UPDATED`` / ``ENDED`` once the task
for its offer succeeded, ``UNCHANGED`` when nothing had to be sent, ``REJECTED`` with
Allegro's errors when the task failed for a reason a PATCH would meet again; a task that
failed otherwise is handed to the PATCH path, whose status then stands for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog

from schemas.status import PublicationStatus, Status, StatusError, StatusMessage
from workers.allegro.models import CommandTask
from workers.metrics import count_batch_items
from workers.status import status_for
from workers.store import OfferRecord, Store, offer_stamp

from .model import (
    CommandType,
    EventRef,
    Handover,
    Item,
    JournalEntry,
    NewCommand,
    SettleOutcome,
)
from .plan import ACTIVATE, END, FailureAction, failure_action, follow_up, registry_after
from .plan import success_status as _success_status
from .reporting import OnTaskFailed, Reporter, status_errors

__all__ = ["Outcomes", "Settlement"]

log = structlog.get_logger(__name__)

_KNOWN_PUBLICATION = frozenset(s.value for s in PublicationStatus)
#: At most this many registry entries are remembered between a flush and the settling.
_KNOWN_MAX = 100_000
#: The status item of a change that no batch command can make and no PATCH path takes.
NOT_BATCHABLE = "BATCH_NOT_APPLICABLE"


def _publication(value: str | None) -> str | None:
    return value if value in _KNOWN_PUBLICATION else None


def _succeeded(task: CommandTask | None) -> bool:
    return task is not None and task.status == "SUCCESS"


def _done(
    entry: JournalEntry, item: Item, tasks: Mapping[str, CommandTask], seen: Mapping[str, str]
) -> bool:
    """Whether the command did what it was to do for ``item``: its task succeeded, or it
    was an END for an offer Allegro lists ENDED (ended already, e.g. sold out)."""
    offer_id = item.offer_id or ""
    if _succeeded(tasks.get(offer_id)):
        return True
    return (
        entry.type is CommandType.PUBLICATION
        and entry.value == END
        and (seen.get(offer_id) == "ENDED")
    )


@dataclass
class Settlement:
    """What a finished command changes (:meth:`Outcomes.prepare`): the registry entries to
    save, the statuses of its successful items, the items whose task failed (decided when
    written: a hand-over publishes), the restocked items awaiting their ACTIVATE; and the
    stamps of the registry entries the updates were worked out from."""

    succeeded: int
    read: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    updates: list[OfferRecord] = field(default_factory=list)
    statuses: list[StatusMessage] = field(default_factory=list)
    failed: list[tuple[Item, CommandTask | None]] = field(default_factory=list)
    restocked: list[Item] = field(default_factory=list)


class Outcomes:
    """Decides and reports the outcome of journal entries (see the module doc)."""

    def __init__(
        self, store: Store, reporter: Reporter, on_task_failed: OnTaskFailed | None = None
    ) -> None:
        self.store = store
        self.reporter = reporter
        self.on_task_failed = on_task_failed
        self._collected: list[StatusMessage] | None = None
        self._known: dict[tuple[str, str], OfferRecord] = {}  # see remember()

    # --- registry entries read when the changes were planned ---------------------------------

    def remember(self, account: str, records: Iterable[OfferRecord]) -> None:
        """Keep the registry entries a flush read for the changes it claimed: settling
        them later reads only their stamps (``Store.offer_stamps``, in :meth:`finish`),
        not their bodies."""
        if len(self._known) > _KNOWN_MAX:
            self._known.clear()  # entries of commands that ended otherwise: read again
        self._known.update(((account, record.sku), record) for record in records)

    def _records(self, account: str, skus: Sequence[str]) -> dict[str, OfferRecord]:
        """The registry entries of ``skus``: those remembered (used once; :meth:`finish`
        checks under the writer lock that they are still current), the others read."""
        found: dict[str, OfferRecord] = {}
        for sku in skus:
            record = self._known.pop((account, sku), None)
            if record is not None:
                found[sku] = record
        missing = [sku for sku in skus if sku not in found]
        if missing:
            found.update(self.store.get_offers(account, missing))
        return found

    def _moved(self, account: str, settlement: Settlement) -> bool:
        """Whether a registry entry a settlement was worked out from changed since (only
        if the batcher lost a SKU's lease meanwhile: then the publish actor may have
        saved it). Its updates would undo that save: it is worked out again."""
        if not settlement.read:
            return False
        now = self.store.offer_stamps(account, settlement.read)
        moved = [sku for sku, stamp in settlement.read.items() if now.get(sku) != stamp]
        if moved:
            log.warning("batch.registry_moved_in_flight", count=len(moved), example=min(moved))
        return bool(moved)

    # --- reporting ------------------------------------------------------------------------------

    @contextmanager
    def _statuses_together(self) -> Iterator[None]:
        """Statuses reported in the block are recorded in one store call when it ends (in
        the order they came); a block that raises reports none of them."""
        collected: list[StatusMessage] = []
        self._collected = collected
        try:
            yield
        finally:
            self._collected = None
        if collected:
            self.reporter.report_many(collected)

    def _report(
        self,
        account: str,
        item: Item,
        event: EventRef,
        status: Status,
        errors: Sequence[StatusError] = (),
        **fields: Any,
    ) -> None:
        identity = {
            "event_id": event.event_id,
            "sku": item.sku,
            "account": account,
            "version": event.version,
        }
        message = status_for(identity, status, errors=errors, **fields)
        if self._collected is not None:
            self._collected.append(message)
        else:
            self.reporter.report(message)

    def report_item(
        self,
        account: str,
        item: Item,
        status: Status,
        errors: Sequence[StatusError] = (),
        *,
        publication_status: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        """``status`` for the item's newest event; SUPERSEDED for the ones it overtook."""
        newest = item.newest_event
        for event in item.events:
            if event is not newest:
                self._report(account, item, event, Status.SUPERSEDED, offer_id=item.offer_id)
        if newest is not None:
            self._report(
                account,
                item,
                newest,
                status,
                errors,
                offer_id=item.offer_id,
                publication_status=_publication(publication_status),
                trace_id=trace_id,
            )

    def hand_over(
        self, account: str, item: Item, reason: str, errors: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        """Give the item's change to the PATCH path (its newest event); the others are
        SUPERSEDED. Without a PATCH path the newest is REJECTED, saying why."""
        newest = item.newest_event
        if newest is None:
            return
        if self.on_task_failed is None:
            text = f"the batch commands cannot make this change ({reason})"
            items = list(errors) or [{"code": NOT_BATCHABLE, "message": text}]
            self.report_item(account, item, Status.REJECTED, status_errors(items, fallback=text))
            return
        for event in item.events:
            if event is not newest:
                self._report(account, item, event, Status.SUPERSEDED, offer_id=item.offer_id)
        self.on_task_failed(
            Handover(
                account=account,
                sku=item.sku,
                kind=item.kind,
                offer_id=item.offer_id,
                event_id=newest.event_id,
                version=newest.version,
                reason=reason,
                errors=tuple(dict(error) for error in errors),
            )
        )
        log.info("batch.handed_over", sku=item.sku, kind=item.kind.value, reason=reason)

    # --- entries --------------------------------------------------------------------------------

    def settle(self, entry: JournalEntry) -> None:
        """The outcome of a settle entry's items (decided when they were planned)."""
        with self._statuses_together():
            self._settle(entry)

    def _settle(self, entry: JournalEntry) -> None:
        for item in entry.items:
            if item.outcome is SettleOutcome.UNCHANGED:
                self.report_item(
                    entry.account,
                    item,
                    Status.UNCHANGED,
                    publication_status=item.publication_status,
                )
            elif item.outcome is SettleOutcome.SUPERSEDED:
                self.report_item(entry.account, item, Status.SUPERSEDED)
            elif item.outcome is SettleOutcome.REJECTED:
                errors = status_errors(item.errors, fallback="the value cannot be sent")
                self.report_item(entry.account, item, Status.REJECTED, errors)
            else:
                self.hand_over(entry.account, item, "needs the PATCH path")

    def prepare(
        self,
        entry: JournalEntry,
        tasks: Mapping[str, CommandTask],
        seen: Mapping[str, str] | None = None,
    ) -> Settlement:
        """What :meth:`finish` writes for a command Allegro has finished (``tasks`` by
        offer id; ``seen``: the publication statuses Allegro listed afterwards for the
        offers the batcher checked, see :func:`._calls.publication_check`), worked out
        without writing: the batcher calls it before it takes the store's writer lock.
        The registry entries it reads do not change meanwhile (the batcher holds the
        SKUs' publishing leases while their change is in flight), and :meth:`finish`
        checks their stamps before writing.

        An offer Allegro lists ENDED after a quantity command succeeded for it (it ended
        it itself: sold out, ``EMPTY_STOCK``) is restocked as one the registry knew
        ENDED: its ACTIVATE follows, its status waits for it. An END whose task failed
        for an offer Allegro lists ENDED counts as done."""
        seen = seen or {}
        done = [i for i in entry.items if _done(entry, i, tasks, seen)]
        records = self._records(entry.account, [item.sku for item in done])
        settlement = Settlement(
            succeeded=len(done),
            read={sku: offer_stamp(record) for sku, record in records.items()},
        )
        self._collected = settlement.statuses
        try:
            for item in entry.items:
                task = tasks.get(item.offer_id or "")
                if not _done(entry, item, tasks, seen):
                    settlement.failed.append((item, task))
                    continue
                allegro = seen.get(item.offer_id or "")
                if item.then is None and entry.type is CommandType.QUANTITY and allegro == "ENDED":
                    log.info("batch.ended_at_allegro", sku=item.sku, offer_id=item.offer_id)
                    item = dataclasses.replace(item, then=ACTIVATE, publication_status="ENDED")
                record = records.get(item.sku)
                if record is not None and record.offer_id == item.offer_id:
                    settlement.updates.append(
                        registry_after(record, entry.type, entry.value, item, allegro)
                    )
                if item.then == ACTIVATE:
                    settlement.restocked.append(item)  # its status waits for the ACTIVATE
                    continue
                status, publication = _success_status(entry.type, entry.value, item, allegro)
                self.report_item(
                    entry.account,
                    item,
                    status,
                    publication_status=publication,
                    trace_id=entry.trace_id,
                )
        finally:
            self._collected = None
        return settlement

    def finish(
        self,
        entry: JournalEntry,
        tasks: Mapping[str, CommandTask],
        settlement: Settlement | None = None,
        *,
        seen: Mapping[str, str] | None = None,
    ) -> NewCommand | None:
        """The outcome of a command Allegro has finished; ``tasks`` by offer id, ``seen``
        as for :meth:`prepare`; ``settlement``: what :meth:`prepare` gave for it (else
        prepared here). Returns the ``ACTIVATE`` command to send next for restocked
        offers (no id yet), or None."""
        if settlement is None or self._moved(entry.account, settlement):
            settlement = self.prepare(entry, tasks, seen)  # under the writer lock now
        with self._statuses_together():
            for item, task in settlement.failed:
                self._failed(entry, item, task)
            # Before the statuses that tell of them. Only entries that exist are updated
            # here, and no SKU with an entry has a creation intent.
            self.store.save_offers(settlement.updates, clear_intents=False)
            if self._collected is not None:
                self._collected.extend(settlement.statuses)
        failed = len(entry.items) - settlement.succeeded
        count_batch_items(entry.type.value, "succeeded", settlement.succeeded)
        count_batch_items(entry.type.value, "failed", failed)
        log.info(
            "batch.command_done",
            command_id=entry.command_id,
            kind=entry.type.value,
            succeeded=settlement.succeeded,
            failed=failed,
        )
        return follow_up(settlement.restocked, parent=entry.command_id)

    def _failed(self, entry: JournalEntry, item: Item, task: CommandTask | None) -> None:
        if task is None or task.status != "FAIL":
            reason = "Allegro's report of the command has no result for this offer"
            self.hand_over(entry.account, item, reason)
            return
        errors = [e.model_dump(by_alias=True, exclude_none=True) for e in task.errors or ()]
        message = task.message or "the batch command failed for this offer"
        log.warning(
            "batch.task_failed",
            command_id=entry.command_id,
            sku=item.sku,
            offer_id=item.offer_id,
            codes=[e.get("code") for e in errors],
        )
        action = failure_action(errors)
        if action == FailureAction.GONE:
            # Archived (ended over 60 days ago): no command can change it again.
            reason = f"the offer no longer exists at Allegro: {message}"
            self.hand_over(entry.account, item, reason, errors)
            return
        if action == FailureAction.RETRY:
            self.hand_over(entry.account, item, f"task failed: {message}", errors)
            return
        self.report_item(
            entry.account,
            item,
            Status.REJECTED,
            status_errors(errors, fallback=message),
            publication_status=item.publication_status,
            trace_id=entry.trace_id,
        )

    def refused(
        self,
        entry: JournalEntry,
        errors: Sequence[Mapping[str, Any]],
        message: str,
        *,
        data: bool,
    ) -> None:
        """Allegro refused the whole command. ``data``: because of what it carries (400,
        422): every item is REJECTED with Allegro's errors; otherwise (the account is not
        connected, access denied): every item goes to the PATCH path, which fails the same
        way and reports FAILED (dead-lettered, replayable once fixed); without that path,
        FAILED here."""
        with self._statuses_together():
            for item in entry.items:
                if data:
                    found = status_errors(errors, fallback=message)
                    self.report_item(entry.account, item, Status.REJECTED, found)
                elif self.on_task_failed is not None:
                    self.hand_over(entry.account, item, f"command refused: {message}", errors)
                else:
                    found = status_errors(errors, fallback=message)
                    self.report_item(entry.account, item, Status.FAILED, found)
        count_batch_items(entry.type.value, "refused", len(entry.items))
        log.error(
            "batch.command_refused",
            command_id=entry.command_id,
            kind=entry.type.value,
            items=len(entry.items),
            error=message,
        )
