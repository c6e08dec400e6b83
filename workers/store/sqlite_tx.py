"""The SQLite connection and write-transaction shape shared by the store, the batcher and
the budget.

:func:`connect` opens a connection as they all need it: no implicit transactions, the busy
timeout, WAL, the ``synchronous`` setting and foreign keys enforced.

``BEGIN IMMEDIATE`` takes the file's single writer lock up front (waiting up to the
connection's busy timeout), so a transaction never has to upgrade a read lock and two
writers cannot deadlock. Callers wrap the call in their own error translation.

Waiting for that lock is done here, not by SQLite's busy handler: the handler sleeps ever
longer between tries (up to 100 ms a try), so a process that keeps committing short
transactions (the ingest bridge during a burst) starved a waiting one (the batcher) for
over a second. :func:`begin_immediate` tries again every millisecond or so instead, until
the connection's busy timeout; the busy handler still covers every other statement.

Within one process, the threads that want to write to one file first queue on a lock of the
process (:func:`_gate`): only the first of them tries for SQLite's lock, the others sleep
in the queue without the GIL and are woken the moment it is their turn. Sixteen actor
threads all trying every millisecond made about ten tries per transaction, and the
thread holding the writer lock had to win the GIL against all of them for every statement,
so it held the lock several times longer than its work took.

Inside a unit of work (:func:`unit_of_work`: one transaction around many writes, so that
they share one commit and one ``fsync``), a write runs under a ``SAVEPOINT`` instead: when
it raises, only its own changes are rolled back and the unit goes on.

A transaction opened with ``durable=False`` commits with ``synchronous = NORMAL``: no
``fsync`` while the writer lock is held. In WAL mode such a commit survives a crash of the
process, and a power cut can lose it only together with the commits after it up to the
next durable one (whose ``fsync`` covers every frame before it). It is for writes whose loss
costs nothing: leases (they expire), marks that a status was published (it is published
once more, same ``message_id``), marks that an event was handed on.
"""

from __future__ import annotations

import collections
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

__all__ = ["begin_immediate", "connect", "run_immediate", "unit_of_work"]

T = TypeVar("T")

_SAVEPOINT = "allegro_feed_write"
_WAL_RETRY_S = 0.01
#: Pause between tries for the writer lock, s (a random one in this range).
_LOCK_RETRY_S = (0.0005, 0.0015)


class _Gate:
    """A reentrant lock that is handed to its waiters in the order they came.

    ``threading.Lock`` is not fair: a thread that releases it and asks again at once (a
    writer committing back to back) gets it again before the waiter it woke has run, and
    could starve the other threads of its process past their busy timeout. Here ``release``
    hands the gate to the first waiter, so whoever asks next queues behind it."""

    def __init__(self, turn: Callable[[], Any] = threading.Lock) -> None:
        self._turn = turn  # makes the lock a waiter sleeps on (a test interrupts it)
        self._guard = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiters: collections.deque[tuple[int, Any]] = collections.deque()

    def acquire(self, timeout_s: float) -> bool:
        """Take the gate, waiting up to ``timeout_s`` (0: not at all); False when the
        time passed first."""
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._waiters:
                self._owner, self._depth = me, 1
                return True
            if timeout_s <= 0:
                return False
            turn = self._turn()
            turn.acquire()
            entry = (me, turn)
            self._waiters.append(entry)
        try:
            turn.acquire(timeout=timeout_s)
        except BaseException:
            # Interrupted while waiting (Dramatiq's time limit raises in the thread): leave
            # the queue, or pass the gate on if it was handed over meanwhile, so that the
            # process's other writers are not stuck behind a thread that went away.
            with self._guard:
                handed = self._owner == me
                if not handed:
                    self._waiters.remove(entry)
            if handed:
                self.release()
            raise
        with self._guard:
            if self._owner == me:  # handed over (perhaps just as the time ran out)
                return True
            self._waiters.remove(entry)
            return False

    def release(self) -> None:
        with self._guard:
            self._depth -= 1
            if self._depth:
                return
            if self._waiters:
                self._owner, turn = self._waiters.popleft()
                self._depth = 1
                turn.release()
            else:
                self._owner = None


#: The writer queue of each database file within this process (see the module doc).
_GATES: dict[str, _Gate] = {}
_GATES_GUARD = threading.Lock()


def _forget_gates() -> None:
    # A forked child starts with none: a gate held by a thread of the parent (which does
    # not exist in the child) would never be given back.
    global _GATES_GUARD
    _GATES.clear()
    _GATES_GUARD = threading.Lock()


os.register_at_fork(after_in_child=_forget_gates)


def _gate(path: str | os.PathLike[str]) -> _Gate:
    """The writer queue of the database file ``path`` in this process. Reentrant: a
    thread in a unit of work that opens another on a second connection to the file gets
    past it, and then waits for SQLite's lock as it did before."""
    key = os.path.realpath(path) if str(path) != ":memory:" else ":memory:"
    with _GATES_GUARD:
        gate = _GATES.get(key)
        if gate is None:
            gate = _GATES[key] = _Gate()
        return gate


