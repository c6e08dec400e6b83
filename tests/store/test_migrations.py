"""Schema migrations and open_store."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schemas.status import Status
from tests.store._proc import run_together
from tests.store.test_status import message
from workers.store import _sql, open_store
from workers.store._migrations import load_migrations, split_statements
from workers.store.postgres import PostgresStore
from workers.store.sqlite import SQLiteStore

TABLES = {
    "products",
    "events",
    "offers",
    "leases",
    "category_parameters",
    "tokens",
    "statuses",
    "create_intents",
    "schema_version",
}


def _schema(url: str) -> tuple[set[str], list[tuple[Any, ...]]]:
    """The tables and the schema_version rows of the database at ``url``."""
    if url.startswith("sqlite:///"):
        lite = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            names = {row[0] for row in lite.execute("SELECT name FROM sqlite_master")}
            rows = lite.execute("SELECT version, name FROM schema_version ORDER BY 1").fetchall()
        finally:
            lite.close()
        return names, rows
    with psycopg.connect(url) as pg:
        names = {
            row[0]
            for row in pg.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        rows = pg.execute("SELECT version, name FROM schema_version ORDER BY 1").fetchall()
    return names, rows


def _expected_versions(url: str) -> list[tuple[Any, ...]]:
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    return [(m.version, m.name) for m in load_migrations(dialect)]


def test_migrate_creates_the_schema_and_is_idempotent(fresh_url: str) -> None:
    store = open_store(fresh_url)  # migrates
    store.migrate()
    store.migrate()
    store.close()
    tables, versions = _schema(fresh_url)
    assert tables >= TABLES
    assert versions == _expected_versions(fresh_url)


def test_concurrent_migrations_from_several_processes(fresh_url: str) -> None:
    results = run_together(["migrate", fresh_url], ["migrate", fresh_url])
    assert results == ["migrated"] * 2
    tables, versions = _schema(fresh_url)
    assert tables >= TABLES
    assert versions == _expected_versions(fresh_url)


def test_both_dialects_have_the_same_migrations() -> None:
    sqlite_versions = [(m.version, m.name) for m in load_migrations("sqlite")]
    assert sqlite_versions == [(m.version, m.name) for m in load_migrations("postgresql")]
    assert sqlite_versions[0] == (1, "initial")


def test_version_2_keeps_the_history_published_and_lets_failed_events_replay(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database of version 1 with statuses written by that version's code.
    with monkeypatch.context() as patched:
        patched.setattr(_sql, "load_migrations", lambda dialect: load_migrations(dialect)[:1])
        store = open_store(fresh_url)
    dialect = store.dialect  # type: ignore[attr-defined]
    for status in (message("e1", Status.PUBLISHED, 0), message("e2", Status.FAILED, 1)):
        store._tx(  # type: ignore[attr-defined]
            lambda conn, status=status: conn.execute(
                "INSERT INTO statuses (event_id, account, sku, version, status, terminal, at, "
                "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    status.event_id,
                    status.account,
                    status.sku,
                    status.version,
                    status.status.value,
                    True,
                    dialect.time_in(status.at),
                    dialect.json_in(status.model_dump(mode="json")),
                ),
            )
        )
    assert _schema(fresh_url)[1] == [(1, "initial")]

    store.migrate()

    assert _schema(fresh_url)[1] == _expected_versions(fresh_url)
    assert store.unpublished_statuses() == []  # the old history counts as published
    entry = store.terminal_entry("e1")
    assert entry is not None and entry.published and entry.chain == 0
    assert not store.add_status(message("e1", Status.UPDATED, 5))
    assert store.add_status(message("e2", Status.PUBLISHED, 5))  # the FAILED one's replay
    assert store.terminal_status("e2") == message("e2", Status.PUBLISHED, 5)
    store.record_create_intent("default", "A1")
    store.close()


def test_split_statements_respects_quotes_and_comments() -> None:
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nSELECT 1;\n"
    assert split_statements(sql) == [
        "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');",
        "SELECT 1;",
    ]
    with pytest.raises(ValueError, match="unterminated"):
        split_statements("SELECT 1;\nSELECT 2\n")


def test_open_store_sqlite_relative_path_creates_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///var/data/feed.db")
    try:
        assert isinstance(store, SQLiteStore)
        assert (tmp_path / "var" / "data" / "feed.db").is_file()
        assert store.latest_version("default", "A1") is None  # migrated
    finally:
        store.close()


def test_open_store_sqlite_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "abs" / "feed.db"
    store = open_store(f"sqlite:///{path}")
    store.close()
    assert str(path).startswith("/") and path.is_file()


@pytest.mark.parametrize(
    "url",
    ["sqlite:///", "sqlite:///:memory:", "sqlite:///a.db?mode=ro", "mysql://u@h/db", "feed.db"],
)
def test_open_store_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError):
        open_store(url)


def test_open_store_postgresql(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        assert isinstance(store, PostgresStore)
        assert store.latest_version("default", "sku-no-test-records") is None
    finally:
        store.close()
