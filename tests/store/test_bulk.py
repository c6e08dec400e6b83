"""The store's calls for many SKUs or statuses at once (the batcher settles hundreds of
offers per command): each gives what the one-at-a-time call gives for every member, in one
transaction, on both backends."""

from __future__ import annotations

from dataclasses import replace

from schemas.status import Status
from tests.store._events import stock, upserted
from tests.store.conftest import FakeClock
from tests.store.test_status import message
from workers.store import OfferRecord, Store, offer_stamp


def _record(sku: str, offer_id: str, available: int = 1) -> OfferRecord:
    body = {"name": sku, "stock": {"available": available, "unit": "UNIT"}}
    return OfferRecord("default", sku, offer_id, "ACTIVE", f"f-{sku}", 1, body)


def test_offers_are_read_and_saved_in_bulk_like_one_at_a_time(
    store: Store, clock: FakeClock
) -> None:
    # More SKUs than one IN list holds (500), with repeats and unknown ones.
    skus = [f"S{i:04d}" for i in range(1_203)]
    store.record_create_intent("default", "S0001")
    store.record_create_intent("default", "S1201")  # no offer saved: its intent stays
    store.save_offers([_record(sku, f"o-{sku}") for sku in skus[:1_200]])

    wanted = [*skus, "S0000", "S0005"]
    found = store.get_offers("default", wanted)
    assert sorted(found) == skus[:1_200]
    for sku in ("S0000", "S0777", "S1199"):
        assert found[sku] == store.get_offer("default", sku)
        assert found[sku] == replace(_record(sku, f"o-{sku}"), updated_at=clock.now)
    assert store.get_offers("other", skus) == {}
    assert store.get_offers("default", []) == {}
    # Saving an offer clears its creation intent, as save_offer does.
    assert store.create_intent("default", "S0001") is None
    assert store.create_intent("default", "S1201") is not None

    store.save_offers([_record("S0002", "o-new", available=7)])
    assert store.get_offer("default", "S0002") == replace(
        _record("S0002", "o-new", available=7), updated_at=clock.now
    )
    store.save_offers([])  # nothing to do


def test_leases_are_taken_and_released_in_bulk(store: Store, clock: FakeClock) -> None:
    assert store.acquire_lease("default", "B", "publish-actor", 60)
    skus = ["A", "B", "C", "A", *[f"X{i}" for i in range(600)]]

    taken = store.acquire_leases("default", skus, "batcher", 30)
    assert taken == set(skus) - {"B"}  # B is held by another owner
    assert not store.acquire_lease("default", "A", "publish-actor", 60)
    # The owner may take them again (extending them); they expire like single leases.
    assert store.acquire_leases("default", ["A", "C"], "batcher", 30) == {"A", "C"}
    clock.advance(30)
    assert store.acquire_lease("default", "X7", "publish-actor", 60)

    store.release_leases("default", ["A", "B", "C", *[f"X{i}" for i in range(600)]], "batcher")
    assert store.acquire_lease("default", "A", "publish-actor", 60)
    assert not store.acquire_lease("default", "B", "batcher", 60)  # not the batcher's to free
    assert store.acquire_lease("default", "X599", "publish-actor", 60)
    assert not store.acquire_lease("default", "X7", "batcher", 60)
    assert store.acquire_leases("default", [], "batcher", 30) == set()


def test_product_states_in_bulk_match_product_state(store: Store) -> None:
    store.record_event(upserted("P1", 1))
    store.record_event(stock("P2", 3))
    store.record_event(upserted("P3", 2))

    states = store.product_states("default", ["P1", "P2", "P3", "P4", "P1"])
    assert sorted(states) == ["P1", "P2", "P3"]
    for sku, state in states.items():
        assert state == store.product_state("default", sku)
    assert store.product_states("other", ["P1"]) == {}


def test_product_states_without_content_keep_stock_price_and_flags(store: Store) -> None:
    store.record_event(upserted("P1", 1))
    store.record_event(stock("P1", 4))
    store.record_event(stock("P2", 3))  # no product.upserted yet: not complete

    full = store.product_states("default", ["P1", "P2"])
    light = store.product_states("default", ["P1", "P2", "P9"], content=False)
    assert sorted(light) == ["P1", "P2"]
    for sku, state in light.items():
        wanted = {k: v for k, v in full[sku].product.items() if k in ("stock", "price")}
        assert state.product == wanted
        assert (state.version, state.event_id, state.deleted, state.complete) == (
            full[sku].version,
            full[sku].event_id,
            full[sku].deleted,
            full[sku].complete,
        )
    assert light["P1"].complete and not light["P2"].complete
    assert "name" in full["P1"].product and "name" not in light["P1"].product


