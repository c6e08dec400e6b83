"""The rate budget in PostgreSQL: shared by every process on every host.

Every acquisition is one transaction that locks the rows of its budgets with
``SELECT ... FOR UPDATE`` (in (kind, subject) order, so two transactions never wait for each
other in a cycle), decides, and writes the new state back. The time is the database
server's ``clock_timestamp()``, read in the same statement: one clock for every host, so
skewed host clocks cannot stretch or shrink a window. Rows are created on first use by an
``INSERT ... ON CONFLICT DO NOTHING`` committed on its own, before any row is locked.

The budget uses its own table (created if missing, under an advisory lock so that several
processes starting together do not collide) and its own small connection pool, so it may
live in the store's database or elsewhere. Not fork-safe across an open pool: a forked
child opens its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from workers.budget._window import KeyState
from workers.budget.backends._sql import CREATE_TABLE, write_changed
from workers.budget.backends._state import StateBudget, States
from workers.budget.base import Clock
from workers.budget.config import BudgetConfig
from workers.budget.errors import BudgetUnavailable

__all__ = ["PostgresBudget"]

_Connection = psycopg.Connection[tuple[Any, ...]]
# pg_advisory_xact_lock key of the table creation: any fixed 64-bit number of our own.
_CREATE_LOCK = 0x616C_6C65_6772_6F62  # "allegrob"
_NOW = "extract(epoch FROM clock_timestamp())::float8"
_SELECT = "SELECT state FROM allegro_rate_budget WHERE kind = %s AND subject = %s"
_UPDATE = "UPDATE allegro_rate_budget SET state = %s WHERE kind = %s AND subject = %s"
T = TypeVar("T")


class PostgresBudget(StateBudget):
    """A :class:`~workers.budget.base.RateBudget` in the PostgreSQL database at ``url``.

    ``max_size``: pooled connections per process. ``pool_timeout_s``: longest wait for a
    pooled connection. ``connect_timeout_s``: per connection attempt. ``clock``: epoch
    seconds; without one, the server's clock.
    """

    def __init__(
        self,
        url: str,
        config: BudgetConfig | None = None,
        *,
        clock: Clock | None = None,
        max_size: int = 4,
        pool_timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(config or BudgetConfig(), clock=clock)
        self._url = url
        self._max_size = max_size
        self._pool_timeout_s = pool_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._pool: ConnectionPool | None = None
        self._pid = os.getpid()
        self._guard = threading.Lock()
        self._closed = False
        self._known: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        # Never the URL itself: it may carry a password.
        try:
            info = conninfo_to_dict(self._url)
        except psycopg.ProgrammingError:
            return "PostgresBudget(<invalid URL>)"
        return f"PostgresBudget(host={info.get('host')!r}, dbname={info.get('dbname')!r})"

    # --- connections --------------------------------------------------------------------

    def _get_pool(self) -> ConnectionPool:
        with self._guard:
            if self._closed:
                raise BudgetUnavailable(f"{self!r} is closed")
            if self._pool is not None and self._pid != os.getpid():
                self._pool, self._known = None, set()  # the parent's: leave it alone
            if self._pool is None:
                pool = ConnectionPool(
                    self._url,
                    min_size=1,
                    max_size=self._max_size,
                    open=False,
                    kwargs={
                        "autocommit": True,
                        "connect_timeout": max(1, round(self._connect_timeout_s)),
                    },
                    check=ConnectionPool.check_connection,
                    timeout=self._pool_timeout_s,
                    name="allegro-feed-budget",
                )
                try:
                    pool.open(wait=True, timeout=self._connect_timeout_s)
                    with pool.connection() as conn, conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
                        conn.execute(CREATE_TABLE)
                except BaseException:
                    pool.close()
                    raise
                self._pool, self._pid = pool, os.getpid()
            return self._pool

    @contextmanager
    def _connection(self) -> Iterator[_Connection]:
        try:
            with self._get_pool().connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise BudgetUnavailable(f"rate budget in {self!r}: {exc}") from exc

    def _ensure_rows(self, conn: _Connection, keys: Sequence[tuple[str, str]]) -> None:
        missing = sorted(k for k in keys if k not in self._known)
        if not missing:
            return
        fresh = KeyState().to_json()
        values = ", ".join(["(%s, %s, %s)"] * len(missing))
        params = [part for kind, subject in missing for part in (kind, subject, fresh)]
        conn.execute(
            f"INSERT INTO allegro_rate_budget (kind, subject, state) VALUES {values} "  # noqa: S608 - placeholders only
            "ON CONFLICT (kind, subject) DO NOTHING",
            params,
        )
        self._known.update(missing)

    def _lock_rows(
        self, conn: _Connection, keys: Sequence[tuple[str, str]]
    ) -> tuple[States, float] | None:
        """Lock and read the rows of ``keys``; None when one is missing (deleted)."""
        where = " OR ".join(["(kind = %s AND subject = %s)"] * len(keys))
        rows = conn.execute(
            f"SELECT kind, subject, state, {_NOW} FROM allegro_rate_budget WHERE {where} "  # noqa: S608 - placeholders only
            "ORDER BY kind, subject FOR UPDATE",
            [part for key in keys for part in key],
        ).fetchall()
        if len(rows) != len(keys):
            return None
        states = {(str(r[0]), str(r[1])): KeyState.from_json(r[2]) for r in rows}
        # Read while the rows are being locked: possibly before a wait for the lock, which
        # only makes it earlier (the state's own `at` keeps the time from running back).
        return states, float(rows[0][3])

    def _atomically(
        self,
        keys: Sequence[tuple[str, str]],
        now: float | None,
        work: Callable[[States, float], T],
    ) -> T:
        """One transaction with the rows of ``keys`` locked (created first if missing)."""
        for _ in range(2):
            with self._connection() as conn:
                self._ensure_rows(conn, keys)
                with conn.transaction():
                    locked = self._lock_rows(conn, keys)
                    if locked is None:
                        self._known.clear()  # rows were deleted: create them again
                        continue
                    states, server_now = locked
                    return write_changed(
                        states,
                        server_now if now is None else now,
                        work,
                        lambda kind, subject, text: conn.execute(_UPDATE, (text, kind, subject)),
                    )
        raise BudgetUnavailable(f"rate budget rows in {self!r} keep disappearing")

    # --- the backend --------------------------------------------------------------------

    def _load(self, kind: str, subject: str) -> KeyState:
        with self._connection() as conn:
            row = conn.execute(_SELECT, (kind, subject)).fetchone()
        return KeyState.from_json(row[0] if row else None)

    def _server_now(self) -> float:
        with self._connection() as conn:
            row = conn.execute(f"SELECT {_NOW}").fetchone()
        return float(row[0]) if row else 0.0

    def close(self) -> None:
        with self._guard:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()
