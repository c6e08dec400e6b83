"""The worker's token keeper against the sandbox over HTTP: an account idle for more than
60 days gets a new pair (FACTS §2: the refresh token lasts 3 months, rolling), a recent one
is left alone, and the renewed pair works."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks
from workers import worker
from workers.allegro import AllegroClient, TokenSet
from workers.settings import Settings
from workers.store import Store, open_store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]

DAY_S = 86400.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'feed.db'}")
    yield opened
    opened.close()


def _refresh_calls(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    return [
        r
        for r in sandbox.requests()
        if r["path"] == "/auth/oauth/token"
        and (r.get("body") or {}).get("grant_type") == "refresh_token"
    ]


def test_idle_account_is_renewed_and_a_recent_one_left_alone(
    sandbox: SandboxHandle, settings: Settings, clocks: Clocks, store: Store
) -> None:
    now = clocks.now()
    idle = dataclasses.replace(
        TokenSet.from_token_response(sandbox.issue_user_token("seller"), now),
        issued_at=now - 61 * DAY_S,
    )
    recent = TokenSet.from_token_response(sandbox.issue_user_token("seller-cz"), now)
    store.put("idle", idle)
    store.put("busy", recent)

    assert worker.renew_idle_tokens(settings, store, clock=clocks.now, sleep=clocks.sleep)

    assert len(_refresh_calls(sandbox)) == 1
    renewed = store.get("idle")
    assert renewed is not None
    assert renewed.refresh_token != idle.refresh_token
    assert renewed.issued_at == pytest.approx(clocks.now(), abs=5)
    assert renewed.auth_base_url == sandbox.url.rstrip("/")
    assert store.get("busy") == recent
    with AllegroClient(
        settings, store, account="idle", sleep=clocks.sleep, clock=clocks.now
    ) as client:
        assert client.find_offers_by_external_id(["x"]) == []
    assert len(_refresh_calls(sandbox)) == 1  # the renewed pair was used as it is
