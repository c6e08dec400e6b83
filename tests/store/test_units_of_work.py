"""Units of work: many writes of one thread in one transaction (one commit on SQLite).

The ingest bridge handles a batch of deliveries, and the batcher settles a finished
command, inside ``store.unit_of_work()``; the batching repository, opened with the store,
writes through the same connection so that its rows join the unit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.store._events import stock
from workers.batching.model import ChangeKind, StagedEvent, StageOutcome
from workers.batching.repo import BatchRepo
from workers.store import OfferRecord, Store, StoreUnavailable
from workers.store.sqlite import SQLiteStore
from workers.store.sqlite_tx import connect, run_immediate, unit_of_work


def _offer(sku: str) -> OfferRecord:
    return OfferRecord("default", sku, f"77{sku[-1]}", "ACTIVE")


def test_writes_inside_a_unit_are_kept_when_it_ends(store: Store) -> None:
    with store.unit_of_work():
        store.save_offer(_offer("A1"))
        store.save_offer(_offer("A2"))
        assert store.get_offer("default", "A1") is not None  # its own writes are visible
    assert {store.get_offer("default", s) is not None for s in ("A1", "A2")} == {True}


def test_a_unit_that_raises_keeps_nothing_on_sqlite(store: Store, backend: str) -> None:
    with pytest.raises(RuntimeError), store.unit_of_work():
        store.save_offer(_offer("A1"))
        raise RuntimeError("the batch failed")
    if backend == "sqlite":
        assert store.get_offer("default", "A1") is None  # rolled back with the unit
    else:
        # PostgreSQL: each write committed on its own (documented): nothing half-done.
        assert store.get_offer("default", "A1") is not None


def test_a_nested_unit_that_raises_drops_only_its_own_writes(store: Store) -> None:
    with store.unit_of_work():
        store.save_offer(_offer("A1"))
        with pytest.raises(KeyError), store.unit_of_work():
            store.save_offer(_offer("A2"))
            raise KeyError("this delivery failed")
        store.save_offer(_offer("A3"))
    kept = {s for s in ("A1", "A2", "A3") if store.get_offer("default", s) is not None}
    assert kept == {"A1", "A3"} or kept == {"A1", "A2", "A3"}  # PostgreSQL keeps A2
    if isinstance(store, SQLiteStore):
        assert kept == {"A1", "A3"}


@pytest.fixture
def table(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a fresh SQLite file with one table ``t (k)``."""
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    yield conn
    conn.close()


def insert_then_fail(c: sqlite3.Connection) -> None:
    c.execute("INSERT INTO t VALUES ('half')")
    raise sqlite3.IntegrityError("refused after a first write")


def test_a_failing_write_inside_a_unit_rolls_back_only_itself(
    table: sqlite3.Connection,
) -> None:
    conn = table

    with unit_of_work(conn):
        run_immediate(conn, lambda c: c.execute("INSERT INTO t VALUES ('a')"))
        with pytest.raises(sqlite3.IntegrityError):
            run_immediate(conn, insert_then_fail)
        run_immediate(conn, lambda c: c.execute("INSERT INTO t VALUES ('b')"))
    assert [r[0] for r in conn.execute("SELECT k FROM t ORDER BY k")] == ["a", "b"]


def test_savepoints_nest_a_failing_write_in_a_nested_unit_drops_only_itself(
    table: sqlite3.Connection,
) -> None:
    conn = table

    with unit_of_work(conn):
        run_immediate(conn, lambda c: c.execute("INSERT INTO t VALUES ('a')"))
        with unit_of_work(conn):
            run_immediate(conn, lambda c: c.execute("INSERT INTO t VALUES ('b')"))
            with pytest.raises(sqlite3.IntegrityError):
                run_immediate(conn, insert_then_fail)
            run_immediate(conn, lambda c: c.execute("INSERT INTO t VALUES ('c')"))
        with pytest.raises(KeyError), unit_of_work(conn):
            run_immediate(conn, lambda c: c.execute("INSERT INTO t VALUES ('d')"))
            raise KeyError("this delivery failed")
    assert not conn.in_transaction
    assert [r[0] for r in conn.execute("SELECT k FROM t ORDER BY k")] == ["a", "b", "c"]


