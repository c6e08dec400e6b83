"""TokenSet and FileTokenStore."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from workers.allegro import FileTokenStore, TokenSet, TokenStore, TokenStoreError


def _tokens(n: int = 1, expires_at: float = 2_000_000_000.0) -> TokenSet:
    return TokenSet(f"access-secret-{n}", f"refresh-secret-{n}", expires_at, "scope-a", "bearer")


def test_repr_hides_tokens() -> None:
    tokens = _tokens()
    for text in (repr(tokens), str(tokens), f"{tokens}", repr([tokens])):
        assert "access-secret" not in text
        assert "refresh-secret" not in text
    assert "expires_at=2000000000.0" in repr(tokens)


def test_expired_with_skew() -> None:
    tokens = _tokens(expires_at=1000.0)
    assert not tokens.expired(900.0, skew_s=60)
    assert tokens.expired(940.0, skew_s=60)
    assert tokens.expired(1000.0, skew_s=0)


def test_from_token_response_is_lenient() -> None:
    tokens = TokenSet.from_token_response(
        {"access_token": "a", "expires_in": "43199", "token_type": "bearer"}, now=100.0
    )
    assert tokens.expires_at == 43299.0
    assert tokens.refresh_token is None
    with pytest.raises(ValueError, match="access_token"):
        TokenSet.from_token_response({"expires_in": 1}, now=0)


def test_file_store_round_trip_and_protocol(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "nested" / "dir" / "tokens.json")
    assert isinstance(store, TokenStore)
    assert store.get("default") is None
    store.put("default", _tokens(1))
    store.put("other", _tokens(2))
    assert store.get("default") == _tokens(1)
    assert store.get("other") == _tokens(2)
    assert store.accounts() == ["default", "other"]
    assert "secret" not in repr(store)


def test_file_store_permissions_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "tokens.json"
    old_umask = os.umask(0o022)
    try:
        FileTokenStore(path).put("default", _tokens())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_write_is_atomic_old_content_survives_a_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    store.put("default", _tokens(1))
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put("default", _tokens(2))
    monkeypatch.undo()
    assert path.read_bytes() == before
    # No temporary file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_corrupt_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    with pytest.raises(TokenStoreError, match="not valid JSON"):
        FileTokenStore(path).get("default")
    path.write_text(json.dumps({"accounts": {"default": {"access_token": "x"}}}))
    with pytest.raises(TokenStoreError, match="malformed"):
        FileTokenStore(path).get("default")


def test_refresh_lock_is_exclusive_and_allows_put(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    first, second = FileTokenStore(path), FileTokenStore(path)
    order: list[str] = []
    inside = threading.Event()

    def hold() -> None:
        with first.refresh_lock("default"):
            inside.set()
            order.append("first-in")
            first.put("default", _tokens(1))  # re-entrant: put while holding the lock
            threading.Event().wait(0.2)
            order.append("first-out")

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(5)
    with second.refresh_lock("default"):
        order.append("second-in")
    thread.join()
    assert order == ["first-in", "first-out", "second-in"]
    assert second.get("default") == _tokens(1)


def test_lock_timeout_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    holder = FileTokenStore(path)
    waiter = FileTokenStore(path, lock_timeout_s=0.1)
    released = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with holder.refresh_lock("default"):
            held.set()
            released.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(TokenStoreError, match="locked"), waiter.refresh_lock("default"):
            pass
    finally:
        released.set()
        thread.join()
