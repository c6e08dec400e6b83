"""The one SQLite write-transaction shape shared by the store, the batcher and the budget.

``BEGIN IMMEDIATE`` takes the file's single writer lock up front (waiting up to the
connection's busy timeout), so a transaction never has to upgrade a read lock and two
writers cannot deadlock. Callers wrap the call in their own error translation.

Inside a unit of work (:func:`unit_of_work`: one transaction around many writes, so that
they share one commit and one ``fsync``), a write runs under a ``SAVEPOINT`` instead: when
it raises, only its own changes are rolled back and the unit goes on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

__all__ = ["run_immediate", "unit_of_work"]

T = TypeVar("T")

_SAVEPOINT = "allegro_feed_write"


def run_immediate(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction: committed when it
    returns, rolled back when it raises (the exception goes on). Within a transaction
    already open on ``conn`` (a unit of work), ``work`` runs under a savepoint: released
    when it returns, rolled back to when it raises; the commit is the unit's."""
    if conn.in_transaction:
        conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            result = work(conn)
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                conn.execute(f"RELEASE {_SAVEPOINT}")
            raise
        conn.execute(f"RELEASE {_SAVEPOINT}")
        return result
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


@contextmanager
def unit_of_work(conn: sqlite3.Connection) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` transaction around the block: every write on ``conn``
    inside it joins (see :func:`run_immediate`) and is committed once, when the block
    ends; rolled back when the block raises. A nested unit is a savepoint of the outer
    one: when it raises, only its own writes are rolled back."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT allegro_feed_unit")
        try:
            yield
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK TO allegro_feed_unit")
                conn.execute("RELEASE allegro_feed_unit")
            raise
        conn.execute("RELEASE allegro_feed_unit")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
