"""The client against the sandbox's token endpoint when it fails: 429 (too many tokens
issued, FACTS §2) and 5xx, during the refresh that a 401 triggered and on the expiry path.

A transient failure of the refresh is raised as itself (never as a permanent 401), a 429 is
not asked again within the minute (FACTS §3), and a token the API refused is never sent
again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks
from workers.allegro import AllegroClient, FileTokenStore, TokenSet
from workers.allegro.auth import REFUSED
from workers.allegro.errors import PermanentError, ServerError, TokenRateLimited
from workers.allegro.oauth import TOKEN_BLOCKS
from workers.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]

TOKEN = "/auth/oauth/token"


@pytest.fixture(autouse=True)
def _no_token_blocks() -> Iterator[None]:
    # Process-wide: one test's 429 or 401 must not touch the next.
    TOKEN_BLOCKS.clear()
    REFUSED.clear()
    yield
    TOKEN_BLOCKS.clear()
    REFUSED.clear()


def _store(
    sandbox: SandboxHandle, settings: Settings, now: float, **changes: Any
) -> FileTokenStore:
    store = FileTokenStore(settings.token_file)
    tokens = TokenSet.from_token_response(sandbox.issue_user_token(), now)
    store.put("default", TokenSet(**{**tokens.__dict__, **changes}))
    return store


def _calls(sandbox: SandboxHandle, since: int) -> list[tuple[str, str, int]]:
    return [(r["method"], r["path"], r["status"]) for r in sandbox.requests(since)]


def _last_seq(sandbox: SandboxHandle) -> int:
    entries = sandbox.requests()
    return int(entries[-1]["seq"]) if entries else 0


def test_refresh_429_after_a_401_defers_and_never_resends_the_refused_token(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks
) -> None:
    # The client believes its token is good for long; only the sandbox sees it expire.
    store = _store(sandbox, settings, clocks.now(), expires_at=clocks.now() + 10**6)
    refused = store.get("default")
    assert refused is not None
    sandbox.advance_clock(43_200)
    sandbox.inject_fault(method="POST", path=f"^{TOKEN}$", kind="status", status=429)
    since = _last_seq(sandbox)
    with AllegroClient(settings, store, sleep=clocks.sleep, clock=clocks.now) as client:
        with pytest.raises(TokenRateLimited) as caught:
            client.find_offers_by_external_id(["x"])
        assert not isinstance(caught.value, PermanentError)
        assert (caught.value.retry_after_s or 0) >= 60
        assert _calls(sandbox, since) == [("GET", "/sale/offers", 401), ("POST", TOKEN, 429)]

        # Within the minute: nothing is sent at all.
        since = _last_seq(sandbox)
        with pytest.raises(TokenRateLimited):
            client.find_offers_by_external_id(["x"])
        assert _calls(sandbox, since) == []

        # After it: refresh first, then the call with the new token.
        clocks.sleep(61)
        since = _last_seq(sandbox)
        client.find_offers_by_external_id(["x"])
    assert _calls(sandbox, since) == [("POST", TOKEN, 200), ("GET", "/sale/offers", 200)]
    assert clocks.sleeps == [61]  # no inline waits of the client's own
    stored = store.get("default")
    assert stored is not None
    assert stored.access_token != refused.access_token


def test_refresh_5xx_after_a_401_is_transient_and_the_next_call_refreshes_first(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks
) -> None:
    store = _store(sandbox, settings, clocks.now(), expires_at=clocks.now() + 10**6)
    sandbox.advance_clock(43_200)
    attempts = settings.retry_max_attempts
    sandbox.inject_fault(
        method="POST", path=f"^{TOKEN}$", kind="status", status=503, count=attempts
    )
    since = _last_seq(sandbox)
    with AllegroClient(settings, store, sleep=clocks.sleep, clock=clocks.now) as client:
        with pytest.raises(ServerError):
            client.find_offers_by_external_id(["x"])
        calls = _calls(sandbox, since)
        assert calls == [("GET", "/sale/offers", 401)] + [("POST", TOKEN, 503)] * attempts
        since = _last_seq(sandbox)
        client.find_offers_by_external_id(["x"])
    assert _calls(sandbox, since) == [("POST", TOKEN, 200), ("GET", "/sale/offers", 200)]


def test_token_429_on_the_expiry_path_keeps_the_still_valid_token(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks
) -> None:
    store = _store(sandbox, settings, clocks.now())
    clocks.sleep(43_199 - 30)  # 30 s left: due for renewal, still valid
    sandbox.inject_fault(method="POST", path=f"^{TOKEN}$", kind="status", status=429)
    since = _last_seq(sandbox)
    with AllegroClient(settings, store, sleep=clocks.sleep, clock=clocks.now) as client:
        client.find_offers_by_external_id(["x"])
        client.find_offers_by_external_id(["x"])
    assert _calls(sandbox, since) == [
        ("POST", TOKEN, 429),
        ("GET", "/sale/offers", 200),
        ("GET", "/sale/offers", 200),
    ]


def test_clients_on_one_store_ask_for_one_application_token(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks
) -> None:
    store = FileTokenStore(settings.token_file)
    since = _last_seq(sandbox)
    clients = [
        AllegroClient(settings, store, account=account, sleep=clocks.sleep, clock=clocks.now)
        for account in ("shop-1", "shop-2", "shop-3")
    ]
    for client in clients:
        client.get_category("165")  # a bearer-token-for-application endpoint
    for client in clients:
        client.close()
    # Closing the last client drops the token, as closing a client always did.
    with AllegroClient(settings, store, sleep=clocks.sleep, clock=clocks.now) as client:
        client.get_category("165")
    grants = [
        (r.get("body") or {}).get("grant_type")
        for r in sandbox.requests(since)
        if r["path"] == TOKEN
    ]
    assert grants == ["client_credentials"] * 2
