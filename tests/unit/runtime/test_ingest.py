"""The ingest bridge's decisions with fakes: route, park and report, dispatch then mark."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest
from structlog.testing import capture_logs

from schemas.events import EventType
from schemas.status import Status, StatusMessage
from workers.batching import BatchRepo
from workers.batching.model import ChangeKind, StagedEvent
from workers.broker import Payload, first_step, part_digests
from workers.ingest import STAGED_STALL_S, IngestBridge, IngestHandler, Outcome, parked_properties
from workers.settings import Settings
from workers.status import SWEEP_INTERVAL_S, SWEEP_MIN_AGE_S, status_for
from workers.store import RecordOutcome, StoreUnavailable, open_store
from workers.topology import Step

from .conftest import FakePublisher, FakeStore, recorded, state


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "type": "product.stock",
        "event_id": "ev-1",
        "occurred_at": "2026-07-18T12:00:00Z",
        "sku": "SKU-1",
        "version": 2,
        "stock": {"available": 3},
    }
    event.update(fields)
    return event


class Bench:
    def __init__(self, settings: Settings, store: type[FakeStore] = FakeStore) -> None:
        self.log: list[str] = []
        self.store = store(calls=self.log)
        self.publisher = FakePublisher(self.log)
        self.sent: list[tuple[Step, Payload]] = []
        self.handler = IngestHandler(
            settings,
            self.store,  # type: ignore[arg-type]
            self.publisher,
            self.enqueue,
        )
        self.enqueue_error: BaseException | None = None

    def enqueue(self, step: Step, payload: Payload) -> None:
        if self.enqueue_error is not None:
            raise self.enqueue_error
        self.log.append(f"enqueue:{step.value}")
        self.sent.append((step, payload))

    def handle(
        self, body: bytes | dict[str, Any], key: str = "product.stock", **props: Any
    ) -> Outcome:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.handler.handle(raw, key, pika.BasicProperties(**props))


@pytest.fixture
def bench(settings: Settings) -> Bench:
    return Bench(settings)


@pytest.mark.parametrize(
    ("event_type", "changed", "has_offer", "expected"),
    [
        (EventType.DELETED, {"deleted"}, False, (Step.PUBLISH, "delete")),
        (EventType.DELETED, set(), True, (Step.PUBLISH, "delete")),
        (EventType.STOCK, {"stock"}, True, (Step.PUBLISH, "fast")),
        (EventType.PRICE, {"price"}, True, (Step.PUBLISH, "fast")),
        (EventType.UPSERTED, {"stock", "price"}, True, (Step.PUBLISH, "fast")),
        (EventType.STOCK, {"stock"}, False, (Step.CATEGORIZE, "content")),
        (EventType.UPSERTED, {"content", "stock"}, True, (Step.CATEGORIZE, "content")),
        (EventType.UPSERTED, {"deleted", "stock"}, True, (Step.CATEGORIZE, "content")),
    ],
)
def test_first_step(
    event_type: EventType, changed: set[str], has_offer: bool, expected: tuple[Step, str]
) -> None:
    assert first_step(event_type, frozenset(changed), lambda: has_offer) == expected


def test_the_offer_registry_is_asked_only_for_stock_and_price_changes() -> None:
    def never() -> bool:
        raise AssertionError("asked")

    assert first_step(EventType.UPSERTED, frozenset({"content"}), never)[0] is Step.CATEGORIZE


def test_a_new_event_is_enqueued_then_marked_dispatched(bench: Bench) -> None:
    st = state(2)
    bench.store.results.append(recorded(RecordOutcome.NEW, st, {"stock"}))

    assert bench.handle(_event()) is Outcome.DISPATCHED

    assert bench.log == ["record:ev-1", "enqueue:categorize", "dispatched:ev-1"]
    [(step, payload)] = bench.sent
    assert step is Step.CATEGORIZE
    assert payload == Payload(
        event_id="ev-1",
        account="default",
        sku="SKU-1",
        version=2,
        changed=("stock",),
        digests=part_digests(st),
        mode="content",
    )
    assert bench.publisher.published == []


def test_a_stock_change_of_a_published_sku_takes_the_fast_path(bench: Bench) -> None:
    from workers.store import OfferRecord

    bench.store.offers[("default", "SKU-1")] = OfferRecord("default", "SKU-1", "77")
    bench.store.results.append(recorded(RecordOutcome.NEW, state(2), {"stock"}))

    bench.handle(_event())

    assert [(s, p.mode) for s, p in bench.sent] == [(Step.PUBLISH, "fast")]


def test_a_duplicate_already_handed_on_is_only_acked(bench: Bench) -> None:
    bench.store.results.append(recorded(RecordOutcome.DUPLICATE, state(2), dispatched=True))

    assert bench.handle(_event()) is Outcome.DUPLICATE

    assert bench.sent == [] and bench.publisher.published == [] and bench.store.statuses == []


def test_a_duplicate_never_handed_on_is_handed_on_now(bench: Bench) -> None:
    # The first delivery was recorded, then the bridge died before enqueueing it.
    bench.store.results.append(recorded(RecordOutcome.DUPLICATE, state(2), dispatched=False))

    assert bench.handle(_event()) is Outcome.DISPATCHED

    [(_step, payload)] = bench.sent
    assert payload.changed == ("stock",)  # what the event carries
    assert bench.store.dispatched == ["ev-1"]


def test_a_superseded_event_is_reported_once(bench: Bench) -> None:
    bench.store.results.append(recorded(RecordOutcome.SUPERSEDED, state(9)))
    bench.store.results.append(recorded(RecordOutcome.SUPERSEDED, state(9)))

    assert bench.handle(_event()) is Outcome.SUPERSEDED
    # Redelivered: its terminal status is there, so it is not recorded again.
    assert bench.handle(_event()) is Outcome.DUPLICATE

    assert bench.store.statuses[0].status is Status.SUPERSEDED
    assert [p.routing_key for p in bench.publisher.published] == ["offer.superseded"]
    assert bench.sent == []


def test_a_failed_enqueue_is_not_marked_dispatched(bench: Bench) -> None:
    bench.store.results.append(recorded(RecordOutcome.NEW, state(2), {"stock"}))
    bench.enqueue_error = ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        bench.handle(_event())

    assert bench.store.dispatched == []


def test_a_store_failure_propagates_for_a_requeue(bench: Bench) -> None:
    bench.store.fail_record = OSError("database is locked")

    with pytest.raises(OSError):
        bench.handle(_event())

    assert bench.sent == [] and bench.publisher.published == []


def test_bad_input_is_parked_before_it_is_reported(bench: Bench) -> None:
    body = json.dumps(_event(version="2")).encode()

    outcome = bench.handle(body, "product.stock", message_id="m-1", headers={"origin": "erp"})

    assert outcome is Outcome.REJECTED
    assert bench.log == [
        "publish:u.allegro.ingest.rejected",
        "status:REJECTED",
        "publish:offer.rejected",
        "marked:REJECTED",
    ]
    parked, status = bench.publisher.published
    assert (parked.exchange, parked.body, parked.mandatory) == ("", body, True)
    assert parked.properties.message_id == "m-1"
    assert parked.properties.headers["origin"] == "erp"
    assert "version" in parked.properties.headers["x-rejected-reason"]
    message = json.loads(status.body)
    assert message["event_id"] == "ev-1" and message["sku"] == "SKU-1"
    assert message["errors"][0]["path"] == "version"
    assert status.exchange == "u.allegro.status"


def test_unreadable_input_is_reported_under_the_amqp_message_id(bench: Bench) -> None:
    bench.handle(b"\x00\x01 not json", "product.price", message_id="m-9")

    [status] = bench.store.statuses
    assert (status.event_id, status.sku, status.status) == ("m-9", None, Status.REJECTED)


def test_parked_properties_keep_the_original_and_add_the_reason() -> None:
    original = pika.BasicProperties(
        content_type="application/json",
        message_id="m-1",
        headers={"trace": "abc"},
        user_id="guest",
        expiration="60000",
    )
    when = datetime(2026, 7, 18, 12, 0, tzinfo=UTC)

    properties = parked_properties(original, "product.upserted", "r" * 10_000, now=when)

    assert properties.headers["trace"] == "abc"
    assert properties.headers["x-original-routing-key"] == "product.upserted"
    assert properties.headers["x-rejected-at"] == "2026-07-18T12:00:00Z"
    assert len(properties.headers["x-rejected-reason"]) == 4_000
    assert properties.delivery_mode == 2
    assert properties.expiration is None and properties.user_id is None
    assert original.headers == {"trace": "abc"}  # not modified


class FakeAmqp:
    """The consumer connection and channel of the bridge: records acks (``acks``: tag and
    ``multiple``), nacks, pauses; and adds them to ``log`` when given."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.acked: list[int] = []
        self.acks: list[tuple[int, bool]] = []
        self.nacked: list[tuple[int, bool]] = []
        self.paused_s: list[float] = []
        self.log = log if log is not None else []

    def sleep(self, seconds: float) -> None:
        self.paused_s.append(seconds)

    def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.acked.append(tag)
        self.acks.append((tag, multiple))
        self.log.append(f"ack:{tag}" + (":multiple" if multiple else ""))

    def basic_nack(self, tag: int, requeue: bool) -> None:
        self.nacked.append((tag, requeue))
        self.log.append(f"nack:{tag}")


