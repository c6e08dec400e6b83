"""What only one backend has: SQLite's settings and busy handling, PostgreSQL's pool,
retries and error translation."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from psycopg import errors

from tests.store._events import upserted
from workers.store import StoreError, StoreUnavailable
from workers.store._common import Conn
from workers.store.postgres import PostgresStore
from workers.store.sqlite import SQLiteStore

# --- SQLite --------------------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Any:
    store = SQLiteStore(tmp_path / "db" / "store.db", busy_timeout_s=0.2)
    store.migrate()
    yield store
    store.close()


def test_sqlite_connection_settings(sqlite_store: SQLiteStore) -> None:
    conn = sqlite_store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 200
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_sqlite_one_connection_per_thread(sqlite_store: SQLiteStore) -> None:
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(id(sqlite_store._conn())))
    thread.start()
    thread.join()
    assert seen[0] != id(sqlite_store._conn())
    assert sqlite_store._conn() is sqlite_store._conn()


def test_sqlite_writer_kept_busy_is_unavailable(sqlite_store: SQLiteStore) -> None:
    other = sqlite3.connect(sqlite_store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            sqlite_store.record_event(upserted("A1", 1))
        # Readers are not blocked by the writer (WAL).
        assert sqlite_store.product_state("default", "A1") is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert sqlite_store.record_event(upserted("A1", 1)).state is not None


def test_sqlite_lock_files_sit_next_to_the_database(sqlite_store: SQLiteStore) -> None:
    with sqlite_store.parameters_lock("165"), sqlite_store.refresh_lock("default"):
        pass
    names = sorted(path.name.split("-")[0] for path in sqlite_store.path.parent.glob("*.locks/*"))
    assert names == ["parameters", "refresh"]


def test_sqlite_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    store.migrate()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.product_state("default", "A1")


def test_sqlite_not_migrated_is_a_store_error(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store, pytest.raises(StoreError) as caught:
        store.product_state("default", "A1")
    assert not isinstance(caught.value, StoreUnavailable)


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
def pg_store(postgres_url: str) -> Any:
    store = PostgresStore(postgres_url)
    yield store
    store.close()


def test_postgres_pool_opens_on_first_use(pg_store: PostgresStore) -> None:
    assert pg_store._pool is None
    pg_store.latest_version("default", "sku-no-test-records")
    assert pg_store._pool is not None


def test_postgres_repr_hides_the_password() -> None:
    store = PostgresStore("postgresql://feed:s3cret@db.example:5432/feed")
    assert "s3cret" not in repr(store)
    assert repr(store) == "PostgresStore(host='db.example', dbname='feed')"


def test_postgres_unreachable_is_unavailable() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/none", connect_timeout_s=0.5)
    try:
        with pytest.raises(StoreUnavailable):
            store.latest_version("default", "A1")
        with pytest.raises(StoreUnavailable), store.refresh_lock("default"):
            pass
    finally:
        store.close()


@pytest.mark.parametrize("error", [errors.SerializationFailure, errors.DeadlockDetected])
def test_postgres_retries_a_conflict_once(pg_store: PostgresStore, error: type[Exception]) -> None:
    calls: list[int] = []

    def flaky(conn: Conn) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise error("conflict")
        return int(conn.execute("SELECT 7").fetchone()[0])

    assert pg_store._tx(flaky) == 7
    assert len(calls) == 2

    def always(conn: Conn) -> int:
        raise error("conflict")

    with pytest.raises(StoreUnavailable):
        pg_store._tx(always)


def test_postgres_closed_store_refuses_work(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.latest_version("default", "A1")


def test_postgres_sql_error_is_a_store_error(pg_store: PostgresStore) -> None:
    with pytest.raises(StoreError) as caught:
        pg_store._tx(lambda conn: conn.execute("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, StoreUnavailable)
