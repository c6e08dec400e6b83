"""The rate budget in PostgreSQL: the backend contract, several processes granted exactly
the limit together, and the server's clock as the one timeline of every host.

PostgreSQL is found at ``$ALLEGRO_FEED_TEST_POSTGRES_URL`` (default: the ``postgres``
maintenance database on 127.0.0.1); the tests run in a database of their own, created and
dropped here. When PostgreSQL cannot be reached they are skipped, saying why; with ``$CI``
set they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.integration._budget_proc import CONFIG, hammer
from tests.unit.budget.contract import START, BudgetContract, FakeClock, small
from workers.budget import BudgetConfig, BudgetUnavailable, RateBudget, open_budget
from workers.budget.backends.postgres import PostgresBudget

pytestmark = pytest.mark.integration

POSTGRES_URL_ENV = "ALLEGRO_FEED_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A database of this module's own, dropped at its end."""
    admin = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    name = f"allegro_feed_budget_test_{secrets.token_hex(6)}"
    try:
        with _admin(admin) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        parts = urlsplit(admin)
        message = (
            f"PostgreSQL is not reachable at {parts.hostname}:{parts.port} "
            f"({type(exc).__name__}): start it, or set {POSTGRES_URL_ENV}"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield urlsplit(admin)._replace(path=f"/{name}").geturl()
    finally:
        with _admin(admin) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def url(postgres_url: str) -> str:
    """The module's database with the budget table emptied (if it exists yet)."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN IF to_regclass('allegro_rate_budget') IS NOT NULL THEN "
            "TRUNCATE allegro_rate_budget; END IF; END $$"
        )
    return postgres_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestPostgresBudget(BudgetContract):
    @pytest.fixture
    def make_budget(self, url: str) -> Iterator[Callable[..., RateBudget]]:
        opened: list[RateBudget] = []

        def make(config: BudgetConfig, clock: FakeClock) -> RateBudget:
            budget = open_budget(url, config, clock=clock)
            assert isinstance(budget, PostgresBudget)
            opened.append(budget)
            return budget

        yield make
        for budget in opened:
            budget.close()


def test_processes_are_granted_exactly_the_limit(url: str) -> None:
    assert hammer(url, processes=4, attempts=60, config=CONFIG, rounds=[START]) == [100]


def test_minute_and_hour_limits_hold_across_processes(url: str) -> None:
    rounds = [START, START + 61, START + 122, START + 183]
    totals = hammer(
        url, processes=3, attempts=30, config=CONFIG, kind="offer_writes", rounds=rounds
    )
    assert totals == [40, 40, 20, 0]


def test_the_server_clock_is_the_one_timeline(url: str) -> None:
    # No injected clock: every process reads PostgreSQL's; the run takes seconds.
    assert hammer(url, processes=4, attempts=40, config=CONFIG) == [100]
    with PostgresBudget(url, BudgetConfig(**CONFIG)) as budget:
        status = budget.status("client", account="any")
        assert status.used == {60.0: 100}
        wait = budget.acquire("client", account="any")
        assert 0 < wait <= 60.5 + 1  # the first grant's bucket leaves within a minute


def test_rows_deleted_behind_its_back_are_made_again(url: str) -> None:
    with PostgresBudget(url, small(), clock=FakeClock()) as budget:
        assert budget.acquire("offer_writes", account="s") == 0.0
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM allegro_rate_budget")
        assert budget.acquire("offer_writes", account="s") == 0.0
        assert budget.status("offer_writes", account="s").used[60.0] == 1


def test_an_unreachable_server_is_budget_unavailable() -> None:
    budget = PostgresBudget("postgresql://postgres@127.0.0.1:1/none", small(), connect_timeout_s=1)
    with pytest.raises(BudgetUnavailable):
        budget.acquire("client", account="a")
    assert "127.0.0.1" in repr(budget) and "postgres@" not in repr(budget)
    budget.close()
