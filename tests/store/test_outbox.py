"""The status outbox and replays: every status is recorded unpublished until RabbitMQ
confirmed it; a FAILED event may end once more (the replay's outcome), and only then."""

from __future__ import annotations

from collections.abc import Callable

from schemas.status import Status
from tests.store._proc import run_together
from tests.store.conftest import FakeClock
from tests.store.test_status import message
from workers.store import Store


def test_a_status_is_unpublished_until_marked(store: Store, clock: FakeClock) -> None:
    published = message("e1", Status.PUBLISHED, 0)
    assert store.add_status(published)

    entry = store.terminal_entry("e1")
    assert entry is not None
    assert (entry.message, entry.published, entry.chain) == (published, False, 0)
    assert store.unpublished_statuses() == [published]

    clock.advance(2)
    store.mark_status_published("e1", Status.PUBLISHED)
    store.mark_status_published("e1", Status.PUBLISHED)  # idempotent: the first time stays

    entry = store.terminal_entry("e1")
    assert entry is not None and entry.published and entry.published_at == clock.now
    assert store.unpublished_statuses() == []
    assert store.terminal_entry("nothing") is None


def test_marking_another_status_of_the_event_marks_nothing(store: Store) -> None:
    store.add_status(message("e1", Status.UPDATED, 0))

    store.mark_status_published("e1", Status.ENDED)
    store.mark_status_published("e2", Status.UPDATED)

    entry = store.terminal_entry("e1")
    assert entry is not None and not entry.published


def test_the_outbox_is_read_oldest_first_after_a_minimum_age(
    store: Store, clock: FakeClock
) -> None:
    store.add_status(message("old", Status.UNCHANGED, 0))
    clock.advance(5)
    store.add_status(message("mid", Status.ENDED, 0))
    store.add_status(message("done", Status.ENDED, 0))
    store.mark_status_published("done", Status.ENDED)
    clock.advance(5)
    store.add_status(message("new", Status.UPDATED, 0))

    def ids(limit: int = 100, min_age_s: float = 0.0) -> list[str | None]:
        return [m.event_id for m in store.unpublished_statuses(limit, min_age_s=min_age_s)]

    assert ids() == ["old", "mid", "new"]
    assert ids(min_age_s=5) == ["old", "mid"]  # recorded at least 5 s ago, store clock
    assert ids(min_age_s=6) == ["old"]
    assert ids(limit=2) == ["old", "mid"]


def test_statuses_without_an_event_id_are_not_in_the_outbox(store: Store) -> None:
    unreadable = message("x", Status.REJECTED, 0).model_copy(
        update={"event_id": None, "sku": None, "account": None, "version": None}
    )
    assert store.add_status(unreadable)
    assert store.unpublished_statuses() == []


def test_a_failed_event_may_end_once_more_per_failure(store: Store) -> None:
    failed = message("e1", Status.FAILED, 0)
    replayed = message("e1", Status.PUBLISHED, 10, attempts=1)
    assert store.add_status(failed)
    store.mark_status_published("e1", Status.FAILED)

    assert store.add_status(replayed)  # the replay's outcome: a new chain
    assert not store.add_status(message("e1", Status.UPDATED, 11))  # exactly one more
    assert not store.add_status(replayed)

    entry = store.terminal_entry("e1")
    assert entry is not None
    assert (entry.message, entry.chain, entry.published) == (replayed, 1, False)
    assert store.terminal_status("e1") == replayed
    assert store.unpublished_statuses() == [replayed]
    assert [m.status for m in store.history("default", "A1")] == ["PUBLISHED", "FAILED"]


def test_a_replay_that_fails_again_opens_one_more_chain(store: Store) -> None:
    assert store.add_status(message("e1", Status.FAILED, 0))
    assert store.add_status(message("e1", Status.FAILED, 1))
    assert store.add_status(message("e1", Status.ENDED, 2))
    assert not store.add_status(message("e1", Status.FAILED, 3))
    entry = store.terminal_entry("e1")
    assert entry is not None and (entry.message.status, entry.chain) == (Status.ENDED, 2)


def test_an_outcome_other_than_failed_closes_the_event(store: Store) -> None:
    for first in (Status.REJECTED, Status.SUPERSEDED, Status.UNCHANGED):
        event_id = f"e-{first}"
        assert store.add_status(message(event_id, first, 0))
        assert not store.add_status(message(event_id, Status.PUBLISHED, 1))
        assert not store.add_status(message(event_id, Status.FAILED, 1))


def test_two_processes_replaying_one_failed_event_store_one_outcome(
    store: Store, store_url: str, make_store: Callable[..., Store]
) -> None:
    events = [f"race-{n}" for n in range(20)]
    for event_id in events:
        store.add_status(message(event_id, Status.FAILED, 0))

    results = run_together(
        ["add-statuses", store_url, "PUBLISHED", *events],
        ["add-statuses", store_url, "UPDATED", *events],
    )

    # Every event took exactly one of the two outcomes, in chain 1.
    taken = [a != b for a, b in zip(results[0], results[1], strict=True)]
    assert all(taken), results
    for event_id in events:
        entry = store.terminal_entry(event_id)
        assert entry is not None and entry.chain == 1
        assert entry.message.status in (Status.PUBLISHED, Status.UPDATED)
