"""The status history: one terminal status per event, newest first, time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas.status import Status, StatusError, StatusMessage
from workers.store import Store, _common

T0 = datetime(2026, 7, 18, 12, 0, tzinfo=UTC)


def message(event_id: str, status: Status, at_s: float, **fields: object) -> StatusMessage:
    values: dict[str, object] = {
        "event_id": event_id,
        "sku": "A1",
        "account": "default",
        "version": 1,
        "status": status,
        "at": T0 + timedelta(seconds=at_s),
    }
    if status in (Status.PUBLISHED, Status.UPDATED):
        values["offer_id"] = "7712345678"
    if status in (Status.REJECTED, Status.FAILED):
        values["errors"] = [StatusError(code="X", message="why", user_message="fix it")]
    return StatusMessage.model_validate({**values, **fields})


def test_second_terminal_status_of_an_event_is_refused(store: Store) -> None:
    first = message("e1", Status.PUBLISHED, 0, trace_id="trace-1", attempts=2)
    assert store.add_status(first)
    assert not store.add_status(message("e1", Status.FAILED, 1))
    assert not store.add_status(first)
    assert store.terminal_status("e1") == first
    assert store.history("default", "A1") == [first]
    assert store.terminal_status("e2") is None


def test_history_is_newest_first_and_limited(store: Store) -> None:
    messages = [
        message("e1", Status.PUBLISHED, 0, version=1),
        message("e2", Status.UPDATED, 10, version=2),
        message("e3", Status.REJECTED, 20, version=3),
        message("e4", Status.ENDED, 20, version=4),  # same time: insertion order decides
    ]
    for item in (messages[2], messages[0], messages[3], messages[1]):
        assert store.add_status(item)
    store.add_status(message("x1", Status.UNCHANGED, 5, sku="B2"))
    history = store.history("default", "A1")
    assert [item.event_id for item in history] == ["e4", "e3", "e2", "e1"]
    assert history[1] == messages[2]  # errors survive the round trip
    assert [item.event_id for item in store.history("default", "A1", limit=2)] == ["e4", "e3"]
    assert store.history("default", "B2")[0].status is Status.UNCHANGED
    assert store.history("default", "nothing") == []


def test_iter_history_in_time_order(store: Store) -> None:
    for index, at_s in enumerate([30, 10, 20, 10]):
        store.add_status(message(f"e{index}", Status.UNCHANGED, at_s))
    assert [item.event_id for item in store.iter_history()] == ["e1", "e3", "e2", "e0"]
    since = T0 + timedelta(seconds=20)
    assert [item.event_id for item in store.iter_history(since)] == ["e2", "e0"]
    assert list(store.iter_history(T0 + timedelta(days=1))) == []


def test_iter_history_pages_through_many(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "HISTORY_PAGE", 4)
    count = 23  # several pages, the last one partial; pages split equal times
    for index in range(count):
        store.add_status(message(f"e{index}", Status.UNCHANGED, index // 3))
    seen = [item.event_id for item in store.iter_history()]
    assert seen == [f"e{index}" for index in range(count)]


def test_rejected_without_identity_is_kept(store: Store) -> None:
    unreadable = StatusMessage(
        event_id=None,
        sku=None,
        account=None,
        version=None,
        status=Status.REJECTED,
        at=T0,
        errors=[StatusError(code="EVENT_NOT_JSON", message="body: is not valid JSON")],
    )
    assert store.add_status(unreadable)
    assert store.add_status(unreadable)  # no event id: nothing to deduplicate by
    assert list(store.iter_history()) == [unreadable, unreadable]


def test_times_come_back_in_utc(store: Store) -> None:
    local = datetime(2026, 7, 18, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    item = message("e1", Status.ENDED, 0, at=local)
    store.add_status(item)
    got = store.terminal_status("e1")
    assert got is not None
    assert got.at == datetime(2026, 7, 18, 14, 0, tzinfo=UTC)
    assert got.at.utcoffset() == timedelta(0)