def test_connect_opens_in_wal_with_the_settings_given(tmp_path: Path) -> None:
    conn = connect(tmp_path / "t.db", busy_timeout_s=2.5, synchronous="NORMAL")
    try:
        assert conn.isolation_level is None
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        conn.close()


def _staged(sku: str, event_id: str) -> StagedEvent:
    return StagedEvent(
        account="default",
        sku=sku,
        kind=ChangeKind.STOCK,
        value={"available": 4, "unit": "UNIT"},
        version=2,
        event_id=event_id,
        offer_id="771",
    )


def test_a_repository_opened_with_the_sqlite_store_joins_its_units(
    make_store: Callable[..., Store], store_url: str, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("only SQLite lends its connection (PostgreSQL writes commit alone)")
    store = make_store()
    repo = BatchRepo(store_url, store=store)
    try:
        assert repo.joins_store_units
        with pytest.raises(RuntimeError), store.unit_of_work():
            store.record_event(stock("A1", version=2, available=4))
            assert repo.stage(_staged("A1", "ev-1"), 100.0) is StageOutcome.STAGED
            raise RuntimeError("crash before the commit")
        # Both the store's and the repository's writes are gone: never one without the other.
        assert store.latest_version("default", "A1") is None
        assert repo.pending_row("default", "A1", ChangeKind.STOCK) is None
        with store.unit_of_work():
            store.record_event(stock("A1", version=2, available=4))
            repo.stage(_staged("A1", "ev-1"), 100.0)
        assert repo.pending_row("default", "A1", ChangeKind.STOCK) is not None
    finally:
        repo.close()


def test_a_unit_holds_the_sqlite_writer_lock_until_it_ends(
    make_store: Callable[..., Store], backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL writes commit alone")
    first = make_store()
    second = make_store(busy_timeout_s=0.05)
    entered, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        with first.unit_of_work():
            first.save_offer(_offer("A1"))
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert entered.wait(10)
        try:
            second.save_offer(_offer("A2"))
        except StoreUnavailable as exc:
            failures.append(exc)
        assert second.get_offer("default", "A1") is None  # not committed yet
    finally:
        release.set()
        holder.join(10)
    assert len(failures) == 1  # the other writer waited for the lock and gave up
    assert second.get_offer("default", "A1") is not None


def test_a_unit_without_savepoints_takes_none_inside_and_stands_or_falls_whole(
    tmp_path: Path,
) -> None:
    conn = connect(tmp_path / "t.db", busy_timeout_s=5)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    statements: list[str] = []
    conn.set_trace_callback(statements.append)

    def write(key: str) -> None:
        run_immediate(conn, lambda c: c.execute("INSERT INTO t VALUES (?)", (key,)))

    with unit_of_work(conn):
        with unit_of_work(conn, savepoints=False):  # one delivery
            write("a")
            with unit_of_work(conn):  # a nested unit joins it too
                write("b")
        delivery = [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))]
        assert len(delivery) == 2  # the delivery's own savepoint, nothing for a and b
        with pytest.raises(sqlite3.IntegrityError), unit_of_work(conn, savepoints=False):
            write("c")
            write("a")  # a duplicate: the whole delivery goes, c with it
        statements.clear()
        write("d")  # outside the unit without savepoints: one again
        assert [s.split()[0] for s in statements if s.startswith("SAVEPOINT")] == ["SAVEPOINT"]
    assert [r[0] for r in conn.execute("SELECT k FROM t ORDER BY k")] == ["a", "b", "d"]
    assert conn.joined == 0
    conn.close()


def test_a_top_level_unit_without_savepoints_commits_or_rolls_back_whole(
    store: Store, backend: str
) -> None:
    with store.unit_of_work(savepoints=False):
        store.save_offer(_offer("A1"))
        store.save_offer(_offer("A2"))
    assert {store.get_offer("default", s) is not None for s in ("A1", "A2")} == {True}
    with pytest.raises(RuntimeError), store.unit_of_work(savepoints=False):
        store.save_offer(_offer("A3"))
        raise RuntimeError("the entry failed")
    # SQLite rolls the unit back; on PostgreSQL each write committed on its own.
    assert (store.get_offer("default", "A3") is None) == (backend == "sqlite")