class Method:
    def __init__(self, tag: int) -> None:
        self.delivery_tag = tag
        self.routing_key = "product.stock"


def test_the_bridge_acks_handled_and_requeues_failed_deliveries(
    bench: Bench, settings: Settings
) -> None:
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()
    body = json.dumps(_event()).encode()
    bench.store.fail_record = OSError("database is locked")

    for tag in (1, 2):  # the same message, redelivered: the pause grows
        bridge._deliver(amqp, amqp, bench.handler, Method(tag), pika.BasicProperties(), body)
    bench.store.fail_record = None
    bench.store.results.append(recorded(RecordOutcome.NEW, state(2), {"stock"}))
    bridge._deliver(amqp, amqp, bench.handler, Method(3), pika.BasicProperties(), body)

    assert amqp.nacked == [(1, True), (2, True)]
    assert amqp.paused_s[1] > amqp.paused_s[0] > 0
    assert amqp.acked == [3]
    assert bridge.delivered == 3


def test_a_broken_amqp_connection_is_left_to_the_reconnect(
    bench: Bench, settings: Settings
) -> None:
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()
    bench.publisher.fail = pika.exceptions.StreamLostError("gone")
    body = json.dumps(_event(version="x")).encode()  # rejected: parking fails

    with pytest.raises(pika.exceptions.StreamLostError):
        bridge._deliver(amqp, amqp, bench.handler, Method(1), pika.BasicProperties(), body)

    assert amqp.acked == [] and amqp.nacked == []  # redelivered once the connection closes