class _Connection(sqlite3.Connection):
    """A connection that knows its busy timeout (for :func:`begin_immediate`), its
    ``synchronous`` setting (restored after a transaction that is not durable) and the
    writer queue of its file in this process."""

    busy_timeout_s: float = 0.0
    synchronous: str = "FULL"
    gate: _Gate | None = None
    #: how many units without savepoints of their own are open (see unit_of_work)
    joined: int = 0


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
        path,
        timeout=busy_timeout_s,
        isolation_level=None,
        check_same_thread=False,
        factory=_Connection,
    )
    conn.busy_timeout_s = busy_timeout_s
    conn.synchronous = synchronous
    conn.gate = _gate(path)
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


def begin_immediate(conn: sqlite3.Connection, *, timeout_s: float | None = None) -> None:
    """``BEGIN IMMEDIATE`` on ``conn``, trying again every millisecond or so while another
    connection holds the writer lock, up to ``timeout_s`` (default: the busy timeout of a
    connection from :func:`connect`; other connections: SQLite's own busy handler). Raises
    SQLite's "database is locked" when the timeout passes."""
    own_s = getattr(conn, "busy_timeout_s", 0.0)
    if own_s <= 0:
        conn.execute("BEGIN IMMEDIATE")
        return
    if timeout_s is None:
        timeout_s = own_s
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(random.uniform(*_LOCK_RETRY_S))  # jitter, not secrets
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(own_s * 1000)}")


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def run_immediate(
    conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T], *, durable: bool = True
) -> T:
    """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction: committed when it
    returns, rolled back when it raises (the exception goes on). Within a transaction
    already open on ``conn`` (a unit of work), ``work`` runs under a savepoint: released
    when it returns, rolled back to when it raises; the commit is the unit's.
    ``durable=False``: see the module doc."""
    if getattr(conn, "joined", 0) and conn.in_transaction:
        # Inside a unit without savepoints (the common case of a batch's writes): the
        # unit's rollback covers this write, so no context manager is needed around it.
        return work(conn)
    with unit_of_work(conn, durable=durable):
        return work(conn)


@contextmanager
def unit_of_work(
    conn: sqlite3.Connection, *, durable: bool = True, savepoints: bool = True
) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` transaction around the block: every write on ``conn``
    inside it joins (see :func:`run_immediate`) and is committed once, when the block
    ends; rolled back when the block raises. A nested unit is a savepoint of the outer
    one: when it raises, only its own writes are rolled back, and the outer unit's commit
    decides the durability. ``durable=False``: see the module doc.

    ``savepoints=False``: the block is all or nothing. The units and writes inside it join
    it without savepoints of their own (two statements each, saved on every write), so a
    failure inside must leave the block, which is rolled back as a whole: for a block in
    which nothing catches a failed write and goes on."""
    joined = getattr(conn, "joined", 0)
    if conn.in_transaction and joined:
        yield  # inside a unit without savepoints: its own rollback covers this
        return
    if conn.in_transaction:
        # Savepoints of one name nest: ROLLBACK TO and RELEASE act on the innermost.
        conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            with _joining(conn, not savepoints):
                yield
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                conn.execute(f"RELEASE {_SAVEPOINT}")
            raise
        conn.execute(f"RELEASE {_SAVEPOINT}")
        return
    level = getattr(conn, "synchronous", "FULL")  # set by connect()
    relaxed = not durable and level in ("FULL", "EXTRA")
    with _queued(conn) as remaining_s:
        if relaxed:
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            begin_immediate(conn, timeout_s=remaining_s)
            try:
                with _joining(conn, not savepoints):
                    yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
        finally:
            if relaxed:
                conn.execute(f"PRAGMA synchronous = {level}")


@contextmanager
def _queued(conn: sqlite3.Connection) -> Iterator[float | None]:
    """Wait for this process's turn to write to ``conn``'s file (its gate, module doc):
    the block runs holding it, and gets what is left of the busy timeout for SQLite's
    lock (None: not a connection of :func:`connect`, no gate). Raises SQLite's "database
    is locked" when the gate is not free within the busy timeout."""
    gate = getattr(conn, "gate", None)
    if gate is None:
        yield None
        return
    timeout_s = conn.busy_timeout_s  # type: ignore[attr-defined]
    started = time.monotonic()
    if not gate.acquire(timeout_s):
        raise sqlite3.OperationalError(
            "database is locked (other threads of this process were writing to it for "
            f"longer than the busy timeout of {timeout_s:g} s)"
        )
    try:
        yield max(0.0, timeout_s - (time.monotonic() - started)) if timeout_s > 0 else 0.0
    finally:
        gate.release()


@contextmanager
def _joining(conn: sqlite3.Connection, join: bool) -> Iterator[None]:
    """While the block runs, units and writes on ``conn`` join without savepoints (when
    ``join``; connections not made by :func:`connect` always use savepoints)."""
    if not join or not isinstance(conn, _Connection):
        yield
        return
    conn.joined += 1
    try:
        yield
    finally:
        conn.joined -= 1
