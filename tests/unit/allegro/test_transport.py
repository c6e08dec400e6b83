"""The HTTP core, through the client: headers, redirects, Trace-Id, errors, retries, 401."""

from __future__ import annotations

import json

import httpx
import pytest
from structlog.testing import capture_logs

from tests.unit.allegro.conftest import MEDIA, FakeAllegro, FakeClock, errors_body, reply
from workers.allegro import (
    AllegroClient,
    ApiTimeout,
    ConnectionFailed,
    EditInProgress,
    FileTokenStore,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from workers.settings import Settings

OFFER = "/sale/product-offers/123"


def test_every_call_sends_media_type_language_and_bearer(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on("GET", OFFER, reply(200, {"id": "123"}))
    fake.on("PATCH", OFFER, reply(200, {"id": "123"}))
    client.get_offer("123")
    client.update_offer("123", {"name": "x"})
    get, patch = fake.calls("GET", OFFER)[0], fake.calls("PATCH", OFFER)[0]
    for request in (get, patch):
        assert request.headers["Accept"] == MEDIA
        assert request.headers["Accept-Language"] == "en-US"
        assert request.headers["Authorization"] == "Bearer user-access-0"
    assert "Content-Type" not in get.headers
    assert patch.headers["Content-Type"] == MEDIA
    assert json.loads(patch.content) == {"name": "x"}


def test_category_endpoints_use_the_application_token(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on("GET", "/sale/categories", reply(200, {"categories": [{"id": "1"}]}))
    client.list_categories()
    client.list_categories("1")
    token_calls = fake.calls("POST", "/auth/oauth/token")
    assert len(token_calls) == 1  # cached
    assert token_calls[0].headers["Authorization"].startswith("Basic ")
    assert b"grant_type=client_credentials" in token_calls[0].content
    first, second = fake.calls("GET", "/sale/categories")
    assert first.headers["Authorization"] == "Bearer access-1"
    assert second.url.params["parent.id"] == "1"


def test_redirects_are_not_followed(client: AllegroClient, fake: FakeAllegro) -> None:
    op = "/sale/product-offers/123/operations/op-1"
    fake.on("GET", op, reply(303, headers={"Location": "https://api.allegro.test" + OFFER}))
    fake.on("GET", OFFER, reply(200, {"id": "123"}))
    response = client._http.request("GET", op, ok=(303,))
    assert response.status == 303
    assert fake.calls("GET", OFFER) == []


def test_trace_id_is_logged_and_carried_by_errors(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("GET", OFFER, reply(404, errors_body("NotFound"), trace_id="trace-404"))
    with capture_logs() as logs, pytest.raises(NotFound) as caught:
        client.get_offer("123")
    assert caught.value.trace_id == "trace-404"
    assert caught.value.path == OFFER and caught.value.method == "GET"
    responses = [entry for entry in logs if entry["event"] == "allegro.response"]
    assert responses and responses[0]["trace_id"] == "trace-404"
    assert responses[0]["status"] == 404


def test_trace_id_on_models(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("GET", OFFER, reply(200, {"id": "123"}, trace_id="trace-ok"))
    assert client.get_offer("123").trace_id == "trace-ok"


def test_422_is_not_retried(client: AllegroClient, fake: FakeAllegro, clock: FakeClock) -> None:
    fake.on("PATCH", OFFER, reply(422, errors_body("ConstraintViolationException.Price")))
    with pytest.raises(ValidationFailed) as caught:
        client.update_offer("123", {"sellingMode": {"price": {"amount": "0"}}})
    assert caught.value.codes == ["ConstraintViolationException.Price"]
    assert len(fake.calls("PATCH", OFFER)) == 1
    assert clock.sleeps == []


def test_5xx_is_retried_up_to_max_attempts(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on("GET", OFFER, reply(503))
    with pytest.raises(ServerError):
        client.get_offer("123")
    assert len(fake.calls("GET", OFFER)) == 4  # retry_max_attempts
    assert len(clock.sleeps) == 3
    # exponential backoff with jitter, bounded by retry_backoff_max_s
    assert all(0.2 <= s <= 5.0 for s in clock.sleeps)
    assert clock.sleeps[2] >= clock.sleeps[0]


def test_transient_then_success(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("GET", OFFER, reply(500), reply(429), reply(200, {"id": "123"}))
    assert client.get_offer("123").id == "123"
    assert len(fake.calls("GET", OFFER)) == 3


def test_retry_after_is_honoured(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on("GET", OFFER, reply(429, headers={"Retry-After": "7"}), reply(200, {"id": "123"}))
    client.get_offer("123")
    assert clock.sleeps == [7.0]


def test_retry_after_above_the_cap_is_raised_not_slept(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on("GET", OFFER, reply(429, errors_body("TooMany"), headers={"Retry-After": "60"}))
    with pytest.raises(RateLimited) as caught:
        client.get_offer("123")
    assert caught.value.retry_after_s == 60
    assert len(fake.calls("GET", OFFER)) == 1
    assert clock.sleeps == []


def test_total_time_budget_bounds_retries(
    settings: Settings, store: FileTokenStore, fake: FakeAllegro, clock: FakeClock
) -> None:
    tight = settings.model_copy(update={"retry_max_time_s": 10.0, "retry_max_attempts": 20})
    fake.on("GET", OFFER, reply(429, headers={"Retry-After": "4"}))
    with (
        AllegroClient(
            tight, store, transport=fake.transport(), sleep=clock.sleep, clock=clock
        ) as client,
        pytest.raises(RateLimited),
    ):
        client.get_offer("123")
    # 4 + 4 = 8 s slept; a third wait would end after 12 s > 10 s
    assert clock.sleeps == [4.0, 4.0]
    assert len(fake.calls("GET", OFFER)) == 3


def test_409_edit_in_progress_is_retried_then_raised(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on("PATCH", OFFER, reply(409, errors_body("OfferEditInProgress")))
    with pytest.raises(EditInProgress):
        client.update_offer("123", {"name": "x"})
    assert len(fake.calls("PATCH", OFFER)) == 4


def test_401_refreshes_once_and_retries(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("GET", OFFER, reply(401, {"error": "invalid_token"}), reply(200, {"id": "123"}))
    assert client.get_offer("123").id == "123"
    first, second = fake.calls("GET", OFFER)
    assert first.headers["Authorization"] == "Bearer user-access-0"
    assert second.headers["Authorization"] == "Bearer access-1"
    refresh = fake.calls("POST", "/auth/oauth/token")
    assert len(refresh) == 1
    form = dict(httpx.QueryParams(refresh[0].content.decode()))
    assert form == {"grant_type": "refresh_token", "refresh_token": "user-refresh-0"}
    stored = client.store.get("default")
    assert stored is not None and stored.access_token == "access-1"
    assert stored.refresh_token == "refresh-1"


def test_401_twice_raises_unauthorized_after_one_refresh(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on("GET", OFFER, reply(401, {"error": "invalid_token", "error_description": "nope"}))
    with pytest.raises(Unauthorized, match="nope"):
        client.get_offer("123")
    assert len(fake.calls("GET", OFFER)) == 2
    assert len(fake.calls("POST", "/auth/oauth/token")) == 1


def test_expired_token_is_refreshed_before_the_call(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on("GET", OFFER, reply(200, {"id": "123"}))
    clock.now += 3600
    client.get_offer("123")
    assert fake.calls("GET", OFFER)[0].headers["Authorization"] == "Bearer access-1"


@pytest.mark.parametrize(
    ("exc", "cls", "maybe_applied"),
    [
        (httpx.ConnectError("refused"), ConnectionFailed, False),
        (httpx.ConnectTimeout("slow"), ApiTimeout, False),
        (httpx.ReadTimeout("slow"), ApiTimeout, True),
        (httpx.RemoteProtocolError("closed"), ConnectionFailed, True),
        (httpx.ReadError("reset"), ConnectionFailed, True),
    ],
)
def test_network_failures_are_mapped(
    settings: Settings,
    store: FileTokenStore,
    clock: FakeClock,
    exc: Exception,
    cls: type[Exception],
    maybe_applied: bool,
) -> None:
    attempts = []

    def fail(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise exc

    transport = httpx.MockTransport(fail)
    with (
        AllegroClient(settings, store, transport=transport, sleep=clock.sleep, clock=clock) as c,
        pytest.raises(cls) as caught,
    ):
        c.get_offer("9")
    assert caught.value.maybe_applied is maybe_applied  # type: ignore[attr-defined]
    assert caught.value.path == "/sale/product-offers/9"  # type: ignore[attr-defined]
    assert len(attempts) == 4  # GET is idempotent: retried either way


def test_cookies_a_response_sets_are_sent_back(client: AllegroClient, fake: FakeAllegro) -> None:
    # Responses without Set-Cookie skip the cookie jar; one that sets a cookie still fills it.
    fake.on("GET", OFFER, reply(200, {"id": "123"}, headers={"Set-Cookie": "lb=node-7; Path=/"}))
    client.get_offer("123")
    client.get_offer("123")
    first, second = fake.calls("GET", OFFER)
    assert "Cookie" not in first.headers
    assert second.headers["Cookie"] == "lb=node-7"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/sale/offers", [("external.id", "SKU 1/ż&x=y+%"), ("limit", 1000), ("offset", 0)]),
        ("/sale/products", {"phrase": "słuchawki #1", "mode": "GTIN"}),
        ("/sale/product-offers/a%2Fb", None),
        ("/sale/offers?publication.status=ACTIVE", [("external.id", "A")]),
    ],
)
def test_urls_are_those_httpx_builds_from_params(
    client: AllegroClient, path: str, params: object
) -> None:
    from workers.allegro._transport import url_with

    url = "https://api.allegro.test" + path
    query = None
    if params:
        pairs = params.items() if isinstance(params, dict) else params  # type: ignore[attr-defined]
        query = httpx.QueryParams([(k, str(v)) for k, v in pairs])
    expected = httpx.Client().build_request("GET", url, params=query).url
    assert str(url_with(url, params)) == str(expected)  # type: ignore[arg-type]
