"""OAuth: client credentials, device flow, refresh with rotation and the store protocol."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.allegro.conftest import FakeAllegro, FakeClock
from workers.allegro import (
    AllegroClient,
    DeviceAuthorization,
    DeviceFlowDenied,
    DeviceFlowExpired,
    FileTokenStore,
    InvalidClient,
    InvalidGrant,
    NotConnected,
    TokenSet,
    connect_account,
)
from workers.allegro._http import HttpCore
from workers.allegro.oauth import OAuthClient
from workers.settings import Settings

DEVICE_BODY = {
    "user_code": "cbt3zdu4g",
    "device_code": "645629715",
    "expires_in": "3600",
    "interval": "5",
    "verification_uri": "https://allegro.test/skojarz-aplikacje",
    "verification_uri_complete": "https://allegro.test/skojarz-aplikacje?code=cbt3zdu4g",
}


def _oauth(settings: Settings, fake: FakeAllegro, clock: FakeClock) -> OAuthClient:
    core = HttpCore(settings, transport=fake.transport(), sleep=clock.sleep, clock=clock)
    return OAuthClient(core, sleep=clock.sleep, clock=clock)


def _oauth_error(error: str) -> httpx.Response:
    return httpx.Response(400, json={"error": error})


def test_client_credentials(settings: Settings, fake: FakeAllegro, clock: FakeClock) -> None:
    tokens = _oauth(settings, fake, clock).client_credentials()
    assert tokens.access_token == "access-1"
    assert tokens.refresh_token is None
    assert tokens.expires_at == clock.now + 43199
    (request,) = fake.calls("POST", "/auth/oauth/token")
    assert request.url.host == "auth.allegro.test"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (
        httpx.BasicAuth("client-id", "client-secret-value")
        .auth_flow(httpx.Request("GET", "https://x"))
        .__next__()
        .headers["Authorization"]
        == request.headers["Authorization"]
    )


def test_bad_client_credentials(settings: Settings, fake: FakeAllegro, clock: FakeClock) -> None:
    fake.on("POST", "/auth/oauth/token", httpx.Response(401, json={"error": "unauthorized"}))
    with pytest.raises(InvalidClient, match="ALLEGRO_FEED_CLIENT_ID"):
        _oauth(settings, fake, clock).client_credentials()


def test_device_response_parsed_leniently() -> None:
    device = DeviceAuthorization.from_response(DEVICE_BODY, now=100.0)
    assert device.expires_in_s == 3600 and device.interval_s == 5
    assert device.expires_at == 3700.0
    assert "645629715" not in repr(device)
    bare = DeviceAuthorization.from_response(
        {"user_code": "u", "device_code": "d", "verification_uri": "https://v"}, now=0
    )
    assert bare.verification_uri_complete == "https://v?code=u"
    assert bare.interval_s == 5


def test_device_flow_pending_slow_down_then_tokens(
    settings: Settings, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on("POST", "/auth/oauth/device", httpx.Response(200, json=DEVICE_BODY))
    fake.on(
        "POST",
        "/auth/oauth/token",
        _oauth_error("authorization_pending"),
        _oauth_error("slow_down"),
        _oauth_error("authorization_pending"),
        fake.token_endpoint,
    )
    oauth = _oauth(settings, fake, clock)
    device = oauth.start_device_flow("allegro:api:sale:offers:write")
    tokens = oauth.wait_for_device_tokens(device)
    assert tokens.refresh_token == "refresh-1"
    assert clock.sleeps == [5, 5, 10, 10]  # slow_down adds 5 s
    start = fake.calls("POST", "/auth/oauth/device")[0]
    form = dict(httpx.QueryParams(start.content.decode()))
    assert form == {"client_id": "client-id", "scope": "allegro:api:sale:offers:write"}
    poll = dict(httpx.QueryParams(fake.calls("POST", "/auth/oauth/token")[0].content.decode()))
    assert poll == {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": "645629715",
    }


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ("access_denied", DeviceFlowDenied),
        ("Invalid device code", DeviceFlowExpired),
        ("expired_token", DeviceFlowExpired),
        ("something_else", DeviceFlowExpired),
    ],
)
def test_device_flow_stops(
    settings: Settings,
    fake: FakeAllegro,
    clock: FakeClock,
    error: str,
    cls: type[Exception],
) -> None:
    fake.on("POST", "/auth/oauth/device", httpx.Response(200, json=DEVICE_BODY))
    fake.on("POST", "/auth/oauth/token", _oauth_error(error))
    oauth = _oauth(settings, fake, clock)
    with pytest.raises(cls, match="allegro-feed connect"):
        oauth.wait_for_device_tokens(oauth.start_device_flow())


def test_device_flow_expires_by_clock(
    settings: Settings, fake: FakeAllegro, clock: FakeClock
) -> None:
    body = {**DEVICE_BODY, "expires_in": 12}
    fake.on("POST", "/auth/oauth/device", httpx.Response(200, json=body))
    fake.on("POST", "/auth/oauth/token", _oauth_error("authorization_pending"))
    oauth = _oauth(settings, fake, clock)
    with pytest.raises(DeviceFlowExpired):
        oauth.wait_for_device_tokens(oauth.start_device_flow())
    assert clock.sleeps == [5, 5]
    assert len(fake.calls("POST", "/auth/oauth/token")) == 2


def test_connect_account_prints_and_stores(
    settings: Settings, fake: FakeAllegro, clock: FakeClock, tmp_path: object
) -> None:
    fake.on("POST", "/auth/oauth/device", httpx.Response(200, json=DEVICE_BODY))
    fake.on("POST", "/auth/oauth/token", _oauth_error("authorization_pending"), fake.token_endpoint)
    store = FileTokenStore(settings.token_file)
    lines: list[str] = []
    tokens = connect_account(
        settings,
        store,
        "shop-2",
        out=lines.append,
        sleep=clock.sleep,
        clock=clock,
        transport=fake.transport(),
    )
    assert store.get("shop-2") == tokens
    text = "\n".join(lines)
    assert DEVICE_BODY["verification_uri_complete"] in text
    assert "cbt3zdu4g" in text
    assert "'shop-2'" in text and "UTC" in text
    assert tokens.access_token not in text and DEVICE_BODY["device_code"] not in text


def test_refresh_keeps_old_refresh_token_when_none_returned(
    settings: Settings, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on(
        "POST",
        "/auth/oauth/token",
        httpx.Response(200, json={"access_token": "a2", "expires_in": 10}),
    )
    tokens = _oauth(settings, fake, clock).refresh("r1")
    assert (tokens.access_token, tokens.refresh_token) == ("a2", "r1")


def test_invalid_grant_tells_to_reconnect(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on("POST", "/auth/oauth/token", httpx.Response(400, json={"error": "invalid_grant"}))
    clock.now += 7200
    with pytest.raises(InvalidGrant, match="allegro-feed connect --account default"):
        client.user_tokens()


def test_not_connected(settings: Settings, fake: FakeAllegro, clock: FakeClock) -> None:
    store = FileTokenStore(settings.token_file)
    with (
        AllegroClient(
            settings, store, account="nobody", transport=fake.transport(), clock=clock
        ) as client,
        pytest.raises(NotConnected, match="--account nobody"),
    ):
        client.get_offer("1")


def test_refresh_uses_a_pair_stored_by_another_process(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock, store: FileTokenStore
) -> None:
    """The protocol: under the lock, a stored token that differs from the stale one wins."""
    clock.now += 3600  # the cached token expired
    store.put("default", TokenSet("other-access", "other-refresh", clock.now + 3600))
    assert client.user_tokens().access_token == "other-access"
    assert fake.calls("POST", "/auth/oauth/token") == []


def test_refresh_after_401_uses_pair_stored_meanwhile(
    client: AllegroClient, fake: FakeAllegro, store: FileTokenStore, clock: FakeClock
) -> None:
    from tests.unit.allegro.conftest import reply

    client.user_tokens()  # cache user-access-0
    store.put("default", TokenSet("fresh-access", "fresh-refresh", clock.now + 3600))
    fake.on("GET", "/sale/product-offers/1", reply(401), reply(200, {"id": "1"}))
    client.get_offer("1")
    assert fake.calls("POST", "/auth/oauth/token") == []
    second = fake.calls("GET", "/sale/product-offers/1")[1]
    assert second.headers["Authorization"] == "Bearer fresh-access"
