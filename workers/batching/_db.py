"""Connections of the batching tables: the store's database, opened on its own.

The tables are created by the store's migrations (``0003_batching``); this module only
connects. SQLite: one connection per thread to the store's file, WAL, ``BEGIN IMMEDIATE``
for every write (the writer lock is taken up front, so two writers never deadlock);
PostgreSQL: a small ``psycopg_pool`` pool, READ COMMITTED, rows locked with ``FOR UPDATE``,
a serialization failure or deadlock retried once. Errors leave as the store's
(:class:`~workers.store.StoreError`, :class:`~workers.store.StoreUnavailable`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any, Protocol, TypeVar

from workers import _json as fast_json
from workers.store import StoreError, StoreUnavailable, sqlite_path
from workers.store._common import Conn, QmarkConnection
from workers.store.sqlite import translated_errors
from workers.store.sqlite_tx import connect, run_immediate

__all__ = ["Conn", "Database", "open_database"]

T = TypeVar("T")

#: How the SQLite errors of the batching tables begin.
_SQLITE = "SQLite (batching)"


class Database(Protocol):
    """One database, as the batching repository uses it."""

    #: ``sqlite`` or ``postgresql``
    name: str
    #: appended to a SELECT that locks the rows it reads (PostgreSQL)
    for_update: str

    def tx(self, work: Callable[[Conn], T]) -> T:
        """Run ``work`` in one write transaction."""

    def read(self, work: Callable[[Conn], T]) -> T:
        """Run ``work`` that only reads."""

    def json_in(self, value: Any) -> Any: ...

    def json_out(self, value: Any) -> Any: ...

    def close(self) -> None: ...


class SQLiteDatabase:
    """The store's SQLite file (see the module doc)."""

    name = "sqlite"
    for_update = ""

    def __init__(
        self,
        path: os.PathLike[str] | str,
        *,
        busy_timeout_s: float = 30.0,
        connect: Callable[[], sqlite3.Connection] | None = None,
    ) -> None:
        self.path = str(path)
        # ``connect``: borrow the store's connection of the calling thread instead of
        # opening one, so that these writes join the store's units of work (one commit for
        # a whole batch of deliveries). Borrowed connections are the store's to close.
        self._borrow = connect
        #: whether writes join the store's units of work (see ``BatchRepo``)
        self.shares_store_connection = connect is not None
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._guard = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the batching database is closed")
        if self._borrow is not None:
            with translated_errors(_SQLITE):
                return self._borrow()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        with translated_errors(_SQLITE):
            # The store's own connection settings (WAL, busy timeout, every commit durable).
            conn = connect(self.path, busy_timeout_s=self._busy_timeout_s)
        with self._guard:
            self._connections.append(conn)
        self._local.conn = conn
        self._local.pid = os.getpid()
        return conn

    def tx(self, work: Callable[[Conn], T]) -> T:
        conn = self._conn()
        with translated_errors(_SQLITE):
            return run_immediate(conn, work)

    def read(self, work: Callable[[Conn], T]) -> T:
        conn = self._conn()
        if conn.in_transaction:  # inside a unit of work: its snapshot, its writes
            with translated_errors(_SQLITE):
                return work(conn)
        with translated_errors(_SQLITE):
            conn.execute("BEGIN")  # one snapshot for every statement of ``work``
            try:
                return work(conn)
            finally:
                with suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    def json_in(self, value: Any) -> Any:
        return None if value is None else fast_json.dumps_text(value)

    def json_out(self, value: Any) -> Any:
        return None if value is None else fast_json.loads(value)

    def close(self) -> None:
        with self._guard:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()


class PostgresDatabase:
    """The store's PostgreSQL database (see the module doc)."""

    name = "postgresql"
    for_update = " FOR UPDATE"
    shares_store_connection = False

    def __init__(self, url: str, *, max_size: int = 4, timeout_s: float = 30.0) -> None:
        self._url = url
        self._max_size = max_size
        self._timeout_s = timeout_s
        self._pool: Any = None
        self._pid = os.getpid()
        self._guard = threading.Lock()
        self._closed = False

    def _get_pool(self) -> Any:
        from psycopg_pool import ConnectionPool, PoolTimeout

        with self._guard:
            if self._closed:
                raise StoreError("the batching database is closed")
            if self._pool is not None and self._pid != os.getpid():
                self._pool = None  # a forked child opens its own
            if self._pool is None:
                pool = ConnectionPool(
                    self._url,
                    min_size=1,
                    max_size=self._max_size,
                    open=False,
                    kwargs={"autocommit": False, "connect_timeout": 10},
                    check=ConnectionPool.check_connection,
                    timeout=self._timeout_s,
                    name="allegro-feed-batching",
                )
                try:
                    pool.open(wait=True, timeout=self._timeout_s)
                except PoolTimeout as exc:
                    pool.close()
                    raise StoreUnavailable("PostgreSQL (batching): cannot connect") from exc
                self._pool = pool
                self._pid = os.getpid()
            return self._pool

    def _attempt(self, work: Callable[[Conn], T]) -> T:
        with self._get_pool().connection() as conn, conn.transaction():
            return work(QmarkConnection(conn))

    def tx(self, work: Callable[[Conn], T]) -> T:
        import psycopg
        from psycopg import errors
        from psycopg_pool import PoolTimeout

        try:
            try:
                return self._attempt(work)
            except (errors.SerializationFailure, errors.DeadlockDetected):
                return self._attempt(work)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"PostgreSQL (batching): {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL (batching): {exc}") from exc

    def read(self, work: Callable[[Conn], T]) -> T:
        return self.tx(work)

    def json_in(self, value: Any) -> Any:
        from psycopg.types.json import Jsonb

        return None if value is None else Jsonb(value)

    def json_out(self, value: Any) -> Any:
        return value  # psycopg decodes JSONB

    def close(self) -> None:
        with self._guard:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


def open_database(url: str, store: object = None) -> Database:
    """The database of the store at ``url`` (``sqlite:///…`` or ``postgresql://…``).
    ``store``: the process's store of that URL; a SQLite store lends its connections
    (see :class:`SQLiteDatabase`). Raises ValueError for another scheme."""
    if url.startswith("sqlite:///"):
        connect = getattr(store, "connection", None)
        return SQLiteDatabase(sqlite_path(url), connect=connect if callable(connect) else None)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    raise ValueError(
        "the batching tables live in the store: give its sqlite:/// or postgresql:// URL"
    )
