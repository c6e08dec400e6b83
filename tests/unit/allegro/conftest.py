"""Fixtures for the Allegro client's unit tests: a scripted fake Allegro behind
``httpx.MockTransport``, a fake clock whose ``sleep`` only moves time, and settings."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from workers.allegro import AllegroClient, FileTokenStore, TokenSet
from workers.allegro.auth import REFUSED
from workers.allegro.oauth import TOKEN_BLOCKS
from workers.settings import Settings

API = "https://api.allegro.test"
AUTH = "https://auth.allegro.test"
MEDIA = "application/vnd.allegro.public.v1+json"

#: ../shared/allegro/examples relative to the repository root, when it exists.
EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "allegro" / "examples"


class FakeClock:
    """Epoch-seconds clock; ``sleep`` advances it and records the waits."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Responder = Callable[[httpx.Request], httpx.Response]


def reply(
    status: int = 200,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    trace_id: str | None = "trace-1",
) -> httpx.Response:
    all_headers = dict(headers or {})
    if trace_id:
        all_headers.setdefault("Trace-Id", trace_id)
    if body is None:
        return httpx.Response(status, headers=all_headers)
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": MEDIA, **all_headers},
    )


def errors_body(code: str, message: str = "bad", **extra: Any) -> dict[str, Any]:
    item = {
        "code": code,
        "message": message,
        "details": None,
        "path": None,
        "userMessage": message,
        **extra,
    }
    return {"errors": [item]}


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    responders: list[Responder | httpx.Response]
    repeat_last: bool = True


@dataclass
class FakeAllegro:
    """Routes requests by method and path regex to scripted responses; records requests.

    Each route answers with its responders in order; the last one repeats. Unmatched
    requests fail the test with 599.
    """

    routes: list[Route] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    tokens_issued: int = 0

    def on(self, method: str, path: str, *responses: Responder | httpx.Response) -> None:
        self.routes.insert(0, Route(method, re.compile(path + r"$"), list(responses)))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for route in self.routes:
            if route.method == request.method and route.pattern.search(request.url.path):
                item = route.responders[0]
                if len(route.responders) > 1:
                    route.responders.pop(0)
                if isinstance(item, httpx.Response):
                    return item
                return item(request)
        return httpx.Response(599, text=f"unexpected {request.method} {request.url}")

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        pattern = re.compile(path + r"$")
        return [r for r in self.requests if r.method == method and pattern.search(r.url.path)]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def token_endpoint(self, request: httpx.Request) -> httpx.Response:
        """A permissive token endpoint: every grant gets a new pair."""
        self.tokens_issued += 1
        n = self.tokens_issued
        form = dict(httpx.QueryParams(request.content.decode()))
        body: dict[str, Any] = {
            "access_token": f"access-{n}",
            "token_type": "bearer",
            "expires_in": 43199,
            "scope": "allegro_api",
        }
        if form.get("grant_type") != "client_credentials":
            body["refresh_token"] = f"refresh-{n}"
        return httpx.Response(200, json=body)


@pytest.fixture(autouse=True)
def _no_token_blocks() -> Iterator[None]:
    """Token-endpoint blocks and refused tokens are process-wide, and every test's clock
    and fake token names start the same: one test's 429 or 401 must not touch the next."""
    TOKEN_BLOCKS.clear()
    REFUSED.clear()
    yield
    TOKEN_BLOCKS.clear()
    REFUSED.clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake() -> FakeAllegro:
    allegro = FakeAllegro()
    allegro.on("POST", "/auth/oauth/token", allegro.token_endpoint)
    return allegro


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        api_url=API,
        auth_url=AUTH,
        client_id="client-id",
        client_secret="client-secret-value",
        token_file=tmp_path / "tokens.json",
        retry_max_attempts=4,
        retry_max_time_s=60,
        retry_backoff_initial_s=0.2,
        retry_backoff_max_s=5,
        retry_after_max_s=10,
        operation_poll_max_s=30,
    )


@pytest.fixture
def store(settings: Settings, clock: FakeClock) -> FileTokenStore:
    tokens = FileTokenStore(settings.token_file)
    tokens.put(
        "default",
        TokenSet("user-access-0", "user-refresh-0", expires_at=clock.now + 3600, scope="s"),
    )
    return tokens


@pytest.fixture
def client(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> Iterator[AllegroClient]:
    with AllegroClient(
        settings, store, transport=fake.transport(), sleep=clock.sleep, clock=clock
    ) as allegro:
        yield allegro
