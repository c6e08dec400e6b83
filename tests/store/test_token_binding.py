"""Token sets keep where they were issued (OAuth base URL, client id) and when, on both
backends; rows stored before that was recorded read back without it."""

from __future__ import annotations

from typing import cast

from workers.allegro.tokens import ACCESS_TOKEN_LIFETIME_S, TokenSet
from workers.store import Store
from workers.store._sql import SqlStore

SANDBOX_AUTH = "https://allegro.pl.allegrosandbox.pl"


def test_binding_and_issue_time_round_trip(store: Store) -> None:
    tokens = TokenSet(
        "access-1",
        "refresh-1",
        1_800_043_199.25,
        "allegro:api:sale:offers:write",
        issued_at=1_800_000_000.25,
        auth_base_url=SANDBOX_AUTH,
        client_id="sandbox-app",
    )
    store.put("shop", tokens)
    assert store.get("shop") == tokens
    assert not tokens.issued_elsewhere(SANDBOX_AUTH, "sandbox-app")


def test_rows_stored_before_the_binding_read_back_unbound(store: Store) -> None:
    sql = cast(SqlStore, store)
    legacy = {
        "access_token": "access-0",
        "refresh_token": "refresh-0",
        "expires_at": 1_800_043_200.0,
        "scope": None,
        "token_type": "bearer",
    }
    sql._write(
        "INSERT INTO tokens (account, tokens, updated_at) VALUES (?, ?, ?)",
        ("old", sql.dialect.json_in(legacy), sql.dialect.time_in(sql._now())),
    )
    tokens = store.get("old")
    assert tokens is not None
    assert (tokens.auth_base_url, tokens.client_id, tokens.issued_at) == (None, None, None)
    assert tokens.issued() == 1_800_043_200.0 - ACCESS_TOKEN_LIFETIME_S
    assert not tokens.issued_elsewhere("https://allegro.pl", "any-app")


def test_token_accounts(store: Store) -> None:
    assert store.token_accounts() == []
    for account in ("shop-b", "shop-a"):
        store.put(account, TokenSet(f"access-{account}", "refresh", 1.0))
    store.put("shop-a", TokenSet("access-again", "refresh", 2.0))
    assert store.token_accounts() == ["shop-a", "shop-b"]