def test_a_delivery_that_keeps_failing_on_our_side_is_parked_and_failed(
    bench: Bench, settings: Settings
) -> None:
    from workers.ingest import MAX_INTERNAL_FAILURES, IngestBridge

    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()
    body = json.dumps(_event()).encode()
    bench.store.fail_record = KeyError("a bug")  # no outage: a store that is reachable

    for tag in range(1, MAX_INTERNAL_FAILURES + 1):
        bridge._deliver(amqp, amqp, bench.handler, Method(tag), pika.BasicProperties(), body)

    assert [tag for tag, _ in amqp.nacked] == list(range(1, MAX_INTERNAL_FAILURES))
    assert amqp.acked == [MAX_INTERNAL_FAILURES]
    parked, status = bench.publisher.published
    assert parked.routing_key == "u.allegro.ingest.rejected" and parked.body == body
    assert "internal error" in parked.properties.headers["x-rejected-reason"]
    assert json.loads(status.body)["status"] == "FAILED"


def test_an_outage_is_waited_out_however_long_it_lasts(bench: Bench, settings: Settings) -> None:
    from workers.ingest import MAX_INTERNAL_FAILURES, IngestBridge
    from workers.store import StoreUnavailable

    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()
    bench.store.fail_record = StoreUnavailable("database down")
    body = json.dumps(_event()).encode()

    for tag in range(1, MAX_INTERNAL_FAILURES + 3):
        bridge._deliver(amqp, amqp, bench.handler, Method(tag), pika.BasicProperties(), body)

    assert len(amqp.nacked) == MAX_INTERNAL_FAILURES + 2 and amqp.acked == []
    assert bench.publisher.published == []