def test_offer_stamps_tell_whether_registry_entries_changed(store: Store, clock: FakeClock) -> None:
    store.save_offers([_record(f"S{i}", f"o-{i}") for i in range(3)])
    read = store.get_offers("default", ["S0", "S1", "S2"])
    stamps = store.offer_stamps("default", ["S0", "S1", "S2", "S9"])
    assert sorted(stamps) == ["S0", "S1", "S2"]  # no entry, no stamp
    assert {sku: offer_stamp(record) for sku, record in read.items()} == stamps

    clock.advance(1)
    store.save_offer(_record("S1", "o-1", available=9))  # the same offer, saved again
    after = store.offer_stamps("default", ["S0", "S1"])
    assert after["S0"] == stamps["S0"]
    assert after["S1"] != stamps["S1"]
    assert after["S1"] == offer_stamp(store.get_offers("default", ["S1"])["S1"])


def test_statuses_are_added_and_marked_in_bulk_like_one_at_a_time(store: Store) -> None:
    first = message("e1", Status.UPDATED, 0)
    assert store.add_status(message("e0", Status.FAILED, 0))
    batch = [
        first,
        message("e2", Status.SUPERSEDED, 1),
        message("e1", Status.REJECTED, 2),  # e1 has its terminal status by now: refused
        message("e0", Status.UPDATED, 3),  # the replay of a FAILED event: taken
    ]
    assert store.add_statuses(batch) == [True, True, False, True]
    assert store.terminal_status("e1") == first
    assert store.terminal_status("e0") == batch[3]
    assert store.add_statuses([]) == []

    store.mark_statuses_published([("e1", Status.UPDATED), ("e2", Status.SUPERSEDED)])
    left = {(m.event_id, m.status) for m in store.unpublished_statuses()}
    assert left == {("e0", Status.FAILED), ("e0", Status.UPDATED)}
    entry = store.terminal_entry("e2")
    assert entry is not None and entry.published
    store.mark_statuses_published([])
    # A whole run's marks (more events than one IN list holds), a status that does not
    # match (e0's FAILED is marked, not its UPDATED) and an unknown event among them.
    many = [message(f"m{i}", Status.UPDATED, 4) for i in range(620)]
    store.add_statuses(many)
    store.mark_statuses_published(
        [(f"m{i}", Status.UPDATED) for i in range(610)]
        + [("e0", Status.FAILED), ("unknown", Status.UPDATED)]
    )
    left = {(m.event_id, m.status) for m in store.unpublished_statuses(limit=1_000)}
    assert left == {("e0", Status.UPDATED)} | {(f"m{i}", Status.UPDATED) for i in range(610, 620)}


def test_terminal_entries_are_read_in_bulk_like_one_at_a_time(store: Store) -> None:
    # e1: one outcome; e2: FAILED, then its replay's outcome (chain 1) counts; e3: none.
    store.add_statuses(
        [
            message("e1", Status.PUBLISHED, 0),
            message("e2", Status.FAILED, 1),
            message("e2", Status.UPDATED, 2),
        ]
    )
    store.mark_status_published("e1", Status.PUBLISHED)
    # More event ids than one IN list holds (500), with a repeat.
    wanted = ["e1", "e2", "e3", "e1", *[f"x{i}" for i in range(600)]]

    found = store.terminal_entries(wanted)

    assert sorted(found) == ["e1", "e2"]
    for event_id in ("e1", "e2"):
        assert found[event_id] == store.terminal_entry(event_id)
    assert (found["e2"].chain, found["e2"].message.status) == (1, Status.UPDATED)
    assert found["e1"].published and not found["e2"].published
    assert store.terminal_entries([]) == {}


def test_events_are_marked_dispatched_in_bulk(store: Store) -> None:
    events = [stock(f"S{i:04d}", 1) for i in range(620)]
    for event in events:
        store.record_event(event)

    store.mark_dispatched_many([e.event_id for e in events[:610]] + ["never-seen"])
    store.mark_dispatched_many([])

    again = [store.record_event(event) for event in events]
    assert [r.dispatched for r in again] == [True] * 610 + [False] * 10
