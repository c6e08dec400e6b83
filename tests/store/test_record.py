"""record_event: deduplication, the per-part version merge, the desired state."""

from __future__ import annotations

import itertools
import random

from tests.store._events import (
    deleted,
    mixed,
    parse,
    price,
    raw_upserted,
    stock,
    upserted,
)
from workers.store import RecordOutcome, Store
from workers.store._merge import Parts, merge, to_state

PRODUCT_KEYS = [
    "name",
    "description",
    "category",
    "ean",
    "mpn",
    "brand",
    "price",
    "stock",
    "images",
    "attributes",
    "allegro",
]


def test_first_upsert_is_new_and_complete(store: Store) -> None:
    event = upserted(
        "A1",
        10,
        brand="Acme",
        images=["https://shop.example/a.jpg"],
        attributes={"color": "black", "weight_kg": 0.25},
        allegro={"category_id": "165", "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}]},
    )
    result = store.record_event(event)
    assert result.outcome is RecordOutcome.NEW
    assert result.changed == {"content", "stock", "price"}
    assert result.dispatched is False
    state = result.state
    assert state is not None
    assert (state.account, state.sku, state.version, state.event_id) == (
        "default",
        "A1",
        10,
        event.event_id,
    )
    assert state.complete and not state.deleted
    assert list(state.product) == PRODUCT_KEYS
    assert state.product["price"] == {"amount": "10.00", "currency": "PLN"}
    assert state.product["stock"] == {"available": 5, "unit": "UNIT"}
    assert state.product["mpn"] is None
    assert state.product["attributes"] == {"color": "black", "weight_kg": 0.25}
    # Allegro's request shape: aliases, and only the members given.
    assert state.product["allegro"] == {
        "category_id": "165",
        "product_id": None,
        "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
    }
    assert store.product_state("default", "A1") == state
    assert store.latest_version("default", "A1") == 10


def test_unknown_sku(store: Store) -> None:
    assert store.product_state("default", "nope") is None
    assert store.latest_version("default", "nope") is None


def test_stock_before_any_upsert_is_an_incomplete_state(store: Store) -> None:
    result = store.record_event(stock("S1", 3, available=7))
    assert result.outcome is RecordOutcome.NEW
    assert result.changed == {"stock"}
    assert result.state is not None
    assert not result.state.complete
    assert result.state.product == {"stock": {"available": 7, "unit": "UNIT"}}
    result = store.record_event(price("S1", 4, amount="9.99"))
    assert result.state is not None
    assert result.state.product == {
        "price": {"amount": "9.99", "currency": "PLN"},
        "stock": {"available": 7, "unit": "UNIT"},
    }


def test_older_and_equal_versions_are_superseded(store: Store) -> None:
    store.record_event(upserted("A1", 10, name="Ten"))
    for event in (upserted("A1", 9, name="Nine"), upserted("A1", 10, name="Ten again")):
        result = store.record_event(event)
        assert result.outcome is RecordOutcome.SUPERSEDED
        assert result.changed == frozenset()
        assert result.state is not None
        assert result.state.product["name"] == "Ten"
    assert store.record_event(stock("A1", 10)).outcome is RecordOutcome.SUPERSEDED
    assert store.record_event(price("A1", 2)).outcome is RecordOutcome.SUPERSEDED


def test_out_of_order_parts_take_only_what_is_newer(store: Store) -> None:
    # stock v5 arrives before the upsert v3: the upsert's content and price are taken,
    # its stock is older than the stored one and is not.
    store.record_event(stock("A1", 5, available=50))
    late = upserted("A1", 3, name="Three", available=3, amount="3.00")
    result = store.record_event(late)
    assert result.outcome is RecordOutcome.NEW
    assert result.changed == {"content", "price"}
    state = result.state
    assert state is not None
    assert state.complete
    assert state.version == 5
    assert state.event_id == late.event_id  # the event that last changed the state
    assert state.product["name"] == "Three"
    assert state.product["stock"] == {"available": 50, "unit": "UNIT"}
    assert state.product["price"] == {"amount": "3.00", "currency": "PLN"}
    # A price v4 is newer than the upsert's price v3.
    assert store.record_event(price("A1", 4, amount="4.00")).changed == {"price"}
    assert store.record_event(price("A1", 2, amount="2.00")).outcome is RecordOutcome.SUPERSEDED


def test_duplicate_event_id_not_yet_dispatched(store: Store) -> None:
    event = upserted("A1", 1)
    first = store.record_event(event)
    again = store.record_event(event)
    assert again.outcome is RecordOutcome.DUPLICATE
    assert again.dispatched is False
    assert again.changed == frozenset()
    assert again.state == first.state


def test_duplicate_event_id_after_dispatch(store: Store) -> None:
    event = stock("A1", 1)
    store.record_event(event)
    store.mark_dispatched(event.event_id)
    again = store.record_event(event)
    assert again.outcome is RecordOutcome.DUPLICATE
    assert again.dispatched is True
    # Marking an unknown event changes nothing and does not fail.
    store.mark_dispatched("never-seen")


def test_superseded_event_is_recorded_for_dedupe(store: Store) -> None:
    store.record_event(upserted("A1", 5))
    old = upserted("A1", 4)
    assert store.record_event(old).outcome is RecordOutcome.SUPERSEDED
    assert store.record_event(old).outcome is RecordOutcome.DUPLICATE


def test_duplicate_state_is_the_current_one(store: Store) -> None:
    first = upserted("A1", 1)
    store.record_event(first)
    store.record_event(price("A1", 2, amount="2.00"))
    again = store.record_event(first)
    assert again.outcome is RecordOutcome.DUPLICATE
    assert again.state is not None
    assert again.state.product["price"]["amount"] == "2.00"


def test_delete_then_resurrect(store: Store) -> None:
    store.record_event(upserted("A1", 1, name="One"))
    gone = store.record_event(deleted("A1", 5))
    assert gone.outcome is RecordOutcome.NEW
    assert gone.changed == {"deleted"}
    assert gone.state is not None and gone.state.deleted
    assert gone.state.product["name"] == "One"  # the last content is kept
    assert gone.state.version == 5

    # An upsert older than the delete updates the content, the SKU stays deleted.
    late = store.record_event(upserted("A1", 4, name="Four"))
    assert late.changed == {"content", "stock", "price"}
    assert late.state is not None and late.state.deleted

    # Stock and price never bring a deleted product back.
    restocked = store.record_event(stock("A1", 6, available=9))
    assert restocked.changed == {"stock"}
    assert restocked.state is not None and restocked.state.deleted

    # An upsert newer than the delete does.
    back = store.record_event(upserted("A1", 7, name="Seven"))
    assert back.outcome is RecordOutcome.NEW
    assert back.changed == {"content", "stock", "price", "deleted"}
    assert back.state is not None and not back.state.deleted
    assert back.state.product["name"] == "Seven"
    state = store.product_state("default", "A1")
    assert state is not None and not state.deleted


def test_delete_older_than_the_upsert_is_superseded(store: Store) -> None:
    store.record_event(upserted("A1", 5))
    result = store.record_event(deleted("A1", 4))
    assert result.outcome is RecordOutcome.SUPERSEDED
    assert result.state is not None and not result.state.deleted
    # Deleting again at a higher version is taken again; an older delete is not.
    assert store.record_event(deleted("A1", 8)).changed == {"deleted"}
    assert store.record_event(deleted("A1", 9)).changed == {"deleted"}
    assert store.record_event(deleted("A1", 6)).outcome is RecordOutcome.SUPERSEDED


def test_delete_of_a_sku_never_seen(store: Store) -> None:
    result = store.record_event(deleted("A1", 3))
    assert result.outcome is RecordOutcome.NEW
    assert result.state is not None
    assert result.state.deleted and not result.state.complete
    assert result.state.product == {}


def test_accounts_are_separate(store: Store) -> None:
    store.record_event(upserted("A1", 5, account="shop-a", name="A"))
    other = store.record_event(upserted("A1", 1, account="shop-b", name="B"))
    assert other.outcome is RecordOutcome.NEW
    state_a = store.product_state("shop-a", "A1")
    state_b = store.product_state("shop-b", "A1")
    assert state_a is not None and state_a.product["name"] == "A"
    assert state_b is not None and state_b.product["name"] == "B"


def test_arrival_order_does_not_change_the_result(store: Store) -> None:
    raw = mixed("SKU", 8, seed=7)
    expected = None
    rng = random.Random(3)
    for round_ in range(4):
        order = raw[:]
        rng.shuffle(order)
        sku = f"P{round_}"
        for item in order:
            store.record_event(parse({**item, "sku": sku, "event_id": f"{sku}-{item['event_id']}"}))
        state = store.product_state("default", sku)
        assert state is not None
        seen = (state.version, state.deleted, state.complete, state.product)
        expected = expected or seen
        assert seen == expected


def test_merge_is_order_independent_for_every_permutation() -> None:
    # The pure merge, exhaustively: every order of six events of every kind.
    events = [
        upserted("X", 2, name="two", available=2),
        stock("X", 3, available=3),
        deleted("X", 4),
        price("X", 5, amount="5.00"),
        upserted("X", 6, name="six", available=6),
        deleted("X", 7),
    ]
    outcomes = set()
    for order in itertools.permutations(events):
        parts: Parts | None = None
        for event in order:
            parts = merge(parts, event).parts
        assert parts is not None
        state = to_state("default", "X", parts)
        outcomes.add((state.version, state.deleted, repr(state.product)))
    assert len(outcomes) == 1
    version, is_deleted, _ = outcomes.pop()
    assert (version, is_deleted) == (7, True)


def test_record_keeps_the_parameters_of_upserted_by_alias(store: Store) -> None:
    raw = raw_upserted(
        "A1",
        1,
        allegro={"parameters": [{"id": "17448", "rangeValue": {"from": "1", "to": "2"}}]},
    )
    state = store.record_event(parse(raw)).state
    assert state is not None
    assert state.product["allegro"]["parameters"] == [
        {"id": "17448", "rangeValue": {"from": "1", "to": "2"}}
    ]


def test_a_stock_or_price_event_can_be_recorded_without_reading_the_content(
    store: Store,
) -> None:
    store.record_event(upserted("A1", 1, name="One"))
    full = store.record_event(stock("A1", 2, available=3))
    light = store.record_event(stock("A1", 3, available=4), content=False)
    assert light.outcome is RecordOutcome.NEW and light.changed == {"stock"}
    assert light.state is not None and full.state is not None
    # The state as product_states(content=False) gives it: stock and price, no content.
    assert light.state.product == {
        "price": full.state.product["price"],
        "stock": {"available": 4, "unit": "UNIT"},
    }
    assert light.state.complete and not light.state.deleted and light.state.version == 3
    # The content stays as it was: the event wrote only its own part.
    stored = store.product_state("default", "A1")
    assert stored is not None and stored.product["name"] == "One"
    assert stored.product["stock"] == {"available": 4, "unit": "UNIT"}
    priced = store.record_event(price("A1", 4, amount="7.00"), content=False)
    assert priced.state is not None and priced.state.product["price"]["amount"] == "7.00"
    # A superseded one and the deletion flag, without the content too.
    again = store.record_event(stock("A1", 3, available=4), content=False)
    assert again.outcome is RecordOutcome.SUPERSEDED
    store.record_event(deleted("A1", 5))
    gone = store.record_event(stock("A1", 6), content=False)
    assert gone.state is not None and gone.state.deleted
    # Only stock and price events may skip it: an upsert reads and writes it as ever.
    back = store.record_event(upserted("A1", 7, name="Seven"), content=False)
    assert back.state is not None and back.state.product["name"] == "Seven"
    # A SKU without an upsert yet has no content to skip.
    new = store.record_event(stock("B1", 1, available=2), content=False)
    assert new.state is not None and not new.state.complete
