"""Idle accounts stay connected: the worker refreshes a stored pair older than 60 days (a
refresh token lasts 3 months, rolling with each refresh: FACTS §2), at boot and then daily;
failures are logged and looked at again later, never raised."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from structlog.testing import capture_logs

from tests.unit.allegro.conftest import API, AUTH, FakeAllegro, FakeClock
from workers import worker
from workers.allegro.auth import REFUSED
from workers.allegro.oauth import TOKEN_BLOCKS
from workers.allegro.tokens import TokenSet
from workers.settings import Settings
from workers.store import Store
from workers.store.sqlite import SQLiteStore

DAY_S = 86400.0


@pytest.fixture(autouse=True)
def _no_token_blocks() -> Iterator[None]:
    TOKEN_BLOCKS.clear()
    REFUSED.clear()
    yield
    TOKEN_BLOCKS.clear()
    REFUSED.clear()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        api_url=API,
        auth_url=AUTH,
        client_id="client-id",
        client_secret="client-secret-value",
        database_url=f"sqlite:///{tmp_path / 'feed.db'}",
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake() -> FakeAllegro:
    allegro = FakeAllegro()
    allegro.on("POST", "/auth/oauth/token", allegro.token_endpoint)
    return allegro


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = SQLiteStore(tmp_path / "feed.db")
    opened.migrate()
    yield opened
    opened.close()


def _pair(name: str, clock: FakeClock, *, age_days: float, **binding: str) -> TokenSet:
    issued = clock.now - age_days * DAY_S
    return TokenSet(
        f"access-{name}",
        f"refresh-{name}",
        expires_at=issued + 43199,
        issued_at=issued,
        **binding,
    )


def _refreshed_with(fake: FakeAllegro) -> list[str]:
    forms = [
        dict(httpx.QueryParams(r.content.decode())) for r in fake.calls("POST", "/auth/oauth/token")
    ]
    return [form.get("refresh_token", "") for form in forms]


def test_only_pairs_older_than_60_days_are_refreshed(
    settings: Settings, store: Store, fake: FakeAllegro, clock: FakeClock
) -> None:
    store.put("idle", _pair("idle", clock, age_days=61))
    store.put("busy", _pair("busy", clock, age_days=1))
    store.put("edge", _pair("edge", clock, age_days=59.9))
    # Stored before issue times were recorded: issued 12 h before its expiry (70 days ago).
    store.put("legacy", TokenSet("access-legacy", "refresh-legacy", clock.now - 70 * DAY_S))
    with capture_logs() as logs:
        done = worker.renew_idle_tokens(
            settings, store, clock=clock, sleep=clock.sleep, transport=fake.transport()
        )
    assert done is True
    assert sorted(_refreshed_with(fake)) == ["refresh-idle", "refresh-legacy"]
    for account in ("idle", "legacy"):
        renewed = store.get(account)
        assert renewed is not None
        assert renewed.issued_at == clock.now and renewed.auth_base_url == AUTH
    assert store.get("busy") == _pair("busy", clock, age_days=1)
    assert {e["account"] for e in logs if e["event"] == "worker.idle_tokens_renewed"} == {
        "idle",
        "legacy",
    }
    # A day later only the pair that has grown past 60 days meanwhile.
    clock.now += DAY_S
    fake.requests.clear()
    assert worker.renew_idle_tokens(settings, store, clock=clock, transport=fake.transport())
    assert _refreshed_with(fake) == ["refresh-edge"]
    # Looking again at once asks nothing: every pair is recent now.
    fake.requests.clear()
    assert worker.renew_idle_tokens(settings, store, clock=clock, transport=fake.transport())
    assert fake.requests == []


def test_failures_are_logged_without_secrets_and_the_others_go_on(
    settings: Settings, store: Store, fake: FakeAllegro, clock: FakeClock
) -> None:
    store.put("a-elsewhere", _pair("elsewhere", clock, age_days=80, client_id="old-app"))
    store.put("b-refused", _pair("refused", clock, age_days=80))
    store.put("c-down", _pair("down", clock, age_days=80))
    store.put("d-idle", _pair("idle", clock, age_days=80))

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        if form["refresh_token"] == "refresh-refused":
            return httpx.Response(
                400,
                json={"error": "invalid_grant", "error_description": "Invalid refresh token"},
            )
        if form["refresh_token"] == "refresh-down":
            return httpx.Response(503, text="unavailable")
        return fake.token_endpoint(request)

    fake.on("POST", "/auth/oauth/token", token_endpoint)
    with capture_logs() as logs:
        done = worker.renew_idle_tokens(
            settings, store, clock=clock, sleep=clock.sleep, transport=fake.transport()
        )
    assert done is False  # the 503 is transient: look again soon
    failed = {e["account"]: e for e in logs if e["event"] == "worker.token_renewal_failed"}
    assert set(failed) == {"a-elsewhere", "b-refused", "c-down"}
    assert failed["a-elsewhere"]["error"] == "ConnectedElsewhere"
    assert failed["b-refused"]["error"] == "InvalidGrant"
    assert "retry_in_s" in failed["c-down"] and "retry_in_s" not in failed["b-refused"]
    renewed = store.get("d-idle")
    assert renewed is not None and renewed.refresh_token == "refresh-1"
    assert "refresh-elsewhere" not in _refreshed_with(fake)  # never sent elsewhere
    text = repr(logs)
    for secret in ("refresh-refused", "refresh-down", "access-idle", "refresh-1", "access-1"):
        assert secret not in text, secret


class _Store:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_keeper_schedule(settings: Settings) -> None:
    results = iter([True, False])
    keeper = worker.TokenKeeper(
        settings,
        open_store=lambda _url: cast(Store, _Store()),
        check=lambda _s, _store: next(results),
    )
    assert keeper.check_once() == worker.TOKEN_CHECK_INTERVAL_S
    assert keeper.check_once() == worker.TOKEN_RETRY_S


def test_keeper_survives_a_store_that_cannot_be_opened(settings: Settings) -> None:
    def refuse(_url: str) -> Store:
        raise OSError("no such database")

    keeper = worker.TokenKeeper(settings, open_store=refuse)
    with capture_logs() as logs:
        assert keeper.check_once() == worker.TOKEN_RETRY_S
    assert [e["error"] for e in logs if e["event"] == "worker.token_check_failed"] == ["OSError"]


def test_keeper_looks_at_start_and_stops(settings: Settings) -> None:
    looked = threading.Event()
    looks: list[int] = []
    opened = _Store()

    def check(_settings: Settings, _store: object) -> bool:
        looks.append(1)
        looked.set()
        return True

    keeper = worker.TokenKeeper(
        settings,
        open_store=lambda _url: cast(Store, opened),
        check=check,
    )
    keeper.start()
    assert looked.wait(10)
    keeper.stop()
    assert looks == [1]  # the next look is a day away
    assert opened.closed


class _NoKeeper:
    def start(self) -> None: ...

    def stop(self) -> None: ...


def test_run_worker_keeps_tokens_beside_its_parts(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    class Keeper:
        def __init__(self, _settings: Settings) -> None:
            calls.append("made")

        def start(self) -> None:
            calls.append("start")

        def stop(self) -> None:
            calls.append("stop")

    monkeypatch.setattr(worker, "TokenKeeper", Keeper)
    monkeypatch.setattr(worker, "HistoryKeeper", lambda _settings: _NoKeeper())
    monkeypatch.setattr(worker, "_declare_topology", lambda _settings: None)
    monkeypatch.setattr(worker._Supervisor, "start", lambda *_a, **_k: calls.append("part"))
    monkeypatch.setattr(worker._Supervisor, "run", lambda _self: worker.EXIT_OK)
    assert worker.run_worker(settings, actors=False) == worker.EXIT_OK
    assert calls == ["made", "start", "part", "part", "stop"]
    calls.clear()
    assert worker.run_worker(settings, actors=False, keep_tokens=False) == worker.EXIT_OK
    assert calls == ["part", "part"]
