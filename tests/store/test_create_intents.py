"""Creation intents: recorded before every POST, counted, cleared with the offer."""

from __future__ import annotations

from tests.store.conftest import FakeClock
from workers.store import CreateIntent, OfferRecord, Store


def test_an_intent_counts_attempts_and_keeps_the_latest_time(
    store: Store, clock: FakeClock
) -> None:
    assert store.create_intent("default", "A1") is None

    first = store.record_create_intent("default", "A1")
    assert first == CreateIntent("default", "A1", 1, clock.now)
    clock.advance(130)
    again = store.record_create_intent("default", "A1")

    assert again == CreateIntent("default", "A1", 2, clock.now)
    assert store.create_intent("default", "A1") == again
    assert again.attempted_at.utcoffset() is not None
    assert store.create_intent("other", "A1") is None  # per account
    assert store.create_intent("default", "B2") is None


def test_saving_the_offer_clears_the_intent(store: Store) -> None:
    store.record_create_intent("default", "A1")
    store.record_create_intent("default", "B2")

    store.save_offer(OfferRecord("default", "A1", "7712345678"))

    assert store.create_intent("default", "A1") is None
    assert store.create_intent("default", "B2") is not None
    store.save_offer(OfferRecord("default", "A1", "7712345678", "ACTIVE"))  # none left: fine


def test_clearing_an_intent_is_idempotent(store: Store) -> None:
    store.record_create_intent("default", "A1")
    store.clear_create_intent("default", "A1")
    store.clear_create_intent("default", "A1")
    assert store.create_intent("default", "A1") is None
    assert store.record_create_intent("default", "A1").attempts == 1  # counts anew


def test_updating_existing_entries_can_leave_intents_alone(store: Store) -> None:
    # The batcher updates entries that exist; it asks for no intent to be cleared.
    store.save_offer(OfferRecord("default", "A1", "7712345678", "ACTIVE"))
    store.record_create_intent("default", "B2")

    store.save_offers(
        [
            OfferRecord("default", "A1", "7712345678", "ENDED"),
            OfferRecord("default", "B2", "7712345679", "ACTIVE"),
        ],
        clear_intents=False,
    )

    assert store.get_offer("default", "A1").publication_status == "ENDED"  # type: ignore[union-attr]
    assert store.get_offer("default", "B2") is not None
    assert store.create_intent("default", "B2") is not None  # left as it was
    store.save_offers([OfferRecord("default", "B2", "7712345679", "ACTIVE")])
    assert store.create_intent("default", "B2") is None  # the default clears it