# --- batches of deliveries -------------------------------------------------------------------


class UnitStore(FakeStore):
    """A FakeStore with units of work: logs where the outermost one begins and commits
    (nested ones are savepoints of it)."""

    depth = 0

    @contextmanager
    def unit_of_work(self, *, durable: bool = True, savepoints: bool = True) -> Iterator[None]:
        self.depth += 1
        if self.depth == 1:
            self.calls.append("unit:begin")
        try:
            yield
        finally:
            self.depth -= 1
        if self.depth == 0:
            self.calls.append("unit:commit")


def _batch(*events: dict[str, Any] | bytes) -> list[tuple[Method, pika.BasicProperties, bytes]]:
    """Deliveries with the tags 1, 2, ... of ``events`` (dicts are encoded)."""
    return [
        (Method(tag), pika.BasicProperties(), e if isinstance(e, bytes) else json.dumps(e).encode())
        for tag, e in enumerate(events, start=1)
    ]


def _new(bench: Bench, count: int) -> list[dict[str, Any]]:
    """``count`` new stock events of SKUs without an offer, each to be recorded NEW."""
    events = []
    for n in range(1, count + 1):
        events.append(_event(event_id=f"ev-{n}", sku=f"SKU-{n}"))
        bench.store.results.append(recorded(RecordOutcome.NEW, state(2, sku=f"SKU-{n}"), {"stock"}))
    return events


def test_a_batch_of_good_deliveries_is_acked_once_up_to_its_last_tag(
    bench: Bench, settings: Settings
) -> None:
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()

    bridge._deliver_batch(amqp, amqp, bench.handler, _batch(*_new(bench, 3)))

    assert amqp.acks == [(3, True)] and amqp.nacked == [] and amqp.paused_s == []
    assert bench.store.dispatched == ["ev-1", "ev-2", "ev-3"]
    assert [p.event_id for _, p in bench.sent] == ["ev-1", "ev-2", "ev-3"]
    assert bridge.delivered == 3


def test_a_delivery_of_a_batch_that_meets_an_outage_alone_is_requeued_alone(
    bench: Bench, settings: Settings
) -> None:
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp(bench.log)
    events = _new(bench, 3)
    del bench.store.results[1]  # the second one never gets recorded
    record = bench.store.record_event

    def flaky(event: Any, **options: Any) -> Any:
        if event.event_id == "ev-2":
            bench.log.append("record-failed:ev-2")
            raise StoreUnavailable("database down")
        return record(event, **options)

    bench.store.record_event = flaky  # type: ignore[method-assign]

    bridge._deliver_batch(amqp, amqp, bench.handler, _batch(*events))

    assert amqp.acks == [(1, False), (3, False)]
    assert amqp.nacked == [(2, True)] and len(amqp.paused_s) == 1
    # The handled ones are acked at once; the failed one is requeued after the one pause.
    assert [line for line in bench.log if line.startswith(("ack", "nack"))] == [
        "ack:1",
        "ack:3",
        "nack:2",
    ]
    assert bench.store.dispatched == ["ev-1", "ev-3"]
    assert [p.event_id for _, p in bench.sent] == ["ev-1", "ev-3"]
    assert bridge.delivered == 3


def test_a_failure_after_the_batch_commit_requeues_every_delivery_and_publishes_nothing(
    bench: Bench, settings: Settings
) -> None:
    from dramatiq.errors import BrokerError

    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp()
    first, third = _new(bench, 2)
    third["event_id"] = "ev-3"
    superseded = _event(event_id="ev-2", sku="SKU-2", version=1)
    bench.store.results.insert(1, recorded(RecordOutcome.SUPERSEDED, state(9, sku="SKU-2")))
    bench.enqueue_error = BrokerError("the broker did not confirm")

    bridge._deliver_batch(amqp, amqp, bench.handler, _batch(first, superseded, third))

    assert amqp.acks == []
    assert amqp.nacked == [(1, True), (2, True), (3, True)]
    assert bench.store.dispatched == [] and bench.sent == []
    # The SUPERSEDED status was recorded with the batch, not published: the outbox has it.
    assert bench.publisher.published == []
    assert [(m.event_id, m.status) for m in bench.store.unpublished_statuses()] == [
        ("ev-2", Status.SUPERSEDED)
    ]


