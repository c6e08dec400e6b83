"""The rate budget in Redis: the backend contract (the Lua script must agree with the
Python algorithm), several processes granted exactly the limit together, and Redis's own
clock as the one timeline.

Redis is found at ``$ALLEGRO_FEED_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``);
each test uses keys under a prefix of its own and deletes them afterwards. When Redis (or
the ``redis`` package) is missing the tests are skipped, saying why; with ``$CI`` set they
fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration._budget_proc import CONFIG, hammer
from tests.unit.budget.contract import START, BudgetContract, FakeClock, small
from workers.budget import BudgetConfig, BudgetUnavailable, RateBudget, open_budget

pytestmark = pytest.mark.integration

REDIS_URL_ENV = "ALLEGRO_FEED_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)
    try:
        import redis
    except ImportError:
        _unavailable("the redis package is not installed (pip install 'redis>=5,<7')")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis is not reachable at {url} ({type(exc).__name__}): start it")
    return url


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    name = f"allegro-feed-test-{secrets.token_hex(6)}"
    yield name
    client: Any = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _budget(url: str, config: BudgetConfig, clock: FakeClock | None, prefix: str) -> RateBudget:
    from workers.budget.backends.redis import RedisBudget

    return RedisBudget(url, config, clock=clock, prefix=prefix)


class TestRedisBudget(BudgetContract):
    @pytest.fixture
    def make_budget(self, redis_url: str, prefix: str) -> Iterator[Callable[..., RateBudget]]:
        opened: list[RateBudget] = []

        def make(config: BudgetConfig, clock: FakeClock) -> RateBudget:
            budget = _budget(redis_url, config, clock, prefix)
            opened.append(budget)
            return budget

        yield make
        for budget in opened:
            budget.close()


def test_processes_are_granted_exactly_the_limit(redis_url: str, prefix: str) -> None:
    totals = hammer(
        redis_url, processes=4, attempts=60, config=CONFIG, rounds=[START], prefix=prefix
    )
    assert totals == [100]


def test_minute_and_hour_limits_hold_across_processes(redis_url: str, prefix: str) -> None:
    rounds = [START, START + 61, START + 122, START + 183]
    totals = hammer(
        redis_url,
        processes=3,
        attempts=30,
        config=CONFIG,
        kind="offer_writes",
        rounds=rounds,
        prefix=prefix,
    )
    assert totals == [40, 40, 20, 0]


def test_the_server_clock_is_the_one_timeline(redis_url: str, prefix: str) -> None:
    assert hammer(redis_url, processes=4, attempts=40, config=CONFIG, prefix=prefix) == [100]
    budget = _budget(redis_url, BudgetConfig(**CONFIG), None, prefix)
    assert budget.status("client", account="any").used == {60.0: 100}
    assert 0 < budget.acquire("client", account="any") <= 61.5
    budget.close()


def test_keys_expire_when_idle(redis_url: str, prefix: str) -> None:
    import redis

    budget = _budget(redis_url, small(), FakeClock(), prefix)
    budget.acquire("offer_writes", account="s")
    budget.penalize("client", "s", 600)
    client: Any = redis.Redis.from_url(redis_url)
    ttls = {key.decode().rsplit(":", 2)[-2]: client.pttl(key) for key in client.keys(f"{prefix}:*")}
    client.close()
    budget.close()
    assert 3600_000 < ttls["offer_writes"] <= 3660_000  # the hour window and a minute
    assert 600_000 < ttls["client"] <= 720_000  # the block, the minute window, a minute


def test_open_budget_takes_a_redis_url(redis_url: str) -> None:
    budget = open_budget(redis_url, small())
    assert type(budget).__name__ == "RedisBudget"
    budget.close()


def test_an_unreachable_server_is_budget_unavailable(redis_url: str) -> None:
    budget = _budget("redis://127.0.0.1:1/0", small(), None, "x")
    with pytest.raises(BudgetUnavailable):
        budget.acquire("client", account="a")
    budget.close()
