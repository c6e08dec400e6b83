"""The ingest bridge staging stock changes for the batcher, on a real SQLite store: the
registry entries a batch needs are read once, before its transaction, and what was staged
is what the one-delivery-at-a-time path stages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from schemas.status import Status
from workers.batching import BatchRepo, ChangeKind
from workers.broker import Payload, part_digests
from workers.ingest import IngestHandler, Outcome
from workers.settings import Settings
from workers.store import OfferRecord, Store, open_store

from .conftest import FakePublisher

BODY = {
    "name": "x",
    "stock": {"available": 5, "unit": "UNIT"},
    "sellingMode": {"price": {"amount": "10.00", "currency": "PLN"}},
}


def _delivery(event: dict[str, Any]) -> tuple[bytes, str, pika.BasicProperties]:
    return json.dumps(event).encode(), str(event["type"]), pika.BasicProperties()


def _upserted(sku: str) -> dict[str, Any]:
    return {
        "type": "product.upserted",
        "event_id": f"u-{sku}",
        "occurred_at": "2026-07-18T12:00:00Z",
        "sku": sku,
        "version": 1,
        "name": "Headphones",
        "ean": "5901234123457",
        "category": "Audio",
        "price": {"amount": "10.00", "currency": "PLN"},
        "stock": {"available": 5, "unit": "UNIT"},
    }


def _stock(sku: str, version: int, available: int) -> dict[str, Any]:
    return {
        "type": "product.stock",
        "event_id": f"s-{sku}-{version}",
        "occurred_at": "2026-07-18T12:00:00Z",
        "sku": sku,
        "version": version,
        "stock": {"available": available},
    }


def _listed(handler: IngestHandler, store: Store, skus: list[str]) -> None:
    """Products of ``skus`` taken in, each with its offer (``o-<sku>``) in the registry."""
    handler.handle_batch([_delivery(_upserted(sku)) for sku in skus])
    store.save_offers([OfferRecord("default", s, f"o-{s}", "ACTIVE", None, 1, BODY) for s in skus])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[IngestHandler, Store, BatchRepo]]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    repo = BatchRepo(url, store=store)
    handler = IngestHandler(
        Settings(database_url=url), store, FakePublisher([]), lambda step, payload: None, repo
    )
    yield handler, store, repo
    repo.close()
    store.close()


def test_a_batch_of_stock_events_reads_the_registry_once_and_stages_each_change(
    world: tuple[IngestHandler, Store, BatchRepo], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, store, repo = world
    skus = ["A", "B", "C"]
    _listed(handler, store, skus)
    bulk: list[list[str]] = []
    get_offers = store.get_offers

    def counted(account: str, wanted: Iterable[str]) -> Any:
        bulk.append(sorted(wanted))
        return get_offers(account, bulk[-1])

    def one_at_a_time(account: str, sku: str) -> Any:
        raise AssertionError(f"{sku}: read again, one at a time, inside the transaction")

    monkeypatch.setattr(store, "get_offers", counted)
    monkeypatch.setattr(store, "get_offer", one_at_a_time)
    events = [_stock("A", 2, 3), _stock("B", 2, 4), _stock("A", 3, 7), _stock("Z", 2, 1)]
    outcomes = handler.handle_batch([_delivery(event) for event in events])

    assert outcomes == [Outcome.DISPATCHED] * 4
    assert bulk == [["A", "B", "Z"]]  # the stock events' SKUs, once
    a = repo.pending_row("default", "A", ChangeKind.STOCK)
    b = repo.pending_row("default", "B", ChangeKind.STOCK)
    assert a is not None and b is not None
    assert (a.value["available"], a.version, [e.event_id for e in a.events]) == (
        7,
        3,
        ["s-A-2", "s-A-3"],
    )
    assert (b.value["available"], b.offer_id) == (4, "o-B")
    # Z has no offer: not staged (it goes to the publish actor).
    assert repo.pending_row("default", "Z", ChangeKind.STOCK) is None


def test_events_recorded_and_staged_in_one_batch_are_staged_once_without_staged_ids(
    world: tuple[IngestHandler, Store, BatchRepo],
) -> None:
    handler, store, repo = world
    _listed(handler, store, ["A"])
    batch = [_delivery(_stock("A", 2, 3)), _delivery(_stock("A", 3, 7))]

    assert handler.handle_batch(batch) == [Outcome.DISPATCHED] * 2
    # Recorded in the transaction that staged them: the events table tells a redelivery.
    staged_ids = store.connection().execute("SELECT COUNT(*) FROM batch_staged").fetchone()
    assert staged_ids == (0,)
    assert handler.handle_batch(batch) == [Outcome.DUPLICATE] * 2  # a redelivery
    row = repo.pending_row("default", "A", ChangeKind.STOCK)
    assert row is not None
    assert [e.event_id for e in row.events] == ["s-A-2", "s-A-3"]  # not staged twice


def test_an_event_staged_alone_keeps_its_staged_id(
    world: tuple[IngestHandler, Store, BatchRepo],
) -> None:
    # One delivery outside a batch: recording, staging and the dispatched mark commit
    # apart, so the staged id is what keeps a redelivery from staging it twice.
    handler, store, _repo = world
    _listed(handler, store, ["A"])
    body, key, properties = _delivery(_stock("A", 2, 3))

    assert handler.handle(body, key, properties) is Outcome.DISPATCHED
    staged_ids = store.connection().execute("SELECT COUNT(*) FROM batch_staged").fetchone()
    assert staged_ids == (1,)


def test_a_batchs_log_lines_come_after_its_commit_with_each_deliverys_context(
    world: tuple[IngestHandler, Store, BatchRepo], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch holds the store's writer lock until its commit; a rendered log line costs
    # tens of microseconds, so the bridge's lines about each delivery wait for the commit.
    handler, store, _repo = world
    _listed(handler, store, ["A", "B"])
    lines: list[tuple[str, dict[str, Any], bool]] = []

    class Recorder:
        def __getattr__(self, level: str) -> Any:
            def emit(event: str, **fields: Any) -> None:
                lines.append((event, fields, store.connection().in_transaction))

            return emit

    monkeypatch.setattr("workers.ingest_handler.log", Recorder())
    batch = [
        _delivery(_stock("A", 2, 3)),
        _delivery(_stock("B", 2, 4)),
        _delivery(_stock("A", 1, 9)),
    ]

    assert handler.handle_batch(batch) == [
        Outcome.DISPATCHED,
        Outcome.DISPATCHED,
        Outcome.SUPERSEDED,
    ]

    staged = [(e, f["event_id"], f["sku"], inside) for e, f, inside in lines]
    assert staged == [
        ("ingest.staged", "s-A-2", "A", False),
        ("ingest.staged", "s-B-2", "B", False),
        ("ingest.superseded", "s-A-1", "A", False),
    ]


def test_an_event_delivered_twice_in_one_batch_is_taken_once(
    world: tuple[IngestHandler, Store, BatchRepo],
) -> None:
    # An upstream that publishes at least once can put an event twice in one batch. The
    # batch's terminal statuses and dispatched marks are read and written around its
    # deliveries, so the second delivery must still see what the first one did.
    handler, store, repo = world
    _listed(handler, store, ["A"])
    staged, late = _stock("A", 3, 7), _stock("A", 2, 1)
    batch = [_delivery(e) for e in (staged, staged, late, late)]

    assert handler.handle_batch(batch) == [
        Outcome.DISPATCHED,
        Outcome.DUPLICATE,
        Outcome.SUPERSEDED,
        Outcome.DUPLICATE,
    ]
    row = repo.pending_row("default", "A", ChangeKind.STOCK)
    assert row is not None
    assert [e.event_id for e in row.events] == ["s-A-3"]  # staged once
    superseded = [s for s in store.history("default", "A") if s.event_id == "s-A-2"]
    assert [s.status for s in superseded] == [Status.SUPERSEDED]  # one status
    # Both are marked dispatched in the batch's commit: a redelivery is a duplicate.
    assert handler.handle_batch([_delivery(staged)]) == [Outcome.DUPLICATE]


def test_a_stock_event_that_goes_to_the_actors_carries_the_digests_of_the_whole_state(
    tmp_path: Path,
) -> None:
    # The bridge records stock events without reading the content (the batcher needs
    # none); one that the batcher cannot take is handed to the steps, which compare the
    # digests of every part, the content's included.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    repo = BatchRepo(url, store=store)
    sent: list[Payload] = []
    handler = IngestHandler(
        Settings(database_url=url),
        store,
        FakePublisher([]),
        lambda step, payload: sent.append(payload),
        repo,
    )
    handler.handle_batch([_delivery(_upserted("A"))])  # no offer yet: to categorize
    sent.clear()

    assert handler.handle_batch([_delivery(_stock("A", 2, 3))]) == [Outcome.DISPATCHED]

    state = store.product_state("default", "A")
    assert state is not None and state.product["name"] == "Headphones"
    assert [p.digests for p in sent] == [part_digests(state)]
    assert repo.pending_row("default", "A", ChangeKind.STOCK) is None  # not staged
    repo.close()
    store.close()
