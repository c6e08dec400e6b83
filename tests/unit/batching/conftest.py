"""Fixtures of the batching tests: the store's database on SQLite and PostgreSQL.

``store_url`` is the store suite's fixture (``tests/store/conftest.py``), as are those it
needs: a migrated store (the store's migrations create the batching tables with the
others), an SQLite file in the test's tmp dir or a PostgreSQL database of the session
(``allegro_feed_test_<hex>``, dropped at the end; its tables emptied before each test).
Without PostgreSQL the PostgreSQL variants are skipped, saying why; with ``$CI`` set they
fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store import conftest as store_suite
from workers.batching import BatchRepo
from workers.store import open_store

from .test_flusher import Rig

# The store suite's fixtures, used here by name.
backend = store_suite.backend
postgres_admin_url = store_suite.postgres_admin_url
postgres_url = store_suite.postgres_url
store_url = store_suite.store_url


@pytest.fixture
def repo(store_url: str) -> Iterator[BatchRepo]:
    with BatchRepo(store_url) as opened:  # its own connection (a store may share one)
        yield opened


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """The flusher's rig on an SQLite store in the test's tmp dir."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    with BatchRepo(url) as repo:
        yield Rig(store, repo)
    store.close()
