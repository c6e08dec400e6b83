"""Pieces both backends share: the clock, lock naming, per-thread re-entrancy of locks,
reading the parts of a SKU from a row, and what the shared SQL needs of a backend
(:class:`Conn`, :class:`Dialect`; :class:`QmarkConnection` for psycopg's)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from schemas.status import Status
from workers.store._merge import Parts

__all__ = [
    "CHUNK",
    "HISTORY_PAGE",
    "PARTS_COLUMNS",
    "TERMINAL_STATUSES",
    "Clock",
    "Conn",
    "Cursor",
    "Dialect",
    "HeldLocks",
    "QmarkConnection",
    "chunks",
    "lock_digest",
    "marks",
    "parts_from_row",
    "to_utc",
    "utc_now",
]

#: Returns the current time, timezone-aware. Injected in tests (leases, cache times).
Clock = Callable[[], datetime]

#: Statuses that end an event's story: at most one per event_id is stored. Every status is
#: terminal today; a progress status added later would simply not be in this set.
TERMINAL_STATUSES: frozenset[Status] = frozenset(Status)

#: Rows read per query by ``iter_history`` (so no transaction stays open while iterating).
HISTORY_PAGE = 500


def utc_now() -> datetime:
    return datetime.now(UTC)


def lock_digest(kind: str, key: str) -> bytes:
    """A stable 16-byte digest naming the lock ``kind`` (``parameters``, ``refresh``) of
    ``key``; the same on every host and Python version (unlike ``hash()``)."""
    return hashlib.blake2b(f"allegro-feed:{kind}:{key}".encode(), digest_size=16).digest()


class HeldLocks:
    """Which named cross-process locks the current thread holds, so that taking one again
    in the same thread (nested ``with``) does not wait for itself.

    Database sessions and lock files are not re-entrant across separate acquisitions; this
    keeps a per-thread count and acquires for real only on the outermost ``with``.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] | None = getattr(self._local, "counts", None)
        if counts is None:
            counts = {}
            self._local.counts = counts
        return counts

    @contextmanager
    def hold(
        self, name: str, acquire: Callable[[], AbstractContextManager[None]]
    ) -> Iterator[None]:
        counts = self._counts()
        if counts.get(name):
            counts[name] += 1
            try:
                yield
            finally:
                counts[name] -= 1
            return
        with acquire():
            counts[name] = 1
            try:
                yield
            finally:
                del counts[name]


#: The columns of ``products`` that make up :class:`~workers.store._merge.Parts`, in the
#: order :func:`parts_from_row` reads them.
PARTS_COLUMNS = (
    "event_id, content, content_version, stock, stock_version, price, price_version, "
    "deleted, deleted_version"
)


#: Values per ``IN (...)`` list: well below SQLite's and PostgreSQL's parameter limits.
CHUNK = 500


def chunks(values: Iterable[str]) -> Iterator[list[str]]:
    """``values`` without repeats, in lists of at most :data:`CHUNK`."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]


def marks(values: Sequence[Any]) -> str:
    """The ``?`` placeholders of an ``IN (...)`` list of ``values``."""
    return ", ".join("?" * len(values))


def parts_from_row(row: Sequence[Any], load_json: Callable[[Any], Any]) -> Parts:
    """:class:`Parts` from a row of :data:`PARTS_COLUMNS`; ``load_json`` decodes the JSON
    columns as the backend returns them (text for SQLite, already decoded for JSONB)."""
    return Parts(
        event_id=str(row[0]),
        content=load_json(row[1]) if row[1] is not None else None,
        content_version=row[2],
        stock=load_json(row[3]) if row[3] is not None else None,
        stock_version=row[4],
        price=load_json(row[5]) if row[5] is not None else None,
        price_version=row[6],
        deleted=bool(row[7]),
        deleted_version=row[8],
    )


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Conn(Protocol):
    """What the shared SQL needs of a connection (``sqlite3.Connection`` as it is)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...


class QmarkConnection:
    """A psycopg connection that takes the shared SQL's ``?`` placeholders (``raw``: the
    connection itself)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        cursor: Cursor = self.raw.execute(sql.replace("?", "%s"), parameters)
        return cursor


@dataclass(frozen=True)
class Dialect:
    """How one database takes and gives values the shared SQL cannot spell alike."""

    name: str  # the folder of its migrations
    json_in: Callable[[Any], Any]  # Python value -> parameter of a JSON column
    json_out: Callable[[Any], Any]  # a JSON column's value -> Python value
    time_in: Callable[[datetime], Any]  # aware datetime -> parameter of a time column
    time_out: Callable[[Any], datetime]  # a time column's value -> aware UTC datetime
    lock_row: str  # appended to the SELECT of a SKU's row in record_event
    schema_version_ddl: str
