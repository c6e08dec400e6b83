"""The one SQLite write-transaction shape shared by the store, the batcher and the budget.

``BEGIN IMMEDIATE`` takes the file's single writer lock up front (waiting up to the
connection's busy timeout), so a transaction never has to upgrade a read lock and two
writers cannot deadlock. Callers wrap the call in their own error translation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

__all__ = ["run_immediate"]

T = TypeVar("T")


def run_immediate(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction: committed when it
    returns, rolled back when it raises (the exception goes on)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return result
