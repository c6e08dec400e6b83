"""The SQLite store holds the sellers' refresh tokens: its files are the owner's only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from workers.allegro.tokens import TokenSet
from workers.store import open_store
from workers.store.sqlite import SQLiteStore

SECRET = "refresh-secret-never-logged-123456"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common umask 022, under which SQLite would create its files 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_new_store_file_and_folders_are_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "var" / "data" / "feed.db"
    store = open_store(f"sqlite:///{path}")
    try:
        store.put("shop", TokenSet("access-1", SECRET, expires_at=1e10))
        assert store.get("shop") is not None
        # WAL mode: the write went to the -wal file, which SQLite creates with the
        # database file's mode.
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert file.exists(), file
            assert _mode(file) == 0o600, (file, oct(_mode(file)))
        assert _mode(path.parent) == 0o700
        assert _mode(path.parent.parent) == 0o700
    finally:
        store.close()


def test_existing_folder_is_left_alone(tmp_path: Path, open_umask: None) -> None:
    os.chmod(tmp_path, 0o755)  # noqa: S103 - a folder the operator made
    with SQLiteStore(tmp_path / "feed.db"):
        pass
    assert _mode(tmp_path) == 0o755
    assert _mode(tmp_path / "feed.db") == 0o600


def test_wider_existing_files_are_tightened_with_a_warning(
    tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "feed.db"
    with SQLiteStore(path) as store:
        store.migrate()
        store.put("shop", TokenSet("access-1", SECRET, expires_at=1e10))
        for file in (path, Path(f"{path}-wal")):
            os.chmod(file, 0o644)
        with capture_logs() as logs, SQLiteStore(path) as again:
            tokens = again.get("shop")
        assert tokens is not None and tokens.refresh_token == SECRET
    assert _mode(path) == 0o600
    warnings = [e for e in logs if e["event"] == "store.file_permissions_tightened"]
    assert {Path(e["path"]).name for e in warnings} == {"feed.db", "feed.db-wal"}
    assert all(e["mode_was"] == "0644" and e["mode"] == "0600" for e in warnings)
    assert SECRET not in repr(logs)


def test_private_file_opens_without_warning(tmp_path: Path) -> None:
    path = tmp_path / "feed.db"
    with SQLiteStore(path):
        pass
    with capture_logs() as logs, SQLiteStore(path):
        pass
    assert not [e for e in logs if e["event"] == "store.file_permissions_tightened"]


def test_a_file_that_cannot_be_changed_is_warned_about(
    tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feed.db"
    path.touch(mode=0o644)

    def not_owner(_path: object, _mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", not_owner)
    with capture_logs() as logs, SQLiteStore(path) as store:
        store.migrate()  # the store still opens
    [warning] = [e for e in logs if e["event"] == "store.file_permissions_open"]
    assert warning["mode"] == "0644" and "0600" in warning["fix"]
