"""Stored tokens are bound to the Allegro (OAuth base URL) and client id that issued them
(FACTS §1: sandbox and production are separate worlds with separate apps and tokens)."""

from __future__ import annotations

import pytest

from tests.unit.allegro.conftest import AUTH, FakeAllegro, FakeClock
from workers.allegro import AllegroClient, FileTokenStore, NotConnected, TokenSet
from workers.allegro.auth import ConnectedElsewhere
from workers.allegro.tokens import ACCESS_TOKEN_LIFETIME_S
from workers.logging import redact_text
from workers.settings import ENVIRONMENT_HOSTS, Environment, Settings

SANDBOX_AUTH = ENVIRONMENT_HOSTS[Environment.SANDBOX][1]
PRODUCTION_AUTH = ENVIRONMENT_HOSTS[Environment.PRODUCTION][1]


def _bound(clock: FakeClock, *, auth: str = AUTH, client_id: str = "client-id") -> TokenSet:
    return TokenSet(
        "user-access-0",
        "user-refresh-0",
        expires_at=clock.now + 3600,
        issued_at=clock.now - 100,
        auth_base_url=auth,
        client_id=client_id,
    )


def _client(
    settings: Settings,
    store: FileTokenStore,
    fake: FakeAllegro,
    clock: FakeClock,
    account: str = "default",
) -> AllegroClient:
    return AllegroClient(
        settings,
        store,
        account=account,
        transport=fake.transport(),
        sleep=clock.sleep,
        clock=clock,
    )


def test_token_set_json_keeps_the_binding_and_reads_old_entries() -> None:
    bound = TokenSet("a", "r", 100.0, issued_at=50.0, auth_base_url=AUTH, client_id="c")
    assert TokenSet.from_json(bound.to_json()) == bound
    old = TokenSet.from_json({"access_token": "a", "refresh_token": "r", "expires_at": 100.0})
    assert (old.issued_at, old.auth_base_url, old.client_id) == (None, None, None)
    assert old.issued() == 100.0 - ACCESS_TOKEN_LIFETIME_S
    assert bound.issued() == 50.0
    assert "a'" not in repr(bound) and "'r'" not in repr(bound)


def test_issued_elsewhere() -> None:
    bound = TokenSet("a", "r", 1.0, auth_base_url=SANDBOX_AUTH + "/", client_id="c")
    assert not bound.issued_elsewhere(SANDBOX_AUTH, "c")
    assert bound.issued_elsewhere(PRODUCTION_AUTH, "c")
    assert bound.issued_elsewhere(SANDBOX_AUTH, "other")
    unbound = TokenSet("a", "r", 1.0)
    assert not unbound.issued_elsewhere(PRODUCTION_AUTH, "other")


def test_token_response_records_issue_time_and_origin(
    fake: FakeAllegro, clock: FakeClock, settings: Settings, store: FileTokenStore
) -> None:
    with _client(settings, store, fake, clock) as client:
        tokens = client.oauth.refresh("user-refresh-0")
    assert tokens.issued_at == clock.now
    assert tokens.auth_base_url == AUTH
    assert tokens.client_id == "client-id"


def test_tokens_of_another_environment_are_not_sent(
    settings: Settings, fake: FakeAllegro, clock: FakeClock
) -> None:
    store = FileTokenStore(settings.token_file)
    store.put("shop", _bound(clock, auth=SANDBOX_AUTH, client_id="sandbox-app"))
    production = settings.model_copy(
        update={"environment": Environment.PRODUCTION, "auth_url": None, "client_id": "prod-app"}
    )
    with (
        _client(production, store, fake, clock, "shop") as client,
        pytest.raises(NotConnected) as caught,
    ):
        client.find_offers_by_external_id(["sku-1"])
    assert isinstance(caught.value, ConnectedElsewhere)
    assert fake.requests == []  # nothing reached Allegro, not even the token endpoint
    text = str(caught.value)
    assert redact_text(text) == text
    for part in (
        "'shop'",
        "'sandbox-app'",
        f"sandbox ({SANDBOX_AUTH})",
        "'prod-app'",
        f"production ({PRODUCTION_AUTH})",
        "allegro-feed connect --account shop",
        "ALLEGRO_FEED_ENVIRONMENT=sandbox",
        "ALLEGRO_FEED_CLIENT_ID=sandbox-app",
    ):
        assert part in text, part
    assert "user-access-0" not in text and "user-refresh-0" not in text


def test_another_client_id_on_the_same_host_is_refused(
    settings: Settings, fake: FakeAllegro, clock: FakeClock
) -> None:
    store = FileTokenStore(settings.token_file)
    store.put("default", _bound(clock, client_id="old-app"))
    with (
        _client(settings, store, fake, clock) as client,
        pytest.raises(ConnectedElsewhere) as caught,
    ):
        client.user_tokens()
    text = str(caught.value)
    assert "ALLEGRO_FEED_CLIENT_ID=old-app" in text
    assert "ALLEGRO_FEED_ENVIRONMENT" not in text and "ALLEGRO_FEED_AUTH_URL" not in text
    assert fake.requests == []


def test_another_auth_url_names_the_setting(
    settings: Settings, fake: FakeAllegro, clock: FakeClock
) -> None:
    store = FileTokenStore(settings.token_file)
    store.put("default", _bound(clock, auth="https://old-auth.allegro.test"))
    with (
        _client(settings, store, fake, clock) as client,
        pytest.raises(ConnectedElsewhere) as caught,
    ):
        client.user_tokens()
    assert "ALLEGRO_FEED_AUTH_URL=https://old-auth.allegro.test" in str(caught.value)


def test_matching_binding_is_used(settings: Settings, fake: FakeAllegro, clock: FakeClock) -> None:
    store = FileTokenStore(settings.token_file)
    store.put("default", _bound(clock, auth=AUTH + "/"))
    with _client(settings, store, fake, clock) as client:
        assert client.user_tokens().access_token == "user-access-0"


def test_unbound_pair_is_accepted_and_bound_on_the_next_save(
    settings: Settings, fake: FakeAllegro, clock: FakeClock
) -> None:
    store = FileTokenStore(settings.token_file)
    store.put("default", TokenSet("user-access-0", "user-refresh-0", expires_at=clock.now + 30))
    with _client(settings, store, fake, clock) as client:
        assert client.user_tokens().access_token == "access-1"  # expiring: refreshed
    stored = store.get("default")
    assert stored is not None
    assert (stored.auth_base_url, stored.client_id, stored.issued_at) == (
        AUTH,
        "client-id",
        clock.now,
    )
    assert len(fake.calls("POST", "/auth/oauth/token")) == 1