@pytest.mark.parametrize("store", [FakeStore, UnitStore], ids=["no-unit", "unit-of-work"])
def test_a_batch_publishes_and_enqueues_nothing_before_its_store_work_is_done(
    settings: Settings, store: type[FakeStore]
) -> None:
    bench = Bench(settings, store)
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    amqp = FakeAmqp(bench.log)
    rejected = json.dumps(_event(event_id="ev-1", version="2")).encode()
    (new,) = _new(bench, 1)
    new["event_id"] = "ev-2"
    superseded = _event(event_id="ev-3", sku="SKU-3", version=1)
    bench.store.results.append(recorded(RecordOutcome.SUPERSEDED, state(9, sku="SKU-3")))

    bridge._deliver_batch(amqp, amqp, bench.handler, _batch(rejected, new, superseded))

    units = [line for line in bench.log if line.startswith("unit:")]
    steps = [line for line in bench.log if not line.startswith("unit:")]
    assert steps == [
        # the batch's store work: every delivery
        "status:REJECTED",
        "record:ev-2",
        "record:ev-3",
        "status:SUPERSEDED",
        # then what waits for its commit: the parked event, the first step
        "publish:u.allegro.ingest.rejected",
        "enqueue:categorize",
        "dispatched:ev-2",
        # the statuses, then their marks
        "publish:offer.rejected",
        "publish:offer.superseded",
        "marked:REJECTED",
        "marked:SUPERSEDED",
        "ack:3:multiple",
    ]
    if store is UnitStore:
        # One commit for the store work of the whole batch, before anything is published;
        # one for the dispatched mark (the statuses' marks are one call of their own).
        assert units == ["unit:begin", "unit:commit"] * 2
        commit = bench.log.index("unit:commit")
        assert bench.log[:commit] == ["unit:begin", *steps[:4]]
    else:
        assert units == []


# --- the status outbox ----------------------------------------------------------------------


def _stored(bench: Bench, status: Status, **fields: Any) -> StatusMessage:
    message = status_for(
        {"event_id": "ev-1", "sku": "SKU-1", "account": "default", "version": 2},
        status,
        **fields,
    )
    bench.store.add_status(message)
    return message


def test_a_duplicate_whose_status_is_pending_publishes_it_and_is_not_handed_on(
    bench: Bench,
) -> None:
    # The first delivery was superseded; the bridge died before publishing that status.
    decided = datetime.now(UTC) - timedelta(seconds=SWEEP_MIN_AGE_S + 1)
    stored = _stored(bench, Status.SUPERSEDED, at=decided)
    bench.store.results.append(recorded(RecordOutcome.DUPLICATE, state(9), dispatched=False))

    assert bench.handle(_event()) is Outcome.DUPLICATE

    [sent] = bench.publisher.published
    assert (sent.body, sent.properties.message_id) == (stored.to_json(), "ev-1:SUPERSEDED")
    assert bench.sent == [] and bench.store.unpublished_statuses() == []


def test_a_duplicate_of_an_event_decided_a_moment_ago_leaves_its_status_to_its_reporter(
    bench: Bench,
) -> None:
    # A producer's retry, while the step that decided the event is publishing its status:
    # publishing it here too would send it twice.
    _stored(bench, Status.SUPERSEDED)
    bench.store.results.append(recorded(RecordOutcome.DUPLICATE, state(9), dispatched=False))

    assert bench.handle(_event()) is Outcome.DUPLICATE

    assert bench.publisher.published == [] and bench.sent == []
    assert [m.event_id for m in bench.store.unpublished_statuses()] == ["ev-1"]


def test_a_duplicate_of_a_failed_event_never_handed_on_is_handed_on(bench: Bench) -> None:
    # The bridge gave up on it (FAILED, parked); an operator replays the parked event.
    _stored(bench, Status.FAILED, errors=[{"code": "KeyError", "message": "a bug"}])
    bench.store.published_at[0] = bench.store.now
    bench.store.results.append(recorded(RecordOutcome.DUPLICATE, state(2), dispatched=False))

    assert bench.handle(_event()) is Outcome.DISPATCHED

    assert [step for step, _ in bench.sent] == [Step.CATEGORIZE]
    assert bench.publisher.published == []


