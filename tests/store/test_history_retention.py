"""prune_history: statuses and events older than the retention go, the outbox and events
never handed on stay, in batches (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.status import Status
from tests.store._events import stock, upserted
from tests.store.conftest import FakeClock
from tests.store.test_status import T0, message
from workers.store import RecordOutcome, Store


def test_old_published_statuses_go_and_the_outbox_stays(store: Store) -> None:
    old = message("old", Status.UPDATED, 0)
    unpublished = message("waiting", Status.ENDED, 1)
    unreadable = message("x", Status.REJECTED, 2).model_copy(
        update={"event_id": None, "sku": None, "account": None, "version": None}
    )
    recent = message("recent", Status.UPDATED, 200, sku="A1")
    for status in (old, unpublished, unreadable, recent):
        store.add_status(status)
    store.mark_statuses_published([("old", Status.UPDATED), ("recent", Status.UPDATED)])

    assert store.prune_history(T0 + timedelta(seconds=100)) == 2

    assert [m.event_id for m in store.iter_history()] == ["waiting", "recent"]
    assert store.terminal_status("old") is None
    assert [m.event_id for m in store.unpublished_statuses()] == ["waiting"]
    assert store.prune_history(T0 + timedelta(seconds=100)) == 0


def test_events_handed_on_before_the_cutoff_are_forgotten(store: Store, clock: FakeClock) -> None:
    handed_on = upserted("S1", 1, event_id="handed-on")
    stuck = stock("S2", 1, event_id="stuck")
    store.record_event(handed_on)
    store.record_event(stuck)
    store.mark_dispatched("handed-on")
    clock.advance(3600)
    later = stock("S1", 2, event_id="later")
    store.record_event(later)
    store.mark_dispatched("later")

    assert store.prune_history(clock.now - timedelta(seconds=60)) == 1

    # Forgotten: the same event again is no duplicate, and its version decides.
    assert store.record_event(handed_on).outcome is RecordOutcome.SUPERSEDED
    # Kept: never handed on (however old), and the recent one.
    assert store.record_event(stuck).outcome is RecordOutcome.DUPLICATE
    assert store.record_event(later).outcome is RecordOutcome.DUPLICATE


def test_pruning_goes_on_batch_after_batch(store: Store) -> None:
    for n in range(5):
        store.add_status(message(f"e{n}", Status.UNCHANGED, n))
    store.mark_statuses_published([(f"e{n}", Status.UNCHANGED) for n in range(5)])

    assert store.prune_history(T0 + timedelta(seconds=4), batch=2) == 4
    assert [m.event_id for m in store.iter_history()] == ["e4"]
    with pytest.raises(ValueError, match="batch must be positive"):
        store.prune_history(T0, batch=0)
