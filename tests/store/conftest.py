"""Fixtures of the store's conformance suite: every test runs against SQLite and PostgreSQL.

- ``store``: a migrated, empty store with an injected clock (:class:`FakeClock`). SQLite: a
  file in the test's tmp dir. PostgreSQL: one database per test session
  (``allegro_feed_test_<hex>``, created through the ``postgres`` maintenance database and
  dropped at the end), its tables truncated before each test.
- ``store_url`` / ``make_store``: the same database, for more store objects or processes.
- ``fresh_url``: a database without any table (migration tests); for PostgreSQL a database
  of its own, dropped after the test.

PostgreSQL is found at ``$ALLEGRO_FEED_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``: the maintenance database). When it cannot
be reached the PostgreSQL variants are skipped, saying why; with ``$CI`` set they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.store._proc import open_backend
from workers.store import Store
from workers.store.postgres import PostgresStore
from workers.store.sqlite import SQLiteStore

POSTGRES_URL_ENV = "ALLEGRO_FEED_TEST_POSTGRES_URL"  # shared with tests/pipeline
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgres")


class FakeClock:
    """A settable UTC clock for leases and cache times; ``advance`` moves it on."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 7, 18, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def with_dbname(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def _admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def create_database(admin_url: str) -> str:
    name = f"allegro_feed_test_{secrets.token_hex(6)}"
    with _admin(admin_url) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return with_dbname(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _admin(admin_url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    try:
        with _admin(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        parts = urlsplit(url)  # shown without user and password
        host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        where = parts._replace(netloc=host).geturl()
        message = (
            f"PostgreSQL is not reachable at {where} ({type(exc).__name__}): start it, or set "
            f"{POSTGRES_URL_ENV} to the URL of a maintenance database this user may create "
            "databases from"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database for this test session, dropped at its end."""
    url = create_database(postgres_admin_url)
    try:
        with PostgresStore(url) as store:
            store.migrate()
        yield url
    finally:
        drop_database(postgres_admin_url, url)


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'schema_version'"
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of this test's (migrated, empty) database."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        with SQLiteStore(tmp_path / "store.db") as store:
            store.migrate()
        return url
    url = str(request.getfixturevalue("postgres_url"))
    _truncate(url)
    return url


@pytest.fixture
def make_store(store_url: str, clock: FakeClock) -> Iterator[Callable[..., Store]]:
    """Opens more store objects on this test's database (closed after the test)."""
    opened: list[Store] = []

    def make(**options: Any) -> Store:
        store = open_backend(store_url, **{"clock": clock, **options})
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database without tables."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'store.db'}"
        return
    admin = str(request.getfixturevalue("postgres_admin_url"))
    url = create_database(admin)
    try:
        yield url
    finally:
        drop_database(admin, url)
