"""The store in one SQLite file: embedded, for a single host.

Concurrency: the database runs in WAL mode (readers never wait for the writer), every write
is a ``BEGIN IMMEDIATE`` transaction (the one writer lock is taken up front, so two writers
never deadlock on a lock upgrade, and events of a SKU are merged one at a time; a waiting
writer gives up after ``busy_timeout_s``), and each thread has its own connection. The named
locks (``parameters_lock``, ``refresh_lock``) are lock files in ``<database>.locks/``,
exclusive between threads and processes of one host.

The file holds the sellers' refresh tokens, so it is readable by its owner only: it is
created 0600 (SQLite gives its ``-wal`` and ``-shm`` files the database file's mode), the
folders the store creates for it are 0700, and an existing file open to others is tightened
when the store is opened, with a warning (:func:`secure_database_file`).

Times are stored as UTC ISO 8601 text with microseconds (one fixed format, so text order is
time order), JSON as text, booleans as 0/1.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import filelock
import structlog

from workers import _json as fast_json
from workers.store._common import Clock, Conn, Dialect, lock_digest, to_utc
from workers.store._migrations import split_statements
from workers.store._sql import SqlStore
from workers.store.base import LockTimeout, StoreError, StoreUnavailable
from workers.store.sqlite_tx import connect, run_immediate
from workers.store.sqlite_tx import unit_of_work as _unit_of_work

__all__ = ["SQLiteStore", "secure_database_file", "translated_errors"]

T = TypeVar("T")

log = structlog.get_logger(__name__)

_DIR_MODE = 0o700
_FILE_MODE = 0o600
# Messages of sqlite3.OperationalError that a later retry may not see again.
_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o", "disk is full")


def _make_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents 0700 (folders that exist are left alone)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=_DIR_MODE)
        except FileExistsError:
            continue  # another process made it first
        os.chmod(path, _DIR_MODE)  # mkdir's mode is filtered by the umask


def secure_database_file(path: Path) -> None:
    """Make sure the database file ``path`` (and its ``-wal``/``-shm`` files, when there)
    can be read and written by its owner only.

    A missing file is created empty with mode 0600 before SQLite opens it (SQLite would
    create it 0644 minus the umask), in folders created 0700. A file open to group or
    others is changed to 0600 and a warning is logged (the path and modes only; a file of
    another owner, which cannot be changed, only gets the warning). Raises
    :class:`~workers.store.base.StoreError` when the file cannot be created."""
    try:
        _make_dirs(path.parent)
        with suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE))
    except OSError as exc:
        raise StoreError(
            f"cannot create the SQLite store {str(path)!r}: {exc.strerror}; check "
            "ALLEGRO_FEED_DATABASE_URL and the folder's permissions"
        ) from None
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = file.stat().st_mode & 0o777
        except OSError:
            continue
        if not mode & 0o077:
            continue
        tight = mode & 0o700 | _FILE_MODE
        try:
            os.chmod(file, tight)
        except OSError as exc:
            log.warning(
                "store.file_permissions_open",
                path=str(file),
                mode=f"{mode:04o}",
                error=exc.strerror,
                fix="make the store's files 0600, owned by the user running allegro-feed",
            )
            continue
        log.warning(
            "store.file_permissions_tightened",
            path=str(file),
            mode_was=f"{mode:04o}",
            mode=f"{tight:04o}",
            why="the store holds the sellers' OAuth tokens",
        )


def _json_in(value: Any) -> str | None:
    return None if value is None else fast_json.dumps_text(value)


def _time_in(value: datetime) -> str:
    return to_utc(value).isoformat(timespec="microseconds")


def _time_out(text: str) -> datetime:
    return to_utc(datetime.fromisoformat(text))


_DIALECT = Dialect(
    name="sqlite",
    json_in=_json_in,
    json_out=fast_json.loads,
    time_in=_time_in,
    time_out=_time_out,
    lock_row="",  # the transaction holds the writer lock of the whole file
    schema_version_ddl="CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY "
    "KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
)


class translated_errors:
    """sqlite3's exceptions become the store's, once, here (STYLE lesson 2):
    :class:`~workers.store.base.StoreUnavailable` for those a later retry may not see
    again, :class:`~workers.store.base.StoreError` for the others; their text starts with
    ``source`` (the batching tables use this too).

    A class rather than a generator-based context manager: it wraps every write of the hot
    paths, and entering and leaving a generator costs several times as much."""

    __slots__ = ("source",)

    def __init__(self, source: str = "SQLite") -> None:
        self.source = source

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        if exc is None or not isinstance(exc, sqlite3.Error):
            return  # nothing to translate: an exception goes on as it is
        if isinstance(exc, sqlite3.OperationalError) and any(
            word in str(exc).lower() for word in _TRANSIENT
        ):
            raise StoreUnavailable(f"{self.source}: {exc}") from exc
        raise StoreError(f"{self.source}: {exc}") from exc


class SQLiteStore(SqlStore):
    """The :class:`~workers.store.base.Store` in the SQLite file ``path`` (its folder is
    created).

    ``busy_timeout_s``: how long a writer waits for another's transaction before
    :class:`~workers.store.base.StoreUnavailable`. ``lock_timeout_s``: how long
    ``parameters_lock``/``refresh_lock`` wait before :class:`~workers.store.base.LockTimeout`.
    ``clock`` returns the time used for leases and record times (injected in tests).
    ``synchronous``: SQLite's setting; FULL (the default) makes every commit durable, so an
    event acknowledged to RabbitMQ after it was recorded survives a power cut.
    """

    dialect = _DIALECT

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        busy_timeout_s: float = 30.0,
        lock_timeout_s: float = 60.0,
        synchronous: str = "FULL",
    ) -> None:
        super().__init__(clock)
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"unknown SQLite synchronous setting {synchronous!r}")
        self.path = Path(path)
        secure_database_file(self.path)
        self._busy_timeout_s = busy_timeout_s
        self._lock_timeout_s = lock_timeout_s
        self._synchronous = synchronous.upper()
        self._local = threading.local()
        self._guard = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._lock_dir = Path(f"{self.path}.locks")

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # --- connections and transactions -------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        if conn is not None:
            # A forked child must not use its parent's connections (SQLite forbids it):
            # forget them, without closing what the parent still uses.
            with self._guard:
                self._connections = []
        with translated_errors():
            conn = connect(
                self.path, busy_timeout_s=self._busy_timeout_s, synchronous=self._synchronous
            )
        with self._guard:
            if self._closed:
                conn.close()
                raise StoreError(f"{self!r} is closed")
            self._connections.append(conn)
        self._local.conn = conn
        self._local.pid = os.getpid()
        return conn

    def _tx(self, work: Callable[[Conn], T], *, durable: bool = True) -> T:
        # BEGIN IMMEDIATE takes the writer lock now (waiting up to the busy timeout), so
        # the transaction never has to upgrade a read lock and cannot deadlock.
        conn = self._conn()
        with translated_errors():
            return run_immediate(conn, work, durable=durable)

    @contextmanager
    def unit_of_work(self, *, durable: bool = True, savepoints: bool = True) -> Iterator[None]:
        """One transaction around the block for this thread's writes (the store's and
        those of a :meth:`connection`-sharing batching repository): one commit, one
        ``fsync`` (none with ``durable=False``). See
        :func:`workers.store.sqlite_tx.unit_of_work`."""
        conn = self._conn()
        with translated_errors(), _unit_of_work(conn, durable=durable, savepoints=savepoints):
            yield

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (for the batching repository, so that its writes join
        the store's units of work)."""
        return self._conn()

    def _read(self, work: Callable[[Conn], T]) -> T:
        # Autocommit: each statement reads one consistent snapshot (the reads are single
        # statements).
        with translated_errors():
            return work(self._conn())

    def close(self) -> None:
        with self._guard:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()

    # --- migrations ---------------------------------------------------------------------

    def _lock_migrations(self, conn: Conn) -> None:
        pass  # BEGIN IMMEDIATE already excludes every other writer

    def _run_script(self, conn: Conn, sql: str) -> None:
        # Statement by statement: executescript() would commit our transaction first.
        for statement in split_statements(sql):
            conn.execute(statement)

    # --- named locks --------------------------------------------------------------------

    @contextmanager
    def _file_lock(self, kind: str, key: str) -> Iterator[None]:
        # A fresh lock object per acquisition: its own descriptor, so it excludes other
        # threads of this process as well as other processes.
        self._lock_dir.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        path = self._lock_dir / f"{kind}-{lock_digest(kind, key).hex()}.lock"
        lock = filelock.FileLock(
            str(path), timeout=self._lock_timeout_s, mode=_FILE_MODE, thread_local=False
        )
        try:
            lock.acquire()
        except filelock.Timeout:
            raise LockTimeout(
                f"the {kind} lock of {key!r} was not granted within {self._lock_timeout_s:g} s"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _named_lock(self, kind: str, key: str) -> AbstractContextManager[None]:
        return self._file_lock(kind, key)
