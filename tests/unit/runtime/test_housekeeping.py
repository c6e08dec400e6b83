"""History retention in `allegro-feed worker`: prune_history on a real SQLite store, the
HistoryKeeper's schedule, and run_worker starting it unless the history is kept forever."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from schemas.status import Status, StatusMessage
from workers import housekeeping, worker
from workers.settings import Settings
from workers.store import Store, open_store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'feed.db'}", history_days=30)


def _status(event_id: str, at: datetime) -> StatusMessage:
    return StatusMessage(
        event_id=event_id, sku="S1", account="default", version=1, status=Status.UNCHANGED, at=at
    )


def test_statuses_older_than_the_history_days_are_pruned(settings: Settings) -> None:
    store = open_store(settings.database_url)
    try:
        old = _status("old", datetime(2026, 1, 2, tzinfo=UTC))
        recent = _status("recent", datetime.now(UTC))
        store.add_statuses([old, recent])
        store.mark_statuses_published([("old", Status.UNCHANGED), ("recent", Status.UNCHANGED)])

        assert housekeeping.prune_history(settings.model_copy(update={"history_days": 0}), store)
        assert [m.event_id for m in store.iter_history()] == ["old", "recent"]

        with capture_logs() as logs:
            assert housekeeping.prune_history(settings, store)
        assert [m.event_id for m in store.iter_history()] == ["recent"]
        assert [e["rows"] for e in logs if e["event"] == "worker.history_pruned"] == [1]
    finally:
        store.close()


def test_the_history_keeper_prunes_hourly_and_retries_a_failure_sooner(
    settings: Settings,
) -> None:
    ok = housekeeping.HistoryKeeper(settings)
    assert ok.check_once() == housekeeping.HISTORY_PRUNE_EVERY_S
    ok.stop()

    def refuse(_url: str) -> Store:
        raise OSError("database is on fire")

    failing = housekeeping.HistoryKeeper(settings, open_store=refuse)
    with capture_logs() as logs:
        assert failing.check_once() == housekeeping.HISTORY_RETRY_S
    assert [e["error"] for e in logs if e["event"] == "worker.history_prune_failed"] == ["OSError"]


def test_run_worker_prunes_unless_the_history_is_kept_forever(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    class Keeper:
        def __init__(self, kept: Settings) -> None:
            calls.append(f"made for {kept.history_days:g} days")

        def start(self) -> None:
            calls.append("start")

        def stop(self) -> None:
            calls.append("stop")

    monkeypatch.setattr(worker, "HistoryKeeper", Keeper)
    monkeypatch.setattr(worker, "_declare_topology", lambda _settings: None)
    monkeypatch.setattr(worker._Supervisor, "start", lambda *_a, **_k: None)
    monkeypatch.setattr(worker._Supervisor, "run", lambda _self: worker.EXIT_OK)
    assert worker.run_worker(settings, actors=False, keep_tokens=False) == worker.EXIT_OK
    assert calls == ["made for 30 days", "start", "stop"]
    calls.clear()
    forever = settings.model_copy(update={"history_days": 0})
    assert worker.run_worker(forever, actors=False, keep_tokens=False) == worker.EXIT_OK
    assert calls == []
