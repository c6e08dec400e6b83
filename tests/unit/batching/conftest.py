"""Fixtures of the batching tests: the store's database on SQLite and PostgreSQL.

``store_url`` is a migrated store (``open_store`` creates the batching tables with the
others): an SQLite file in the test's tmp dir, or a PostgreSQL database of the session
(``allegro_feed_batch_<hex>``, dropped at the end; its tables emptied before each test).
Without PostgreSQL the PostgreSQL variants are skipped, saying why; with ``$CI`` set they
fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from workers.batching import BatchRepo
from workers.store import open_store

POSTGRES_URL_ENV = "ALLEGRO_FEED_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    try:
        with _admin(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        message = f"PostgreSQL is not reachable ({type(exc).__name__}): set {POSTGRES_URL_ENV}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    name = f"allegro_feed_batch_{secrets.token_hex(6)}"
    with _admin(postgres_admin_url) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = urlsplit(postgres_admin_url)._replace(path=f"/{name}").geturl()
    try:
        open_store(url).close()  # migrated: the batching tables are there
        yield url
    finally:
        with _admin(postgres_admin_url) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=("sqlite", "postgres"))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store's URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        open_store(url).close()
        return url
    url = str(request.getfixturevalue("postgres_url"))
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'schema_version'"
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
    return url


@pytest.fixture
def repo(store_url: str) -> Iterator[BatchRepo]:
    with BatchRepo(store_url) as opened:  # its own connection (a store may share one)
        yield opened
