"""What the tests of the budget around the Allegro client share: a fake Allegro behind
``httpx.MockTransport``, a clock that moves when slept on, and clients of the sellers
``shop`` and ``other`` on a budget of the test's choosing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.budget.contract import START, FakeClock
from workers.allegro import AllegroClient, FileTokenStore, TokenSet
from workers.budget import BudgetConfig, RateBudget
from workers.settings import Settings

API = "https://api.allegro.test"
AUTH = "https://auth.allegro.test"
COMMAND = "11111111-2222-3333-4444-555555555555"

#: ``make_client(budget, account="shop")``: a client of a seller on ``budget``.
MakeClient = Callable[..., AllegroClient]


class SleepingClock(FakeClock):
    """A clock whose ``sleep`` moves it on and records the waits."""

    def __init__(self) -> None:
        super().__init__(START)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class FakeAllegro:
    """Answers every API request with the next scripted status (200 when none is left)."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    sent: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            body = {"access_token": "app", "token_type": "bearer", "expires_in": 43199}
            return httpx.Response(200, json=body)
        self.sent.append(request)
        status, headers = self.script.pop(0) if self.script else (200, {})
        if status != 200:
            return httpx.Response(status, json={"errors": []}, headers=headers)
        if request.url.path == "/sale/offers":
            return httpx.Response(200, json={"offers": [], "count": 0, "totalCount": 0})
        if "-commands/" in request.url.path:
            body = {
                "id": COMMAND,
                "createdAt": "2026-07-18T12:00:00Z",
                "completedAt": None,
                "taskCount": {"total": 0, "success": 0, "failed": 0},
            }
            return httpx.Response(201, json=body)
        return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[-1]})

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.sent]


def config(**changes: Any) -> BudgetConfig:
    fields: dict[str, Any] = {
        "client_per_min": 100,
        "offer_writes_per_min": 2,
        "offer_writes_per_hour": 100,
        "batch_changes_per_min": 1500,
        "buckets_per_window": 60,
        "client_key": "client-id",
    }
    return BudgetConfig(**{**fields, **changes})


@pytest.fixture
def clock() -> SleepingClock:
    return SleepingClock()


@pytest.fixture
def fake() -> FakeAllegro:
    return FakeAllegro()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        api_url=API,
        auth_url=AUTH,
        client_id="client-id",
        client_secret="client-secret-value",
        token_file=tmp_path / "tokens.json",
        retry_max_attempts=4,
        retry_max_time_s=120,
        retry_after_max_s=10,
    )


@pytest.fixture
def make_client(
    settings: Settings, fake: FakeAllegro, clock: SleepingClock
) -> Iterator[MakeClient]:
    tokens = FileTokenStore(settings.token_file)
    for account in ("shop", "other"):
        tokens.put(account, TokenSet("user-access", "user-refresh", expires_at=START + 3600))
    made: list[AllegroClient] = []

    def make(budget: RateBudget, account: str = "shop") -> AllegroClient:
        client = AllegroClient(
            settings,
            tokens,
            account=account,
            transport=httpx.MockTransport(fake.handle),
            sleep=clock.sleep,
            clock=clock,
            budget=budget,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
