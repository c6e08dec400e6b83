"""The store in PostgreSQL: shared by every process on every host.

Concurrency: every method is one transaction (READ COMMITTED) on a connection from a
``psycopg_pool`` pool (opened on first use). ``record_event`` locks the SKU's row with
``SELECT ... FOR UPDATE``, so events of one SKU are merged one at a time; the first event of
a new SKU that meets another one inserting the row runs again (then the row exists and is
locked). Serialization failures and deadlocks are retried once too. The named locks
(``parameters_lock``, ``refresh_lock``) are session advisory locks, each taken on a
dedicated connection outside the pool: a waiter never holds a pooled connection the holder
may need, and a crashed holder's lock ends with its session. Migrations hold a
transaction-scoped advisory lock.

Times are TIMESTAMPTZ (read back in UTC), JSON is JSONB.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from workers.store._common import Clock, Conn, Dialect, QmarkConnection, lock_digest, to_utc
from workers.store._sql import RowAppeared, SqlStore
from workers.store.base import LockTimeout, StoreError, StoreUnavailable

__all__ = ["PostgresStore"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

_RETRIED = (errors.SerializationFailure, errors.DeadlockDetected, RowAppeared)


def _lock_id(kind: str, key: str) -> int:
    # pg_advisory_lock takes a signed 64-bit key.
    return int.from_bytes(lock_digest(kind, key)[:8], "big", signed=True)


_MIGRATION_LOCK = _lock_id("migrate", "schema")


def _identity(value: Any) -> Any:
    return value


_DIALECT = Dialect(
    name="postgresql",
    json_in=lambda value: Jsonb(value) if value is not None else None,
    json_out=_identity,  # psycopg decodes JSONB
    time_in=to_utc,
    time_out=to_utc,
    lock_row=" FOR UPDATE",
    schema_version_ddl="CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY "
    "KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
)


@contextmanager
def _translated() -> Iterator[None]:
    # psycopg's exceptions become the store's, once, here (STYLE lesson 2).
    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise StoreUnavailable(f"PostgreSQL: {exc}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL: {exc}") from exc


class PostgresStore(SqlStore):
    """The :class:`~workers.store.base.Store` in the PostgreSQL database at ``url`` (a
    libpq URL or connection string).

    ``min_size``/``max_size``: pooled connections per process. ``pool_timeout_s``: longest
    wait for a pooled connection. ``connect_timeout_s``: per connection attempt.
    ``lock_timeout_s``: how long ``parameters_lock``/``refresh_lock`` wait before
    :class:`~workers.store.base.LockTimeout`. ``clock``: the time used for leases and
    record times; hosts must keep their clocks in sync (NTP), as lease expiry compares
    times written by different hosts.
    """

    dialect = _DIALECT

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        min_size: int = 1,
        max_size: int = 8,
        pool_timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        lock_timeout_s: float = 60.0,
    ) -> None:
        super().__init__(clock)
        if lock_timeout_s <= 0:
            raise ValueError("lock_timeout_s must be positive")
        self._url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool_timeout_s = pool_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._lock_timeout_s = lock_timeout_s
        self._pool: ConnectionPool | None = None
        self._pool_pid = os.getpid()
        self._pool_guard = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        # Never the URL itself: it may carry a password.
        try:
            info = conninfo_to_dict(self._url)
        except psycopg.ProgrammingError:
            return "PostgresStore(<invalid URL>)"
        return f"PostgresStore(host={info.get('host')!r}, dbname={info.get('dbname')!r})"

    # --- connections and transactions -------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        return {"connect_timeout": max(1, round(self._connect_timeout_s))}

    def _get_pool(self) -> ConnectionPool:
        with self._pool_guard:
            if self._closed:
                raise StoreError(f"{self!r} is closed")
            if self._pool is not None and self._pool_pid != os.getpid():
                # A forked child cannot use its parent's pool (its sockets and threads):
                # forget it, without closing the parent's connections, and open its own.
                self._pool = None
            if self._pool is None:
                pool = ConnectionPool(
                    self._url,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    open=False,
                    kwargs={"autocommit": False, **self._connect_kwargs()},
                    # A connection broken by a server restart is replaced, not handed out.
                    check=ConnectionPool.check_connection,
                    timeout=self._pool_timeout_s,
                    name="allegro-feed-store",
                )
                try:
                    pool.open(wait=True, timeout=self._connect_timeout_s)
                except PoolTimeout as exc:
                    pool.close()
                    raise StoreUnavailable(
                        f"cannot connect to {self!r} within {self._connect_timeout_s:g} s"
                    ) from exc
                self._pool = pool
                self._pool_pid = os.getpid()
            return self._pool

    def _attempt(self, work: Callable[[Conn], T], durable: bool = True) -> T:
        with self._get_pool().connection() as conn, conn.transaction():
            if not durable:
                # The commit does not wait for the WAL flush (PostgreSQL's own setting for
                # this: a crash of the server may lose it, never half of it).
                conn.execute("SET LOCAL synchronous_commit TO OFF")
            return work(QmarkConnection(conn))

    def _tx(self, work: Callable[[Conn], T], *, durable: bool = True) -> T:
        with _translated():
            try:
                return self._attempt(work, durable)
            except _RETRIED as exc:
                log.info(
                    "store.transaction_retried", backend="postgresql", reason=type(exc).__name__
                )
            return self._attempt(work, durable)

    def _read(self, work: Callable[[Conn], T]) -> T:
        return self._tx(work)

    def close(self) -> None:
        with self._pool_guard:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # --- migrations ---------------------------------------------------------------------

    def _lock_migrations(self, conn: Conn) -> None:
        # Held until the migration transaction ends: concurrent starters wait here.
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def _run_script(self, conn: Conn, sql: str) -> None:
        if not isinstance(conn, QmarkConnection):
            raise TypeError(f"not a connection of this store: {conn!r}")
        # Several statements in one call: allowed by psycopg without parameters.
        conn.raw.execute(sql.encode())

    # --- named locks --------------------------------------------------------------------

    @contextmanager
    def _advisory_lock(self, kind: str, key: str) -> Iterator[None]:
        lock_id = _lock_id(kind, key)
        with _translated():
            conn = psycopg.connect(self._url, autocommit=True, **self._connect_kwargs())
        try:
            with _translated():
                # lock_timeout bounds the wait for an advisory lock as for any other lock.
                conn.execute(
                    "SELECT set_config('lock_timeout', %s, false)",
                    (f"{max(1, round(self._lock_timeout_s * 1000))}ms",),
                )
                try:
                    conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
                except errors.LockNotAvailable:
                    raise LockTimeout(
                        f"the {kind} lock of {key!r} was not granted within "
                        f"{self._lock_timeout_s:g} s"
                    ) from None
            yield
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
        finally:
            # Ending the session releases the lock in any case.
            conn.close()

    def _named_lock(self, kind: str, key: str) -> AbstractContextManager[None]:
        return self._advisory_lock(kind, key)