def test_a_rejected_event_delivered_again_publishes_its_pending_status(bench: Bench) -> None:
    body = json.dumps(_event(version="2")).encode()
    bench.publisher.fail = ConnectionError("died after recording the status")
    with pytest.raises(ConnectionError):
        bench.handle(body, "product.stock", message_id="m-1")
    bench.publisher.fail = None

    bench.handle(body, "product.stock", message_id="m-1")  # redelivered

    statuses = [p for p in bench.publisher.published if p.routing_key == "offer.rejected"]
    assert [p.properties.message_id for p in statuses] == ["ev-1:REJECTED"]
    assert bench.store.unpublished_statuses() == []


def test_the_bridge_sweeps_at_start_then_every_interval(
    bench: Bench, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers import ingest

    bridge = ingest.IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]
    now = [1_000.0]
    monkeypatch.setattr(ingest.time, "monotonic", lambda: now[0])

    def forgotten(event_id: str) -> None:
        identity = {"event_id": event_id, "sku": "SKU-1", "account": "default", "version": 2}
        bench.store.add_status(status_for(identity, Status.ENDED))
        bench.store.now += timedelta(seconds=SWEEP_MIN_AGE_S)

    forgotten("ev-1")
    bridge._sweep_when_due(bench.handler)  # the first wake-up: at once
    forgotten("ev-2")
    now[0] += SWEEP_INTERVAL_S - 1
    bridge._sweep_when_due(bench.handler)  # not yet
    assert [p.properties.message_id for p in bench.publisher.published] == ["ev-1:ENDED"]

    now[0] += 1
    bridge._sweep_when_due(bench.handler)

    assert bridge.swept == 2
    assert [p.properties.message_id for p in bench.publisher.published][-1] == "ev-2:ENDED"


def test_a_failing_sweep_never_stops_the_bridge(bench: Bench, settings: Settings) -> None:
    bridge = IngestBridge(settings, bench.store, broker=None)  # type: ignore[arg-type]

    def broken(*_args: Any, **_kwargs: Any) -> list[Any]:
        raise StoreUnavailable("database down")

    bench.store.unpublished_statuses = broken  # type: ignore[method-assign]
    bridge._sweep_when_due(bench.handler)  # logged, not raised
    bench.publisher.fail = pika.exceptions.StreamLostError("gone")
    bench.store.unpublished_statuses = lambda *_a, **_k: [  # type: ignore[method-assign]
        status_for({"event_id": "e", "sku": "s", "account": "a", "version": 1}, Status.ENDED)
    ]
    bridge.sweep_soon()
    with pytest.raises(pika.exceptions.StreamLostError):  # the consumer reconnects
        bridge._sweep_when_due(bench.handler)


def test_changes_staged_and_unclaimed_for_long_are_reported(
    bench: Bench, settings: Settings, tmp_path: Path
) -> None:
    # A bridge started on its own stages stock/price changes that only a batcher sends.
    url = f"sqlite:///{tmp_path}/batch.db"
    open_store(url).close()  # migrates: the batching tables included
    with BatchRepo(url) as repo:
        bridge = IngestBridge(settings, bench.store, broker=None, batch_repo=repo)  # type: ignore[arg-type]
        change = StagedEvent("default", "SKU-1", ChangeKind.STOCK, {"available": 2}, 2, "ev-2")
        repo.stage(change, time.time() - 5)
        with capture_logs() as fresh:
            bridge._check_staged()
        repo.stage(
            dataclasses.replace(change, sku="SKU-2", event_id="ev-3"),
            time.time() - STAGED_STALL_S - 5,
        )
        with capture_logs() as stale:
            bridge._check_staged()

    assert [line for line in fresh if line["event"] == "ingest.staged_waiting"] == []
    [warning] = [line for line in stale if line["event"] == "ingest.staged_waiting"]
    assert warning["changes"] == 2 and warning["oldest_age_s"] > STAGED_STALL_S
    assert "python -m workers.batching" in warning["action"]
