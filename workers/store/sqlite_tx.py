"""The SQLite connection and write-transaction shape shared by the store, the batcher and
the budget.

:func:`connect` opens a connection as they all need it: no implicit transactions, the busy
timeout, WAL, the ``synchronous`` setting and foreign keys enforced.

``BEGIN IMMEDIATE`` takes the file's single writer lock up front (waiting up to the
connection's busy timeout), so a transaction never has to upgrade a read lock and two
writers cannot deadlock. Callers wrap the call in their own error translation.

Inside a unit of work (:func:`unit_of_work`: one transaction around many writes, so that
they share one commit and one ``fsync``), a write runs under a ``SAVEPOINT`` instead: when
it raises, only its own changes are rolled back and the unit goes on.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

__all__ = ["connect", "run_immediate", "unit_of_work"]

T = TypeVar("T")

_SAVEPOINT = "allegro_feed_write"
_WAL_RETRY_S = 0.01


def connect(
    path: str | os.PathLike[str], *, busy_timeout_s: float, synchronous: str = "FULL"
) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` in WAL mode, with the busy timeout,
    ``synchronous`` (SQLite's setting: FULL makes every commit durable) and foreign keys
    enforced.

    ``isolation_level=None``: no implicit transactions (:func:`run_immediate` begins
    them). ``check_same_thread=False`` only so that an owner may close every thread's
    connection; each is meant for the thread that opened it. Raises ``sqlite3.Error``
    (``DatabaseError`` when the file cannot use WAL); the connection is closed then."""
    conn = sqlite3.connect(
        path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        _use_wal(conn, path, busy_timeout_s)
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection, path: str | os.PathLike[str], timeout_s: float) -> None:
    # Switching a new database to WAL needs a moment of exclusive access, and SQLite answers
    # "locked" at once, without its busy handler, while another process has it (several
    # workers starting on a fresh file): try again until the busy timeout.
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(_WAL_RETRY_S)
            continue
        if mode.lower() != "wal":
            raise sqlite3.DatabaseError(f"cannot use WAL mode for {path} (got {mode!r})")
        return


def run_immediate(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction: committed when it
    returns, rolled back when it raises (the exception goes on). Within a transaction
    already open on ``conn`` (a unit of work), ``work`` runs under a savepoint: released
    when it returns, rolled back to when it raises; the commit is the unit's."""
    with unit_of_work(conn):
        return work(conn)


@contextmanager
def unit_of_work(conn: sqlite3.Connection) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` transaction around the block: every write on ``conn``
    inside it joins (see :func:`run_immediate`) and is committed once, when the block
    ends; rolled back when the block raises. A nested unit is a savepoint of the outer
    one: when it raises, only its own writes are rolled back."""
    if conn.in_transaction:
        # Savepoints of one name nest: ROLLBACK TO and RELEASE act on the innermost.
        conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            yield
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                conn.execute(f"RELEASE {_SAVEPOINT}")
            raise
        conn.execute(f"RELEASE {_SAVEPOINT}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
