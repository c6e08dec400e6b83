"""Stored tokens are used only with the Allegro and client id that issued them, against the
sandbox over HTTP, with the tokens in the SQLite store (FACTS §1: sandbox and production
are separate worlds; another world's token is refused without saying why)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks
from workers.allegro import AllegroClient, NotConnected, TokenSet, connect_account
from workers.settings import Settings
from workers.store import Store, open_store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'feed.db'}")
    yield opened
    opened.close()


def _last_seq(sandbox: SandboxHandle) -> int:
    entries = sandbox.requests()
    return int(entries[-1]["seq"]) if entries else 0


def test_connected_pair_is_bound_and_refused_for_another_client_id(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks, store: Store
) -> None:
    tokens = connect_account(
        settings,
        store,
        "shop",
        out=lambda _line: None,
        sleep=clocks.sleep,
        clock=clocks.now,
        on_started=lambda device: sandbox.approve_device(device.user_code),
    )
    stored = store.get("shop")
    assert stored is not None and stored == tokens
    assert stored.auth_base_url == sandbox.url.rstrip("/")
    assert stored.client_id == settings.client_id
    with AllegroClient(settings, store, account="shop", clock=clocks.now) as client:
        assert client.find_offers_by_external_id(["nothing"]) == []

    since = _last_seq(sandbox)
    other = settings.model_copy(update={"client_id": "another-app"})
    with (
        AllegroClient(other, store, account="shop", clock=clocks.now) as client,
        pytest.raises(NotConnected) as caught,
    ):
        client.find_offers_by_external_id(["nothing"])
    assert sandbox.requests(since) == []  # neither the API nor the token endpoint was asked
    text = str(caught.value)
    assert "allegro-feed connect --account shop" in text
    assert f"ALLEGRO_FEED_CLIENT_ID={settings.client_id}" in text
    assert tokens.access_token not in text and str(tokens.refresh_token) not in text
    assert store.get("shop") == tokens  # left as it was


def test_unbound_pair_works_and_is_bound_by_its_refresh(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks, store: Store
) -> None:
    old = TokenSet.from_token_response(sandbox.issue_user_token(), clocks.now())
    assert old.auth_base_url is None and old.client_id is None
    store.put("default", old)
    with AllegroClient(settings, store, sleep=clocks.sleep, clock=clocks.now) as client:
        assert client.find_offers_by_external_id(["x"]) == []
        assert store.get("default") == old  # used as it is
        clocks.sleep(43199)  # the access token expires: refreshed, and stored bound
        assert client.find_offers_by_external_id(["x"]) == []
    fresh = store.get("default")
    assert fresh is not None and fresh.access_token != old.access_token
    assert fresh.auth_base_url == sandbox.url.rstrip("/")
    assert fresh.client_id == settings.client_id
    assert fresh.issued_at == pytest.approx(clocks.now(), abs=5)
