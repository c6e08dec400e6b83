"""What the shared SQL of the store needs of a backend, and the helpers built on it.

:class:`SqlCore` is the base of :class:`~workers.store._sql.SqlStore`: a backend provides
``_tx`` (one write transaction, retried where the backend retries), ``_read``,
``_named_lock``, ``_lock_migrations``/``_run_script``, ``close`` and its
:class:`~workers.store._common.Dialect`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, Self, TypeVar

from workers.store._common import Clock, Conn, Dialect, HeldLocks, to_utc, utc_now

__all__ = ["SqlCore"]

T = TypeVar("T")


class SqlCore(ABC):
    """The backend's primitives (abstract) and the store's clock."""

    dialect: Dialect

    def __init__(self, clock: Clock | None) -> None:
        self._clock = clock or utc_now
        self._held = HeldLocks()

    # --- what a backend provides --------------------------------------------------------

    @abstractmethod
    def _tx(self, work: Callable[[Conn], T], *, durable: bool = True) -> T:
        """Run ``work`` in one write transaction (exclusive where the backend needs it).
        ``durable=False``: its commit need not wait for the disk (a crash of the machine
        may lose it, with what followed it); for writes whose loss costs nothing."""

    @abstractmethod
    def _read(self, work: Callable[[Conn], T]) -> T:
        """Run ``work`` that only reads, on one consistent snapshot."""

    @abstractmethod
    def _named_lock(self, kind: str, key: str) -> AbstractContextManager[None]:
        """The exclusive lock ``kind`` (``parameters``/``refresh``) of ``key``, across
        threads and processes; not re-entrant (``HeldLocks`` adds that)."""

    @abstractmethod
    def _lock_migrations(self, conn: Conn) -> None:
        """Inside the migration transaction: wait until no other process migrates."""

    @abstractmethod
    def _run_script(self, conn: Conn, sql: str) -> None:
        """Run a migration file (several statements) inside the transaction."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def unit_of_work(
        self, *, durable: bool = True, savepoints: bool = True
    ) -> AbstractContextManager[None]:
        """Group this thread's writes into one transaction where the backend can (SQLite:
        one commit for many writes); elsewhere each write commits on its own."""
        return nullcontext()

    def _now(self) -> datetime:
        return to_utc(self._clock())

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._read(lambda conn: conn.execute(sql, params).fetchall())

    def _write(self, sql: str, params: Sequence[Any] = (), *, durable: bool = True) -> int:
        return self._tx(lambda conn: conn.execute(sql, params).rowcount, durable=durable)
