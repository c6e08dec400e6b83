"""SQLite transactions (``workers.store.sqlite_tx``): a connection waiting for the writer
lock is not starved by one that keeps committing short transactions, and still gives up
after its busy timeout; a transaction that need not be durable commits without ``fsync``."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from workers.store.sqlite_tx import begin_immediate, connect, run_immediate, unit_of_work


def _table(path: Path) -> None:
    conn = connect(path, busy_timeout_s=5.0)
    conn.execute("CREATE TABLE t (n INTEGER)")
    conn.close()


def test_a_waiting_writer_gets_the_lock_between_anothers_short_transactions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lock.db"
    _table(path)
    busy = connect(path, busy_timeout_s=5.0)
    waiting = connect(path, busy_timeout_s=30.0)
    stop = threading.Event()
    commits = 0

    def keep_committing() -> None:
        # Back to back, as the ingest bridge does during a burst: the lock is free only
        # for the moment between one COMMIT and the next BEGIN.
        nonlocal commits
        while not stop.is_set():
            run_immediate(busy, lambda c: c.execute("INSERT INTO t VALUES (1)"))
            commits += 1

    worker = threading.Thread(target=keep_committing)
    worker.start()
    try:
        while commits < 20:  # the other connection is busy now
            threading.Event().wait(0.001)
        started_at = commits
        begin_immediate(waiting)
        waited_for = commits - started_at
        waiting.execute("COMMIT")
    finally:
        stop.set()
        worker.join()
        busy.close()
        waiting.close()
    # SQLite's own busy handler sleeps up to 100 ms a try and let the other connection
    # commit thousands of times first; trying every millisecond finds a gap within a few
    # hundred.
    assert waited_for < 2_000


def test_a_writer_gives_up_after_its_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    _table(path)
    holder = connect(path, busy_timeout_s=5.0)
    waiting = connect(path, busy_timeout_s=0.05)
    try:
        begin_immediate(holder)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            begin_immediate(waiting)
        assert not waiting.in_transaction
        # The connection keeps its busy timeout for every other statement.
        assert waiting.execute("PRAGMA busy_timeout").fetchone()[0] == 50
        holder.execute("COMMIT")
        begin_immediate(waiting)
        assert waiting.in_transaction
        waiting.execute("COMMIT")
    finally:
        holder.close()
        waiting.close()


def test_a_unit_that_is_not_durable_commits_without_fsync_and_restores_the_setting(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sync.db"
    _table(path)
    conn = connect(path, busy_timeout_s=5.0)  # synchronous FULL (2)
    seen: list[int] = []

    def look(c: sqlite3.Connection) -> None:
        seen.append(c.execute("PRAGMA synchronous").fetchone()[0])
        c.execute("INSERT INTO t VALUES (1)")

    try:
        run_immediate(conn, look, durable=False)
        run_immediate(conn, look)
        with unit_of_work(conn):  # a nested write follows its unit: durable here
            run_immediate(conn, look, durable=False)
        with pytest.raises(ZeroDivisionError), unit_of_work(conn, durable=False):
            look(conn)
            _ = 1 / 0
        assert seen == [1, 2, 2, 1]  # NORMAL, FULL, FULL, NORMAL
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 3  # last rolled back
    finally:
        conn.close()
