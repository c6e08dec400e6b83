"""The rate budget in a SQLite file: shared by the processes of one host.

Every acquisition is one ``BEGIN IMMEDIATE`` transaction: it takes the file's single
writer lock before reading, so two processes never decide on the same counts (and never
deadlock on a lock upgrade). The budget uses its own table (created if missing) and its own
connection, so it may live in the store's database file or in a file of its own. Time is
the host's clock (every process of the host reads the same one).

Not fork-safe across an open connection: a forked child opens its own.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from workers.budget._window import KeyState
from workers.budget.backends._sql import CREATE_TABLE, write_changed
from workers.budget.backends._state import StateBudget, States
from workers.budget.base import Clock
from workers.budget.config import BudgetConfig
from workers.budget.errors import BudgetUnavailable
from workers.store.sqlite_tx import connect, run_immediate

__all__ = ["SQLiteBudget"]

T = TypeVar("T")
_SELECT = "SELECT state FROM allegro_rate_budget WHERE kind = ? AND subject = ?"
_UPSERT = (
    "INSERT INTO allegro_rate_budget (kind, subject, state) VALUES (?, ?, ?) "
    "ON CONFLICT (kind, subject) DO UPDATE SET state = excluded.state"
)


class SQLiteBudget(StateBudget):
    """A :class:`~workers.budget.base.RateBudget` in the SQLite file ``path`` (its folder is
    created). ``busy_timeout_s``: how long to wait for another process's transaction before
    :class:`~workers.budget.errors.BudgetUnavailable`. ``clock``: epoch seconds (default
    ``time.time``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: BudgetConfig | None = None,
        *,
        clock: Clock | None = None,
        busy_timeout_s: float = 30.0,
    ) -> None:
        super().__init__(config or BudgetConfig(), clock=clock)
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        # One connection per process; the threads of the process take turns on it (the
        # file admits one writer at a time anyway, and waiting here is cheaper than in
        # SQLite's busy handler).
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._closed = False

    def __repr__(self) -> str:
        return f"SQLiteBudget({str(self.path)!r})"

    # --- connection ---------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise BudgetUnavailable(f"{self!r} is closed")
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The budget's state is worth less than a durable fsync per request: after a power
        # cut a few grants may be forgotten, the window is never corrupted.
        conn = connect(self.path, busy_timeout_s=self._busy_timeout_s, synchronous="NORMAL")
        try:
            conn.execute(CREATE_TABLE)
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise BudgetUnavailable(f"rate budget in SQLite {self.path}: {exc}") from exc

    def _atomically(
        self,
        keys: Sequence[tuple[str, str]],
        now: float | None,
        work: Callable[[States, float], T],
    ) -> T:
        """One write transaction: the states are read after it took the file's lock."""
        with self._lock, self._translated():

            def apply(conn: sqlite3.Connection) -> T:
                states = {key: self._read(conn, key) for key in keys}
                return write_changed(
                    states,
                    time.time() if now is None else now,
                    work,
                    lambda kind, subject, text: conn.execute(_UPSERT, (kind, subject, text)),
                )

            return run_immediate(self._connection(), apply)

    @staticmethod
    def _read(conn: sqlite3.Connection, key: tuple[str, str]) -> KeyState:
        row = conn.execute(_SELECT, key).fetchone()
        return KeyState.from_json(row[0] if row else None)

    # --- the backend --------------------------------------------------------------------

    def _load(self, kind: str, subject: str) -> KeyState:
        with self._lock, self._translated():
            return self._read(self._connection(), (kind, subject))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            with suppress(sqlite3.Error):
                conn.close()
