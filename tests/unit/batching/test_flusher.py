"""The batcher's loop with a scripted Allegro and a real SQLite store: windows, leases,
failed PUTs and polls, refused commands, settle entries, hand-overs, restock failures."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from schemas.events import parse_event
from schemas.status import Status, StatusMessage
from workers.allegro import (
    CommandKind,
    CommandResult,
    CommandTask,
    ErrorItem,
    GeneralReport,
    NotConnected,
    OfferListing,
    RateLimited,
    ServerError,
    ValidationFailed,
)
from workers.batching import Batcher, BatchRepo, BatchSettings, Handover, JournalState
from workers.batching.config import LIGHT_LOAD
from workers.batching.sender import SKU_LEASE_OWNER, UNSEEN_GRACE_S
from workers.domain.plan import fingerprint
from workers.store import OfferRecord, Store, open_store

SETTINGS = BatchSettings(
    coalesce_window_ms=300, batch_window_ms=300, batch_max_offers=1000, command_poll_interval_ms=250
)


class FakeAllegro:
    """Batch commands in memory: PUT registers (409 for a used id), a report is complete
    when ``complete`` is set, every task succeeds unless ``fail`` names its offer."""

    def __init__(self) -> None:
        self.commands: dict[str, tuple[CommandKind, list[str], Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.put_errors: list[Exception] = []
        self.report_errors: list[Exception] = []
        self.complete = True
        self.fail: dict[str, list[dict[str, Any]]] = {}  # offer id -> Allegro's errors
        self.missing: set[str] = set()  # offers left out of the task report
        self.listed: dict[str, str] = {}  # offer id -> publication status GET /sale/offers shows
        self.searches: list[tuple[list[str], tuple[str, ...]]] = []

    def _put(self, kind: CommandKind, ids: Iterable[str], value: Any, cid: str | None) -> Any:
        assert cid is not None
        self.calls.append(("PUT", cid))
        if self.put_errors:
            raise self.put_errors.pop(0)
        report = GeneralReport.model_validate({"id": cid})
        if cid in self.commands:
            return CommandResult(cid, kind, report, 409, "t-409", already_accepted=True)
        self.commands[cid] = (kind, list(ids), value)
        return CommandResult(cid, kind, report, 201, f"t-{cid[:4]}")

    def change_quantity(
        self, offer_ids: Iterable[str], quantity: int, *, command_id: str | None = None
    ) -> CommandResult:
        result: CommandResult = self._put(CommandKind.QUANTITY, offer_ids, quantity, command_id)
        return result

    def change_price(
        self,
        offer_ids: Iterable[str],
        amount: Decimal | str,
        currency: str,
        *,
        marketplace_id: str | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        value = {"amount": str(amount), "currency": currency}
        result: CommandResult = self._put(CommandKind.PRICE, offer_ids, value, command_id)
        return result

    def change_publication(
        self,
        offer_ids: Iterable[str],
        action: str,
        *,
        scheduled_for: Any = None,
        command_id: str | None = None,
    ) -> CommandResult:
        result: CommandResult = self._put(CommandKind.PUBLICATION, offer_ids, action, command_id)
        return result

    def get_command_report(self, kind: CommandKind | str, command_id: str) -> GeneralReport:
        self.calls.append(("GET", command_id))
        if self.report_errors:
            raise self.report_errors.pop(0)
        if command_id not in self.commands:
            from workers.allegro import NotFound

            raise NotFound("no such command", status=404)
        done = "2026-07-18T12:00:00.000Z" if self.complete else None
        return GeneralReport.model_validate({"id": command_id, "completedAt": done})

    def get_all_command_tasks(
        self, kind: CommandKind | str, command_id: str, *, page_size: int = 500
    ) -> list[CommandTask]:
        self.calls.append(("TASKS", command_id))
        _, ids, _ = self.commands[command_id]
        return [
            CommandTask.model_validate(
                {
                    "offer": {"id": oid},
                    "status": "FAIL" if oid in self.fail else "SUCCESS",
                    "message": "failed" if oid in self.fail else "",
                    "errors": self.fail.get(oid, []),
                }
            )
            for oid in ids
            if oid not in self.missing
        ]

    def find_offers_by_id(
        self, offer_ids: Iterable[str], *, statuses: Sequence[str] = ()
    ) -> list[OfferListing]:
        ids = list(offer_ids)
        self.searches.append((ids, tuple(statuses)))
        return [
            OfferListing.model_validate({"id": i, "publication": {"status": self.listed[i]}})
            for i in ids
            if i in self.listed and (not statuses or self.listed[i] in statuses)
        ]

    def puts(self) -> list[tuple[CommandKind, list[str], Any]]:
        return list(self.commands.values())


class RecordingReporter:
    def __init__(self) -> None:
        self.messages: list[StatusMessage] = []

    def report(self, message: StatusMessage) -> bool:
        if any(m.event_id == message.event_id for m in self.messages):
            return False
        self.messages.append(message)
        return True

    def report_many(self, messages: Sequence[StatusMessage]) -> list[bool]:
        return [self.report(message) for message in messages]

    def of(self, event_id: str) -> Status | None:
        found = [m.status for m in self.messages if m.event_id == event_id]
        return found[0] if found else None


@dataclass
class Rig:
    store: Store
    repo: BatchRepo
    allegro: FakeAllegro = field(default_factory=FakeAllegro)
    reporter: RecordingReporter = field(default_factory=RecordingReporter)
    handovers: list[Handover] = field(default_factory=list)
    now: float = 1_000.0

    def batcher(self, *, handover: bool = True, **changes: Any) -> Batcher:
        settings = BatchSettings(**{**SETTINGS.__dict__, **changes})
        return Batcher(
            settings,
            self.store,
            self.repo,
            lambda account: self.allegro,
            self.reporter,
            self.handovers.append if handover else None,
            clock=lambda: self.now,
            owner="test-batcher",
        )

    def offer(self, sku: str, status: str = "ACTIVE", stock: int = 5) -> None:
        body = {
            "name": "x",
            "stock": {"available": stock, "unit": "UNIT"},
            "sellingMode": {"price": {"amount": "10.00", "currency": "PLN"}},
        }
        self.store.save_offer(
            OfferRecord("default", sku, f"o-{sku}", status, fingerprint(body), 1, body)
        )

    def stage(self, batcher: Batcher, sku: str, version: int, available: int) -> str:
        event = parse_event(
            json.dumps(
                {
                    "type": "product.stock",
                    "event_id": f"ev-{sku}-{version}",
                    "occurred_at": "2026-07-18T12:00:00Z",
                    "sku": sku,
                    "version": version,
                    "stock": {"available": available},
                }
            ).encode()
        )
        result = self.store.record_event(event)
        assert result.state is not None
        assert batcher.stage(event, result.state, self.store.get_offer("default", sku))
        return event.event_id

    def run(self, batcher: Batcher, *, seconds: float = 0.0) -> None:
        self.now += seconds
        batcher.run_once(self.now)

    def settle_all(self, batcher: Batcher, runs: int = 50) -> None:
        for _ in range(runs):
            self.run(batcher, seconds=0.25)
            if not self.repo.accounts_with_work():
                return
        pytest.fail("work left")


# --- windows ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coalesce_ms", "batch_ms"), [(300, 300), (200, 500), (500, 200), (0, 300), (300, 0)]
)
def test_a_change_waits_the_longer_of_its_coalescing_and_batch_windows(
    rig: Rig, coalesce_ms: int, batch_ms: int
) -> None:
    # Both windows run from the change's arrival: it waits the longer one, not their sum.
    rig.offer("A")
    batcher = rig.batcher(coalesce_window_ms=coalesce_ms, batch_window_ms=batch_ms)
    rig.now = 1_000.0
    rig.stage(batcher, "A", 2, 3)
    longer_s = max(coalesce_ms, batch_ms) / 1000
    rig.run(batcher, seconds=longer_s - 0.02)
    assert rig.allegro.puts() == []
    rig.run(batcher, seconds=0.03)
    assert rig.allegro.puts() == [(CommandKind.QUANTITY, ["o-A"], 3)]


def test_under_a_heavier_load_the_batch_window_follows_the_coalescing_window(rig: Rig) -> None:
    # As many changes waiting as LIGHT_LOAD: fuller commands matter more than 100 ms.
    skus = [f"S{i:03d}" for i in range(LIGHT_LOAD)]
    for sku in skus:
        rig.offer(sku)
    batcher = rig.batcher(coalesce_window_ms=100, batch_window_ms=300)
    rig.now = 1_000.0
    for sku in skus:
        rig.stage(batcher, sku, 2, 3)
    rig.run(batcher, seconds=0.38)  # past the longer window (0.3 s), before the sum (0.4 s)
    assert rig.allegro.puts() == []
    rig.run(batcher, seconds=0.03)
    ((kind, ids, value),) = rig.allegro.puts()
    assert (kind, len(ids), value) == (CommandKind.QUANTITY, LIGHT_LOAD, 3)


def test_changes_arriving_within_the_batch_window_share_one_command(rig: Rig) -> None:
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher(coalesce_window_ms=100, batch_window_ms=400)
    rig.now = 1_000.0
    rig.stage(batcher, "A", 2, 3)
    rig.run(batcher, seconds=0.25)  # A is ready (coalesced), its batch window still open
    rig.stage(batcher, "B", 2, 3)
    rig.run(batcher, seconds=0.14)
    assert rig.allegro.puts() == []
    rig.run(batcher, seconds=0.03)  # 0.42 s after A arrived: one command for both
    assert rig.allegro.puts() == [(CommandKind.QUANTITY, ["o-A", "o-B"], 3)]


def test_a_full_command_goes_when_the_coalescing_window_closes(rig: Rig) -> None:
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher(batch_max_offers=2)
    for sku in ("A", "B"):
        rig.stage(batcher, sku, 2, 3)
    rig.run(batcher, seconds=0.2)
    assert rig.allegro.puts() == []
    rig.run(batcher, seconds=0.11)
    assert rig.allegro.puts() == [(CommandKind.QUANTITY, ["o-A", "o-B"], 3)]


# --- leases ---------------------------------------------------------------------------------------


def test_a_sku_the_publish_actor_holds_waits_and_the_actor_waits_for_the_batcher(
    rig: Rig,
) -> None:
    rig.offer("A")
    rig.offer("B")
    batcher = rig.batcher()
    assert rig.store.acquire_lease("default", "A", "publish-actor", 60)
    rig.stage(batcher, "A", 2, 3)
    rig.stage(batcher, "B", 2, 3)
    rig.allegro.complete = False
    rig.run(batcher, seconds=1.0)
    assert rig.allegro.puts() == [(CommandKind.QUANTITY, ["o-B"], 3)]
    # While B's change is in flight, the publish actor cannot take B.
    assert not rig.store.acquire_lease("default", "B", "publish-actor", 60)
    rig.store.release_lease("default", "A", "publish-actor")
    rig.run(batcher, seconds=0.3)
    assert rig.allegro.puts()[1] == (CommandKind.QUANTITY, ["o-A"], 3)
    rig.allegro.complete = True
    rig.settle_all(batcher)
    assert rig.store.acquire_lease("default", "B", "publish-actor", 60)  # released
    assert rig.store.acquire_lease("default", "A", SKU_LEASE_OWNER, 60)  # free again


def test_a_change_planned_on_a_registry_entry_saved_meanwhile_is_planned_again(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The flush plans before it takes the writer lock and the SKU's lease; the publish
    # actor may save the SKU's offer in between (a new offer id, here).
    rig.offer("A")
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 3)
    acquire = rig.store.acquire_leases
    saved: list[str] = []

    def actor_saves_first(account: str, skus: Iterable[str], owner: str, ttl_s: float) -> Any:
        skus = list(skus)
        if owner == SKU_LEASE_OWNER and "A" in skus and not saved:
            saved.append("A")
            record = rig.store.get_offer("default", "A")
            assert record is not None
            rig.store.save_offer(
                OfferRecord("default", "A", "o-A2", "ACTIVE", None, 1, record.published_body)
            )
        return acquire(account, skus, owner, ttl_s)

    monkeypatch.setattr(rig.store, "acquire_leases", actor_saves_first)
    rig.run(batcher, seconds=1.0)
    assert rig.allegro.puts() == []  # not sent to the offer it was planned for
    assert rig.repo.entries() == []
    # The lease went back: the publish actor could take the SKU now.
    assert rig.store.acquire_lease("default", "A", "publish-actor", 1)
    rig.store.release_lease("default", "A", "publish-actor")
    rig.settle_all(batcher)
    assert rig.allegro.puts() == [(CommandKind.QUANTITY, ["o-A2"], 3)]
    assert rig.reporter.of(event) is Status.UPDATED


def test_settling_reads_only_the_stamps_of_the_registry_entries_it_planned_on(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher()
    rig.stage(batcher, "A", 2, 3)
    rig.stage(batcher, "B", 2, 3)
    rig.allegro.complete = False
    rig.run(batcher, seconds=1.0)  # planned and sent; not done yet
    read: list[str] = []
    get_offers = rig.store.get_offers

    def counted(account: str, skus: Iterable[str]) -> Any:
        skus = list(skus)
        read.extend(skus)
        return get_offers(account, skus)

    monkeypatch.setattr(rig.store, "get_offers", counted)
    rig.allegro.complete = True
    rig.settle_all(batcher)
    assert read == []  # the bodies read for planning served the settling
    for sku in ("A", "B"):
        record = get_offers("default", [sku])[sku]
        assert record.published_body is not None
        assert record.published_body["stock"]["available"] == 3
        assert record.published_version == 2


def rename_meanwhile(rig: Rig, sku: str) -> None:
    """Save the SKU's registry entry again with another name, as the publish actor would
    after a content change."""
    record = rig.store.get_offer("default", sku)
    assert record is not None and record.published_body is not None
    body = {**record.published_body, "name": "renamed meanwhile"}
    rig.store.save_offer(dataclasses.replace(record, published_body=body, updated_at=None))


def test_settling_reads_a_registry_entry_again_when_its_stamp_changed(rig: Rig) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    rig.stage(batcher, "A", 2, 3)
    rig.allegro.complete = False
    rig.run(batcher, seconds=1.0)
    # Saved by someone while the command was in flight (a lease that ran out): the settle
    # must not write back what it remembered from before.
    rename_meanwhile(rig, "A")
    rig.allegro.complete = True
    rig.settle_all(batcher)
    after = rig.store.get_offer("default", "A")
    assert after is not None and after.published_body is not None
    assert after.published_body["name"] == "renamed meanwhile"
    assert after.published_body["stock"]["available"] == 3


def test_a_settlement_whose_registry_entry_was_saved_before_the_lock_is_worked_out_again(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Worked out before the writer lock; someone saves the entry before the batcher takes
    # it (the SKU's lease had run out): writing the settlement would undo that save.
    rig.offer("A")
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 3)
    prepare = batcher.outcomes.prepare
    saved: list[str] = []

    def then_saved_by_someone(entry: Any, tasks: Any, seen: Any = None) -> Any:
        settlement = prepare(entry, tasks, seen)
        if not saved:
            saved.append(entry.command_id)
            rename_meanwhile(rig, "A")
        return settlement

    monkeypatch.setattr(batcher.outcomes, "prepare", then_saved_by_someone)
    rig.settle_all(batcher)
    assert saved
    after = rig.store.get_offer("default", "A")
    assert after is not None and after.published_body is not None
    assert after.published_body["name"] == "renamed meanwhile"
    assert after.published_body["stock"]["available"] == 3
    assert rig.reporter.of(event) is Status.UPDATED


# --- failures of the PUT and the poll ----------------------------------------------------------


def test_a_put_that_failed_transiently_is_sent_again_with_the_same_id(rig: Rig) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 3)
    rig.allegro.put_errors = [ServerError("boom", status=503), RateLimited("slow", retry_after_s=5)]
    rig.run(batcher, seconds=1.0)
    (entry,) = rig.repo.entries()
    assert (entry.state, entry.attempts, entry.error) == (JournalState.NEW, 1, "boom [HTTP 503]")
    assert entry.next_at == pytest.approx(rig.now + 0.25)  # one poll interval
    rig.run(batcher, seconds=0.5)
    (entry,) = rig.repo.entries()
    assert entry.next_at == pytest.approx(rig.now + 5)  # Allegro's Retry-After
    rig.run(batcher, seconds=5)
    rig.settle_all(batcher)
    puts = [cid for method, cid in rig.allegro.calls if method == "PUT"]
    assert len(puts) == 3 and len(set(puts)) == 1
    assert rig.reporter.of(event) is Status.UPDATED


def test_a_command_allegro_does_not_know_is_put_again(rig: Rig) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 3)
    rig.run(batcher, seconds=1.0)
    (cid,) = rig.allegro.commands
    del rig.allegro.commands[cid]  # Allegro lost it
    rig.run(batcher, seconds=0.25)  # 404: not visible yet, polled again later
    (entry,) = rig.repo.entries()
    assert entry.state is JournalState.SENT
    rig.run(batcher, seconds=UNSEEN_GRACE_S)  # still 404 after the grace: PUT again
    rig.settle_all(batcher)
    calls = [m for m, c in rig.allegro.calls if c == cid]
    assert calls == ["PUT", "GET", "GET", "PUT", "GET", "TASKS"]
    assert rig.reporter.of(event) is Status.UPDATED


def test_a_poll_that_fails_is_repeated_later(rig: Rig) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    event = rig.stage(batcher, "A", 2, 3)
    rig.allegro.report_errors = [ServerError("boom", status=502)]
    rig.run(batcher, seconds=1.0)
    rig.run(batcher, seconds=0.25)
    (entry,) = rig.repo.entries()
    assert entry.state is JournalState.SENT and entry.error == "boom [HTTP 502]"
    rig.settle_all(batcher)
    assert rig.reporter.of(event) is Status.UPDATED


def test_a_command_allegro_refuses_for_its_data_rejects_every_item(rig: Rig) -> None:
    rig.offer("A")
    rig.offer("B")
    batcher = rig.batcher()
    events = [rig.stage(batcher, sku, 2, 3) for sku in ("A", "B")]
    item = ErrorItem(code="ConstraintViolationException", message="bad", userMessage="Fix it")
    rig.allegro.put_errors = [ValidationFailed("refused", status=422, errors=[item])]
    rig.settle_all(batcher)
    assert [rig.reporter.of(e) for e in events] == [Status.REJECTED] * 2
    message = rig.reporter.messages[0]
    assert message.errors[0].code == "ConstraintViolationException"
    assert message.errors[0].user_message == "Fix it"
    assert rig.store.acquire_lease("default", "A", "publish-actor", 60)  # released


@pytest.mark.parametrize("handover", [True, False])
def test_a_command_refused_for_the_account_goes_to_the_patch_path(rig: Rig, handover: bool) -> None:
    rig.offer("A")
    batcher = rig.batcher(handover=handover)
    older = rig.stage(batcher, "A", 2, 4)
    newest = rig.stage(batcher, "A", 3, 3)
    rig.allegro.put_errors = [NotConnected("connect the account")]
    rig.settle_all(batcher)
    assert rig.reporter.of(older) is Status.SUPERSEDED
    if handover:
        assert rig.reporter.of(newest) is None  # the publish actor reports it
        assert [(h.sku, h.event_id, h.version) for h in rig.handovers] == [("A", newest, 3)]
    else:
        assert rig.reporter.of(newest) is Status.FAILED


# --- outcomes ----------------------------------------------------------------------------------


def test_changes_that_need_no_command_are_settled_without_a_call(rig: Rig) -> None:
    rig.offer("SAME", stock=5)
    rig.offer("DRAFT", status="INACTIVE")
    batcher = rig.batcher()
    same = rig.stage(batcher, "SAME", 2, 5)
    rig.store.save_offer(
        OfferRecord("default", "GONE", "o-GONE", "ACTIVE", None, 1, {"stock": {"available": 1}})
    )
    draft_event = rig.stage(batcher, "GONE", 2, 4)
    # The offer turned into something the batch cannot handle after staging.
    record = rig.store.get_offer("default", "GONE")
    assert record is not None
    rig.store.save_offer(OfferRecord("default", "GONE", "o-GONE", "INACTIVE", None, 1, {}))
    rig.settle_all(batcher)
    assert rig.allegro.calls == []
    assert rig.reporter.of(same) is Status.UNCHANGED
    assert [(h.sku, h.event_id) for h in rig.handovers] == [("GONE", draft_event)]


def test_an_offer_missing_from_the_task_report_is_retried_alone(rig: Rig) -> None:
    rig.offer("A")
    rig.offer("B")
    batcher = rig.batcher()
    events = {sku: rig.stage(batcher, sku, 2, 3) for sku in ("A", "B")}
    rig.allegro.missing = {"o-B"}
    rig.settle_all(batcher)
    assert rig.reporter.of(events["A"]) is Status.UPDATED
    assert [h.sku for h in rig.handovers] == ["B"]


def test_a_restock_whose_activation_fails_keeps_the_stock_and_reports_allegros_error(
    rig: Rig,
) -> None:
    rig.offer("A", status="ENDED", stock=0)
    batcher = rig.batcher(handover=False)
    event = rig.stage(batcher, "A", 2, 6)
    rig.run(batcher, seconds=1.0)  # the quantity command
    rig.run(batcher, seconds=0.25)  # done: the ACTIVATE is written and sent
    assert [p[0] for p in rig.allegro.puts()] == [CommandKind.QUANTITY, CommandKind.PUBLICATION]
    assert rig.reporter.of(event) is None  # not before the activation's outcome
    rig.allegro.fail = {"o-A": [{"code": "OfferStatusChangeNotAllowedException", "message": "no"}]}
    rig.settle_all(batcher)
    assert rig.reporter.of(event) is Status.REJECTED
    record = rig.store.get_offer("default", "A")
    assert record is not None and record.published_body is not None
    assert (record.publication_status, record.published_body["stock"]["available"]) == (
        "ENDED",
        6,
    )
    entries = rig.repo.entries()
    assert [e.state for e in entries] == [JournalState.DONE, JournalState.DONE]
    assert entries[1].parent == entries[0].command_id


def test_a_late_event_older_than_what_was_sent_is_superseded_at_once(rig: Rig) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    rig.allegro.complete = False
    rig.stage(batcher, "A", 5, 3)
    rig.run(batcher, seconds=1.0)
    late = rig.stage(batcher, "A", 4, 9)
    assert rig.reporter.of(late) is Status.SUPERSEDED


def test_a_change_the_content_path_overtook_is_superseded_not_sent(rig: Rig) -> None:
    rig.offer("A")
    rig.offer("B")
    batcher = rig.batcher()
    stale = rig.stage(batcher, "A", 2, 3)
    fresh = rig.stage(batcher, "B", 2, 3)
    # A product.upserted (the content path) sets A's stock to 8 before the flush.
    rig.store.record_event(
        parse_event(
            json.dumps(
                {
                    "type": "product.upserted",
                    "event_id": "ev-A-up",
                    "occurred_at": "2026-07-18T12:00:00Z",
                    "sku": "A",
                    "version": 3,
                    "name": "Headphones",
                    "ean": "4548735214676",
                    "category": "Audio",
                    "price": {"amount": "10.00", "currency": "PLN"},
                    "stock": {"available": 8},
                }
            ).encode()
        )
    )
    rig.settle_all(batcher)
    assert rig.allegro.puts() == [(CommandKind.QUANTITY, ["o-B"], 3)]
    assert (rig.reporter.of(stale), rig.reporter.of(fresh)) == (Status.SUPERSEDED, Status.UPDATED)
    assert rig.store.acquire_lease("default", "A", "publish-actor", 60)  # released


def test_the_desired_state_of_a_sku_is_read_once_for_its_stock_and_price_changes(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.offer("A")
    batcher = rig.batcher()
    stock = rig.stage(batcher, "A", 2, 3)
    event = parse_event(
        json.dumps(
            {
                "type": "product.price",
                "event_id": "ev-A-price",
                "occurred_at": "2026-07-18T12:00:00Z",
                "sku": "A",
                "version": 3,
                "price": {"amount": "12.50", "currency": "PLN"},
            }
        ).encode()
    )
    result = rig.store.record_event(event)
    assert result.state is not None
    assert batcher.stage(event, result.state, rig.store.get_offer("default", "A"))
    reads: list[str] = []
    product_states = rig.store.product_states

    def counted(account: str, skus: Iterable[str], *, content: bool = True) -> Any:
        skus = list(skus)
        reads.extend(skus)
        assert not content  # the batcher needs no content: it is neither read nor decoded
        return product_states(account, skus, content=content)

    monkeypatch.setattr(rig.store, "product_states", counted)
    rig.settle_all(batcher)
    assert sorted(rig.allegro.puts(), key=lambda put: put[0].value) == sorted(
        [
            (CommandKind.QUANTITY, ["o-A"], 3),
            (CommandKind.PRICE, ["o-A"], {"amount": "12.50", "currency": "PLN"}),
        ],
        key=lambda put: put[0].value,
    )
    assert (rig.reporter.of(stock), rig.reporter.of("ev-A-price")) == (
        Status.UPDATED,
        Status.UPDATED,
    )
    assert reads == ["A"]


def test_a_restarted_batcher_renews_the_sku_leases_of_the_entries_it_takes_over(
    rig: Rig,
) -> None:
    rig.offer("A")
    first = rig.batcher()
    rig.allegro.complete = False
    event = rig.stage(first, "A", 2, 3)
    rig.run(first, seconds=1.0)  # claimed and sent; Allegro still processing
    rig.store.release_lease("default", "A", SKU_LEASE_OWNER)  # as if it had expired
    restarted = rig.batcher()
    rig.run(restarted, seconds=0.3)
    assert not rig.store.acquire_lease("default", "A", "publish-actor", 60)
    rig.allegro.complete = True
    rig.settle_all(restarted)
    assert rig.reporter.of(event) is Status.UPDATED
    assert rig.store.acquire_lease("default", "A", "publish-actor", 60)


# --- burst hold -------------------------------------------------------------------------------


@pytest.fixture
def any_rig(store_url: str) -> Iterator[Rig]:
    """The rig on SQLite and on PostgreSQL (the store's database of ``store_url``)."""
    store = open_store(store_url)
    with BatchRepo(store_url) as repo:
        yield Rig(store, repo)
    store.close()


def burst(rig: Rig, batcher: Batcher, skus: dict[str, int], *, steps: int) -> dict[str, str]:
    """Every 0.1 s from t = 1,000 for ``steps`` steps: a new version of every SKU of
    ``skus`` (the value of the step, the given one at the last step), then a run 0.05 s
    later. Asserts that nothing was sent; returns each SKU's last event id."""
    last: dict[str, str] = {}
    for step in range(steps):
        rig.now = 1_000.0 + step * 0.1
        for sku, final in skus.items():
            value = final if step == steps - 1 else 20 + step
            last[sku] = rig.stage(batcher, sku, step + 2, value)
        rig.run(batcher, seconds=0.05)
        assert rig.allegro.puts() == [], f"sent during the burst, at t = {rig.now:.2f}"
    return last


def test_a_steady_stream_of_changes_to_different_skus_is_sent_once_the_windows_pass(
    any_rig: Rig,
) -> None:
    rig = any_rig
    skus = [f"S{i:02d}" for i in range(12)]
    for sku in skus:
        rig.offer(sku)
    # The default burst hold (5 s); windows of 0.1 s (coalescing) and 0.3 s (batch).
    batcher = rig.batcher(coalesce_window_ms=100)
    events = []
    sent_at: float | None = None
    for step, sku in enumerate(skus):  # a new SKU every 0.1 s, a run 0.05 s after each
        rig.now = 1_000.0 + step * 0.1
        events.append(rig.stage(batcher, sku, 2, 3))
        rig.run(batcher, seconds=0.05)
        if sent_at is None and rig.allegro.puts():
            sent_at = rig.now
    # The first change's batch window (0.3 s from its arrival, the longer window) closed
    # at 1,000.3: sent on the next run, with the changes whose coalescing window had closed
    # by then (arrived by 1,000.25).
    assert sent_at == pytest.approx(1_000.35)
    assert rig.allegro.puts()[0] == (CommandKind.QUANTITY, ["o-S00", "o-S01", "o-S02"], 3)
    rig.settle_all(batcher)
    sent = [oid for _, ids, _ in rig.allegro.puts() for oid in ids]
    assert sorted(sent) == [f"o-{sku}" for sku in skus]  # each once
    assert [rig.reporter.of(e) for e in events] == [Status.UPDATED] * len(skus)


def test_a_burst_on_the_same_skus_is_held_then_sent_once_with_their_newest_values(
    any_rig: Rig,
) -> None:
    rig = any_rig
    for sku in ("A", "B", "C"):
        rig.offer(sku)
    batcher = rig.batcher()  # the default burst hold: 5 s
    # 2 s of changes to A, B and C every 0.1 s: long past the first changes' windows
    # (1,000.6), never sent while it goes on (``burst`` asserts it).
    newest = burst(rig, batcher, {"A": 7, "B": 7, "C": 9}, steps=20)
    assert rig.now == pytest.approx(1_001.95)
    rig.run(batcher, seconds=0.15)  # the last changes (1,001.9) are within the last window
    assert rig.allegro.puts() == []
    rig.run(batcher, seconds=0.15)  # the burst has passed: nothing absorbed any more
    assert sorted(rig.allegro.puts(), key=lambda put: put[2]) == [
        (CommandKind.QUANTITY, ["o-A", "o-B"], 7),
        (CommandKind.QUANTITY, ["o-C"], 9),
    ]
    rig.settle_all(batcher)
    assert len(rig.allegro.puts()) == 2  # one PUT per distinct value, none in between
    assert {sku: rig.reporter.of(e) for sku, e in newest.items()} == dict.fromkeys(
        "ABC", Status.UPDATED
    )
    older = [m for m in rig.reporter.messages if m.event_id not in newest.values()]
    assert len(older) == 3 * 19
    assert {m.status for m in older} == {Status.SUPERSEDED}


def test_a_burst_that_never_stops_is_sent_once_the_hold_has_passed_after_the_windows(
    any_rig: Rig,
) -> None:
    rig = any_rig
    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher(burst_hold_ms=2000)
    # Held until 1,000.0 + 0.3 (the windows, both from the arrival) + 2.0 = 1,002.3, the
    # burst going on all along.
    burst(rig, batcher, {"A": 0, "B": 0}, steps=23)
    assert rig.now == pytest.approx(1_002.25)
    assert rig.allegro.puts() == []
    rig.now = 1_002.3
    rig.stage(batcher, "A", 40, 44)
    rig.stage(batcher, "B", 40, 44)
    rig.run(batcher, seconds=0.05)
    assert rig.allegro.puts() == [(CommandKind.QUANTITY, ["o-A", "o-B"], 44)]


@pytest.mark.parametrize("hold_ms", [0, 5000])
def test_with_a_burst_hold_of_zero_a_burst_is_sent_as_it_goes(any_rig: Rig, hold_ms: int) -> None:
    rig = any_rig
    for sku in ("A", "B", "C"):
        rig.offer(sku)
    batcher = rig.batcher(burst_hold_ms=hold_ms)
    puts_at: list[float] = []
    for step in range(20):  # A, B and C change every 0.1 s for 2 s
        rig.now = 1_000.0 + step * 0.1
        for sku, final in {"A": 7, "B": 7, "C": 9}.items():
            rig.stage(batcher, sku, step + 2, final if step == 19 else 20 + step)
        rig.run(batcher, seconds=0.05)
        puts_at += [rig.now] * (len(rig.allegro.puts()) - len(puts_at))
    rig.settle_all(batcher)
    if hold_ms:  # the same burst with the hold (the default): nothing in between
        assert puts_at == []
        assert len(rig.allegro.puts()) == 2
        return
    # Sent as soon as the first windows closed (1,000.3), then again as each new change's
    # windows close: values in between are sent too.
    assert puts_at[0] == pytest.approx(1_000.35)
    assert rig.allegro.puts()[0] == (CommandKind.QUANTITY, ["o-A", "o-B", "o-C"], 23)
    assert len(rig.allegro.puts()) > 2
    last = {oid: value for _, ids, value in rig.allegro.puts() for oid in ids}
    assert last == {"o-A": 7, "o-B": 7, "o-C": 9}


def test_a_full_command_is_never_held_by_a_burst(any_rig: Rig) -> None:
    rig = any_rig
    for sku in ("A", "B", "C"):
        rig.offer(sku)
    batcher = rig.batcher(batch_max_offers=3)
    for step in range(4):  # A, B and C to the same value, every 0.1 s
        rig.now = 1_000.0 + step * 0.1
        for sku in ("A", "B", "C"):
            rig.stage(batcher, sku, step + 2, 5 + step)
        rig.run(batcher, seconds=0.05)
    # At 1,000.35 the first changes' coalescing window (0.3 s) had closed: the command
    # was full (3 offers), sent although A, B and C kept changing.
    assert rig.allegro.puts() == [(CommandKind.QUANTITY, ["o-A", "o-B", "o-C"], 8)]


def test_the_burst_hold_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.settings import Settings

    assert BatchSettings().burst_hold_ms == 5000
    monkeypatch.setenv("ALLEGRO_FEED_BATCH_BURST_HOLD_MS", "1500")
    settings = Settings(database_url="sqlite:///unused.db", mapping_file=None)
    assert BatchSettings.of(settings).hold_s == 1.5


# --- metrics --------------------------------------------------------------------------------


@pytest.mark.usefixtures("counting")
def test_the_backlog_is_shown_while_changes_wait_and_cleared_after(rig: Rig) -> None:
    from prometheus_client import REGISTRY

    def gauge(name: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"account": "default"})

    for sku in ("A", "B"):
        rig.offer(sku)
    batcher = rig.batcher(coalesce_window_ms=100, batch_window_ms=400)
    rig.now = 1_000.0
    rig.stage(batcher, "A", 2, 3)
    rig.stage(batcher, "B", 2, 4)
    rig.run(batcher, seconds=0.3)  # past the coalescing window, inside the batch window
    assert rig.allegro.puts() == []
    assert gauge("allegro_feed_batch_waiting") == 2
    assert gauge("allegro_feed_batch_oldest_seconds") == pytest.approx(0.3)

    rig.settle_all(batcher)
    rig.run(batcher)  # nothing left: the account's backlog goes back to 0
    assert gauge("allegro_feed_batch_waiting") == 0
    assert gauge("allegro_feed_batch_oldest_seconds") == 0
