"""SQLite transactions (``workers.store.sqlite_tx``): a connection waiting for the writer
lock is not starved by one that keeps committing short transactions, and still gives up
after its busy timeout; a transaction that need not be durable commits without ``fsync``;
the threads of one process queue for the lock in turn, and a forked child has a queue of
its own."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from workers.store import sqlite_tx
from workers.store.sqlite_tx import begin_immediate, connect, run_immediate, unit_of_work


@contextmanager
def _opened(path: Path, *busy_timeouts_s: float) -> Iterator[list[sqlite3.Connection]]:
    """A new database at ``path`` with a table ``t (n INTEGER)``, and one connection to it
    per busy timeout given; all closed when the block ends."""
    setup = connect(path, busy_timeout_s=5.0)
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.close()
    connections = [connect(path, busy_timeout_s=s) for s in busy_timeouts_s]
    try:
        yield connections
    finally:
        for conn in connections:
            conn.close()


@contextmanager
def _committing_back_to_back(conn: sqlite3.Connection) -> Iterator[Callable[[], int]]:
    """A thread committing short transactions on ``conn`` back to back, as the ingest
    bridge does during a burst (the lock is free only between one COMMIT and the next
    BEGIN); yields how many it has committed so far, once it has committed 20."""
    stop = threading.Event()
    commits = 0

    def keep_committing() -> None:
        nonlocal commits
        while not stop.is_set():
            run_immediate(conn, lambda c: c.execute("INSERT INTO t VALUES (1)"))
            commits += 1

    worker = threading.Thread(target=keep_committing)
    worker.start()
    try:
        while commits < 20:  # the connection is busy now
            threading.Event().wait(0.001)
        yield lambda: commits
    finally:
        stop.set()
        worker.join()


def test_a_waiting_writer_gets_the_lock_between_anothers_short_transactions(
    tmp_path: Path,
) -> None:
    with (
        _opened(tmp_path / "lock.db", 5.0, 30.0) as (busy, waiting),
        _committing_back_to_back(busy) as commits,
    ):
        started_at = commits()
        begin_immediate(waiting)
        waited_for = commits() - started_at
        waiting.execute("COMMIT")
    # SQLite's own busy handler sleeps up to 100 ms a try and let the other connection
    # commit thousands of times first; trying every millisecond finds a gap within a few
    # hundred.
    assert waited_for < 2_000


def test_a_writer_gives_up_after_its_busy_timeout(tmp_path: Path) -> None:
    with _opened(tmp_path / "lock.db", 5.0, 0.05) as (holder, waiting):
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


def test_a_unit_that_is_not_durable_commits_without_fsync_and_restores_the_setting(
    tmp_path: Path,
) -> None:
    seen: list[int] = []

    def look(c: sqlite3.Connection) -> None:
        seen.append(c.execute("PRAGMA synchronous").fetchone()[0])
        c.execute("INSERT INTO t VALUES (1)")

    with _opened(tmp_path / "sync.db", 5.0) as (conn,):  # synchronous FULL (2)
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


# --- the writer queue of a process ------------------------------------------------------------


def test_threads_of_one_process_take_turns_between_back_to_back_transactions(
    tmp_path: Path,
) -> None:
    waits: list[int] = []
    with (
        _opened(tmp_path / "turns.db", 5.0, 5.0) as (busy, other),
        _committing_back_to_back(busy) as commits,
    ):
        for _ in range(20):
            started_at = commits()
            run_immediate(other, lambda c: c.execute("INSERT INTO t VALUES (2)"))
            waits.append(commits() - started_at)
    # The gate goes to the thread that waited: at most the transaction running when it
    # came, and the one that may have been starting, come first. (A plain lock goes back
    # to the thread that gave it up and asks again at once.)
    assert max(waits) <= 2, waits


def test_a_thread_queued_behind_its_process_gives_up_after_the_busy_timeout(
    tmp_path: Path,
) -> None:
    inside, leave = threading.Event(), threading.Event()
    with _opened(tmp_path / "queued.db", 5.0, 0.05) as (holder, waiting):

        def hold() -> None:
            with unit_of_work(holder):
                holder.execute("INSERT INTO t VALUES (1)")
                inside.set()
                leave.wait(10)

        worker = threading.Thread(target=hold)
        worker.start()
        try:
            assert inside.wait(10)
            with pytest.raises(sqlite3.OperationalError, match=r"locked.*busy timeout of 0\.05 s"):
                run_immediate(waiting, lambda c: c.execute("INSERT INTO t VALUES (2)"))
            assert not waiting.in_transaction
        finally:
            leave.set()
            worker.join()
        run_immediate(waiting, lambda c: c.execute("INSERT INTO t VALUES (2)"))  # free again
        assert waiting.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (2,)]


def test_a_second_connection_of_the_same_thread_waits_for_sqlites_lock_not_forever(
    tmp_path: Path,
) -> None:
    # The gate lets the thread that holds it in again: its second connection then meets
    # SQLite's writer lock, held by its first, and gives up after its own busy timeout.
    with _opened(tmp_path / "nested.db", 5.0, 0.05) as (first, second):
        with unit_of_work(first):
            first.execute("INSERT INTO t VALUES (1)")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                run_immediate(second, lambda c: c.execute("INSERT INTO t VALUES (2)"))
        run_immediate(second, lambda c: c.execute("INSERT INTO t VALUES (3)"))
        assert second.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (3,)]


def test_a_forked_child_writes_while_a_parent_thread_is_inside_a_unit_of_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The child inherits the gate as the parent's thread held it, but not that thread: it
    # must start with gates of its own. (SQLite's own lock is not held across the fork:
    # the parent's unit has not begun its transaction yet when the fork happens.)
    path = tmp_path / "fork.db"
    in_gate, forked = threading.Event(), threading.Event()
    real_begin = sqlite_tx.begin_immediate

    with _opened(path, 5.0) as (parent,):

        def hold_the_gate() -> None:
            with unit_of_work(parent):
                forked.wait(10)  # inside the gate and the transaction until the child ran
                parent.execute("INSERT INTO t VALUES (1)")

        def begin_after_the_fork(conn: sqlite3.Connection, **kw: float | None) -> None:
            if conn is parent:
                in_gate.set()
                assert forked.wait(10)
            real_begin(conn, **kw)

        monkeypatch.setattr(sqlite_tx, "begin_immediate", begin_after_the_fork)
        worker = threading.Thread(target=hold_the_gate)
        worker.start()
        try:
            assert in_gate.wait(10)
            pid = os.fork()
            if pid == 0:  # the child: write, and tell how it went by the exit code
                code = 1
                try:
                    child = connect(path, busy_timeout_s=2.0)
                    run_immediate(child, lambda c: c.execute("INSERT INTO t VALUES (2)"))
                    code = 0
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
        finally:
            forked.set()
            worker.join()
        assert os.waitstatus_to_exitcode(status) == 0
        assert parent.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (2,)]


class _Interrupted(Exception):
    pass


class _TurnThatIsInterrupted:
    """A waiter's turn whose wait ends with an exception, as Dramatiq's time limit raises
    one in a worker thread: before the gate is handed over (when ``interrupt`` is set), or
    just after it was."""

    def __init__(self, *, after_handover: bool, interrupt: threading.Event) -> None:
        self._lock = threading.Lock()
        self.after_handover, self.interrupt = after_handover, interrupt

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if timeout < 0:  # the gate takes the turn at once when it queues the waiter
            return self._lock.acquire(blocking)
        if self.after_handover:
            self._lock.acquire(timeout=timeout)
        else:
            self.interrupt.wait(timeout)
        raise _Interrupted

    def release(self) -> None:
        self._lock.release()


@pytest.mark.parametrize("after_handover", [False, True])
def test_a_waiter_interrupted_in_the_queue_does_not_keep_the_gate(after_handover: bool) -> None:
    interrupt = threading.Event()
    gate = sqlite_tx._Gate(
        turn=lambda: _TurnThatIsInterrupted(after_handover=after_handover, interrupt=interrupt)
    )
    assert gate.acquire(5.0)  # this thread holds it
    outcome: list[str] = []

    def wait_in_the_queue() -> None:
        try:
            gate.acquire(5.0)
        except _Interrupted:
            outcome.append("interrupted")

    waiter = threading.Thread(target=wait_in_the_queue)
    waiter.start()
    while not gate._waiters:  # it is in the queue
        threading.Event().wait(0.001)
    if not after_handover:
        interrupt.set()  # interrupted while this thread still holds the gate
        waiter.join(5)
    gate.release()  # (after_handover: handed to the waiter, whose wait then ends so)
    waiter.join(5)

    assert outcome == ["interrupted"]
    # Nobody holds the gate and nobody waits: the next writer gets it at once.
    assert gate._owner is None and not gate._waiters
    assert gate.acquire(0)
    gate.release()
