"""Failures around getting a token: a refresh that fails for a transient reason, a 429
of the token endpoint, a refreshed pair the store does not take.

FACTS §2: the token endpoint answers 429 when too many tokens are issued; refresh tokens
are single-use (the old one works 60 s more). §3: back off yourself (≥ 60 s) after a 429,
asking while blocked makes the block longer. §8: 429 and 5xx are transient.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, cast

import httpx
import pytest
from structlog.testing import capture_logs

from tests.unit.allegro.conftest import FakeAllegro, FakeClock, reply
from workers.allegro import AllegroClient, FileTokenStore, TokenSet
from workers.allegro._retry import Retry, RetryPolicy
from workers.allegro.auth import AppTokens
from workers.allegro.errors import (
    TOKEN_RATE_LIMIT_MIN_S,
    PermanentError,
    ServerError,
    TokenRateLimited,
    TransientError,
)
from workers.allegro.oauth import REFRESH_RETRY_MAX_S, OAuthClient
from workers.settings import Settings

OFFER = "/sale/product-offers/1"
TOKEN = "/auth/oauth/token"


def _offer_api(fake: FakeAllegro, refused: set[str]) -> None:
    """GET offer: 401 for the tokens in ``refused``, 200 otherwise."""

    def api(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].split()[-1]
        if token in refused:
            return reply(401, {"error": "invalid_token", "error_description": "expired"})
        return reply(200, {"id": "1", "name": "x"})

    fake.on("GET", OFFER, api)


def _sent_tokens(fake: FakeAllegro) -> list[str]:
    return [r.headers["authorization"].split()[-1] for r in fake.calls("GET", OFFER)]


def _client(settings: Settings, store: Any, fake: FakeAllegro, clock: FakeClock) -> AllegroClient:
    return AllegroClient(
        settings, store, transport=fake.transport(), sleep=clock.sleep, clock=clock
    )


# --- a transient failure of the refresh a 401 triggered (audit #2) ------------------------


def test_refresh_429_after_401_is_transient_and_the_refused_token_is_not_resent(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    _offer_api(fake, {"user-access-0"})
    fake.on("POST", TOKEN, reply(429, {}), fake.token_endpoint)
    with _client(settings, store, fake, clock) as allegro:
        with pytest.raises(TokenRateLimited) as caught:
            allegro.get_offer("1")
        error = caught.value
        assert isinstance(error, TransientError)
        assert not isinstance(error, PermanentError)
        assert error.retry_after_s is not None
        assert error.retry_after_s >= TOKEN_RATE_LIMIT_MIN_S
        assert error.maybe_applied is False
        # One GET, one token request: no immediate retry of the 429, no re-send of the
        # refused token.
        assert len(fake.calls("POST", TOKEN)) == 1
        assert _sent_tokens(fake) == ["user-access-0"]

        # Still blocked: nothing is sent, neither to the token endpoint nor the API.
        clock.now += 30
        with pytest.raises(TokenRateLimited) as again:
            allegro.get_offer("1")
        assert again.value.retry_after_s == pytest.approx(30)
        assert len(fake.requests) == 2

        # Once the block is over: refresh first, then the GET with the new token.
        clock.now += 31
        assert allegro.get_offer("1").id == "1"
    assert len(fake.calls("POST", TOKEN)) == 2
    assert _sent_tokens(fake) == ["user-access-0", "access-1"]
    assert clock.sleeps == []  # nothing waited inline
    stored = store.get("default")
    assert stored is not None
    assert stored.access_token == "access-1"


def test_refresh_5xx_after_401_is_raised_as_itself_not_unauthorized(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    _offer_api(fake, {"user-access-0"})
    fake.on("POST", TOKEN, reply(503, {}))
    with _client(settings, store, fake, clock) as allegro:
        with pytest.raises(ServerError) as caught:
            allegro.get_offer("1")
        assert caught.value.while_authenticating
        assert caught.value.maybe_applied is False  # the GET was refused, not applied
        # The refresh had its own retries; the GET is not sent again.
        assert len(fake.calls("POST", TOKEN)) == settings.retry_max_attempts
        assert _sent_tokens(fake) == ["user-access-0"]

        # The next call (the actor's retry) refreshes before sending anything.
        fake.on("POST", TOKEN, fake.token_endpoint)
        assert allegro.get_offer("1").id == "1"
    assert _sent_tokens(fake) == ["user-access-0", "access-1"]


def test_a_second_401_after_a_successful_refresh_is_unauthorized(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    _offer_api(fake, {"user-access-0", "access-1"})
    with _client(settings, store, fake, clock) as allegro, pytest.raises(PermanentError):
        allegro.get_offer("1")
    assert _sent_tokens(fake) == ["user-access-0", "access-1"]


def test_the_refresh_retries_stay_within_the_refresh_token_grace(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    slow = settings.model_copy(update={"retry_max_attempts": 20, "retry_max_time_s": 600})
    _offer_api(fake, {"user-access-0"})
    fake.on("POST", TOKEN, reply(503, {}))
    started = clock.now
    with _client(slow, store, fake, clock) as allegro, pytest.raises(ServerError):
        allegro.get_offer("1")
    assert clock.now - started <= REFRESH_RETRY_MAX_S < 60


# --- a 429 of the token endpoint (audit #3) -----------------------------------------------


def test_token_429_on_the_expiry_path_keeps_using_the_still_valid_token(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    store.put("default", TokenSet("user-access-0", "user-refresh-0", clock.now + 30))
    _offer_api(fake, set())
    fake.on("POST", TOKEN, reply(429, {}))
    with capture_logs() as logs, _client(settings, store, fake, clock) as allegro:
        assert allegro.get_offer("1").id == "1"
        assert allegro.get_offer("1").id == "1"
    assert len(fake.calls("POST", TOKEN)) == 1  # the second call knew about the block
    assert _sent_tokens(fake) == ["user-access-0", "user-access-0"]
    deferred = [e for e in logs if e["event"] == "allegro.token_renewal_deferred"]
    assert len(deferred) == 1  # logged once per token, not once per call


def test_token_429_blocks_every_client_of_the_process_for_a_minute(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    store.put("default", TokenSet("user-access-0", "user-refresh-0", clock.now + 5))
    _offer_api(fake, set())
    fake.on("POST", TOKEN, reply(429, {}, headers={"Retry-After": "3"}))
    first, second = _client(settings, store, fake, clock), _client(settings, store, fake, clock)
    with first, second:
        with pytest.raises(TokenRateLimited) as caught:
            first.get_offer("1")
        # Retry-After of 3 s is raised to the minute FACTS §3 asks for.
        assert caught.value.retry_after_s == TOKEN_RATE_LIMIT_MIN_S
        with pytest.raises(TokenRateLimited):
            second.get_offer("1")
        # Application tokens are another subject: not blocked by the seller's block.
        fake.on("GET", "/sale/categories/165", reply(200, {"id": "165", "name": "c"}))
        fake.on("POST", TOKEN, fake.token_endpoint)
        second.get_category("165")
    assert len(fake.calls("POST", TOKEN)) == 2  # the refresh once, the app token once
    assert fake.calls("GET", OFFER) == []


def test_token_rate_limited_is_never_retried_inline(settings: Settings) -> None:
    patient = settings.model_copy(update={"retry_after_max_s": 600})
    policy = RetryPolicy(patient)
    error = TokenRateLimited("blocked", retry_after_s=60, maybe_applied=False)
    assert not policy.retryable(error, Retry.SAFE)
    marked = ServerError("token endpoint down")
    marked.while_authenticating = True
    assert not policy.retryable(marked, Retry.SAFE)
    assert policy.retryable(ServerError("api down"), Retry.SAFE)


def test_app_token_refused_then_blocked_does_not_resend_the_refused_token(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    path = "/sale/categories/165"
    seen: list[str] = []

    def categories(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].split()[-1]
        seen.append(token)
        if token == "access-1":
            return reply(401, {"error": "invalid_token"})
        return reply(200, {"id": "165", "name": "c"})

    fake.on("GET", path, categories)
    fake.on("POST", TOKEN, fake.token_endpoint, reply(429, {}), fake.token_endpoint)
    with _client(settings, store, fake, clock) as allegro:
        with pytest.raises(TokenRateLimited):
            allegro.get_category("165")
        clock.now += 61
        allegro.get_category("165")
    assert seen == ["access-1", "access-2"]


class _AppIssuer:
    """Stands in for OAuthClient.client_credentials: hands out (or raises) ``answers`` in
    turn, the last one for good."""

    def __init__(self, *answers: TokenSet | Exception) -> None:
        self.answers = list(answers)
        self.asked = 0

    def client_credentials(self) -> TokenSet:
        self.asked += 1
        answer = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_refresh_never_hands_out_an_app_token_refused_meanwhile(clock: FakeClock) -> None:
    blocked = TokenRateLimited("blocked", retry_after_s=60, maybe_applied=False)
    issuer = _AppIssuer(
        TokenSet("app-1", None, clock.now + 3600),
        TokenSet("app-2", None, clock.now + 3600),
        blocked,
    )
    tokens = AppTokens(cast(OAuthClient, issuer), clock=clock)
    assert tokens.access_token() == "app-1"  # two callers send it
    assert tokens.refresh("app-1") == "app-2"  # the first one's 401
    with pytest.raises(TokenRateLimited):
        tokens.refresh("app-2")  # refused too; no new token for now
    # The second caller's 401 for app-1: app-2 is cached, but Allegro refused it.
    with pytest.raises(TokenRateLimited):
        tokens.refresh("app-1")
    with pytest.raises(TokenRateLimited):
        tokens.access_token()
    assert issuer.asked == 5


# --- a refreshed pair the store does not take (audit #4) ---------------------------------


class _FlakyStore:
    """A FileTokenStore whose ``put`` fails while ``failing`` is true."""

    def __init__(self, inner: FileTokenStore) -> None:
        self.inner = inner
        self.failing = True
        self.puts = 0

    def get(self, account: str) -> TokenSet | None:
        return self.inner.get(account)

    def put(self, account: str, tokens: TokenSet) -> None:
        self.puts += 1
        if self.failing:
            raise ConnectionError("database unavailable (password=hunter2hunter2)")
        self.inner.put(account, tokens)

    def refresh_lock(self, account: str) -> AbstractContextManager[None]:
        return self.inner.refresh_lock(account)


@pytest.fixture
def flaky(store: FileTokenStore) -> Iterator[_FlakyStore]:
    yield _FlakyStore(store)


def test_refreshed_pair_is_kept_and_used_when_the_store_fails(
    settings: Settings, flaky: _FlakyStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    _offer_api(fake, {"user-access-0"})
    with capture_logs() as logs, _client(settings, flaky, fake, clock) as allegro:
        assert allegro.get_offer("1").id == "1"  # refreshed, the store refused the pair
        assert flaky.puts == 3  # tried a few times, with a short backoff
        assert clock.sleeps  # (waited between the tries)
        stored = flaky.inner.get("default")
        assert stored is not None
        assert stored.access_token == "user-access-0"
        assert allegro.get_offer("1").id == "1"  # the new pair is used from memory
        assert _sent_tokens(fake) == ["user-access-0", "access-1", "access-1"]

        # The store is back: a later call stores the pair, before any new refresh.
        flaky.failing = False
        clock.now += 10
        allegro.get_offer("1")
    stored = flaky.inner.get("default")
    assert stored is not None
    assert stored.access_token == "access-1"
    assert stored.refresh_token == "refresh-1"
    assert len(fake.calls("POST", TOKEN)) == 1
    warnings = [e for e in logs if e["event"] == "allegro.tokens_not_saved"]
    assert warnings
    text = repr(warnings)
    for secret in ("access-1", "refresh-1", "hunter2hunter2"):
        assert secret not in text


def test_the_next_refresh_starts_from_the_unsaved_pair(
    settings: Settings, flaky: _FlakyStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    _offer_api(fake, {"user-access-0"})
    with _client(settings, flaky, fake, clock) as allegro:
        allegro.get_offer("1")  # refresh-0 used; the pair with refresh-1 is not stored
        clock.now += 43_200  # access-1 expires; the store is still down
        allegro.get_offer("1")
    refreshes = [dict(httpx.QueryParams(r.content.decode())) for r in fake.calls("POST", TOKEN)]
    # Never the used refresh-0 again: Allegro would refuse it (invalid_grant) after 60 s.
    assert [f["refresh_token"] for f in refreshes] == ["user-refresh-0", "refresh-1"]
    assert _sent_tokens(fake)[-1] == "access-2"


def test_a_newer_pair_stored_by_another_process_wins_over_the_unsaved_one(
    settings: Settings, flaky: _FlakyStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    _offer_api(fake, {"user-access-0"})
    with _client(settings, flaky, fake, clock) as allegro:
        allegro.get_offer("1")  # access-1 kept in memory only
        flaky.inner.put("default", TokenSet("other-access", "other-refresh", clock.now + 3600))
        flaky.failing = False
        clock.now += 10
        allegro.get_offer("1")
    stored = flaky.inner.get("default")
    assert stored is not None
    assert stored.access_token == "other-access"
    assert _sent_tokens(fake)[-1] == "other-access"


def test_no_client_of_the_process_sends_a_token_allegro_refused(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    _offer_api(fake, {"user-access-0"})
    fake.on("POST", TOKEN, reply(503, {}))
    first, second = _client(settings, store, fake, clock), _client(settings, store, fake, clock)
    with first, second:
        second.user_tokens()  # holds user-access-0 in memory too
        with pytest.raises(ServerError):
            first.get_offer("1")  # 401, and the refresh fails
        fake.on("POST", TOKEN, fake.token_endpoint)
        assert second.get_offer("1").id == "1"  # refreshes first: never sends the refused one
    assert _sent_tokens(fake) == ["user-access-0", "access-1"]
