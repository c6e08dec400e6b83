"""The budget around the Allegro client's requests, with ``httpx.MockTransport``: requests
take their units first; an exhausted budget raises ``BudgetExhausted`` without sending; a
429 penalizes the right budget, so the next requests wait instead of hitting Allegro."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.unit.budget.conftest import COMMAND, FakeAllegro, MakeClient, SleepingClock, config
from tests.unit.budget.contract import START
from workers.allegro import InvalidRequest, RateLimited
from workers.allegro._http import HttpCore
from workers.budget import (
    BudgetExhausted,
    BudgetUnavailable,
    Kind,
    RateBudget,
    Verdict,
)
from workers.budget._window import Claim, KeyState
from workers.budget.backends.memory import MemoryBudget
from workers.budget.client import ApiBudget, claims_for, offer_changes
from workers.settings import Settings

# --- what a request costs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/sale/offers", None, [("client", 1)]),
        ("GET", "/sale/product-offers/123", None, [("client", 1), ("offer_reads", 1)]),
        ("POST", "/sale/product-offers", {"name": "x"}, [("client", 1), ("offer_writes", 1)]),
        ("PATCH", "/sale/product-offers/123", {}, [("client", 1), ("offer_writes", 1)]),
        ("POST", "/sale/product-offers/123/operations/9", None, [("client", 1)]),
        (
            "PUT",
            f"/sale/offer-quantity-change-commands/{COMMAND}",
            {"offerCriteria": [{"type": "CONTAINS_OFFERS", "offers": [{"id": "1"}, {"id": "2"}]}]},
            [("client", 1), ("batch_changes", 2)],
        ),
        (
            "GET",
            f"/sale/offer-price-change-commands/{COMMAND}/tasks",
            None,
            [("client", 1), ("batch_reads", 100)],
        ),
        ("PUT", f"/sale/offer-publication-commands/{COMMAND}", {}, [("client", 1)]),
    ],
)
def test_what_each_request_costs(
    method: str, path: str, body: Any, expected: Sequence[tuple[str, int]]
) -> None:
    claims = claims_for(method, path, body, "shop")
    assert [(Kind(kind).value, cost) for kind, cost, _ in claims] == list(expected)
    assert all(account == "shop" for _, _, account in claims)


def test_offer_changes_tolerates_odd_bodies() -> None:
    assert offer_changes(None) == 0
    assert offer_changes({"offerCriteria": "x"}) == 0
    assert offer_changes({"offerCriteria": [None, {"offers": [{}, {}]}, {"offers": 3}]}) == 2


# --- the hook in the client ----------------------------------------------------------


def test_requests_take_their_units(make_client: MakeClient, clock: SleepingClock) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    client.find_offers_by_external_id(["SKU-1"])
    client.update_offer("123", {"stock": {"available": 3}})
    client.change_quantity([str(i) for i in range(700)], 5, command_id=COMMAND)
    assert budget.status("client", account="shop").used == {60.0: 3}
    assert budget.status("offer_writes", account="shop").used == {60.0: 1, 3600.0: 1}
    assert budget.status("batch_changes", account="shop").used[60.0] == 700


def test_the_oauth_host_is_not_budgeted(make_client: MakeClient, clock: SleepingClock) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    client.get_category("165")  # needs an application token: one call to the OAuth host
    assert budget.status("client", account="shop").used == {60.0: 1}


def test_an_exhausted_budget_raises_without_sending(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    for _ in range(2):
        client.update_offer("123", {"stock": {"available": 3}})
    clock.advance(5)
    with pytest.raises(BudgetExhausted) as caught:
        client.update_offer("123", {"stock": {"available": 4}})
    error = caught.value
    assert isinstance(error, RateLimited) and error.transient and not error.maybe_applied
    assert error.retry_after_s == pytest.approx(55.75)  # above retry_after_max_s: raised
    assert error.kind == "offer_writes" and error.account == "shop"
    assert (error.method, error.path) == ("PATCH", "/sale/product-offers/123")
    assert fake.paths() == ["PATCH /sale/product-offers/123"] * 2
    assert clock.sleeps == []
    # Nothing was taken for the refused request, not even from the client budget.
    assert budget.status("client", account="shop").used == {60.0: 2}


@pytest.mark.parametrize(
    ("since_start_s", "slept_s"),
    [
        # The first bucket frees up 0.75 s from now: slept inline.
        pytest.param(60.0, 0.75, id="slept-inline"),
        # 5 s is above the inline wait (1 s) but within retry_after_max_s (10 s): the
        # client's retry policy treats it as a 429 with Retry-After and waits once.
        pytest.param(55.75, 5.0, id="retried-by-the-client"),
    ],
)
def test_a_wait_that_ends_soon_enough_is_waited_and_the_request_sent(
    make_client: MakeClient,
    clock: SleepingClock,
    fake: FakeAllegro,
    since_start_s: float,
    slept_s: float,
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    for _ in range(2):
        client.update_offer("123", {"stock": {"available": 3}})
    clock.now = START + since_start_s
    client.update_offer("123", {"stock": {"available": 4}})
    assert clock.sleeps == [pytest.approx(slept_s)]
    assert len(fake.sent) == 3


def test_a_429_without_retry_after_blocks_the_client_id_for_a_minute(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    fake.script = [(429, {})]
    with pytest.raises(BudgetExhausted) as caught:
        client.find_offers_by_external_id(["SKU-1"])
    # One 429, one backoff, then the budget keeps the retry from hitting the block again.
    assert fake.paths() == ["GET /sale/offers"]
    assert caught.value.kind == "client"
    assert caught.value.retry_after_s == pytest.approx(60 - sum(clock.sleeps))
    assert budget.rate_limited_counts() == {"client": 1}
    assert budget.status("client", account="shop").penalties == 1
    # Every request of the client id waits, any seller's.
    other = ApiBudget(budget, account="other-shop", sleep=clock.sleep)
    with pytest.raises(BudgetExhausted):
        other.before_send("GET", "/sale/offers", None)
    clock.now = START + 60
    assert client.find_offers_by_external_id(["SKU-1"]) == []


def test_a_429_on_an_offer_write_stops_that_sellers_writes_only(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    budget = MemoryBudget(config(offer_writes_per_min=100), clock=clock)
    client = make_client(budget)
    fake.script = [(429, {"Retry-After": "30"})]
    with pytest.raises(RateLimited) as first:
        client.update_offer("123", {"stock": {"available": 3}})
    # Allegro's 429 itself: 30 s is above retry_after_max_s, so it is raised at once.
    assert not isinstance(first.value, BudgetExhausted)
    assert budget.rate_limited_counts() == {"offer_writes": 1}
    clock.advance(10)
    with pytest.raises(BudgetExhausted) as caught:
        client.update_offer("123", {"stock": {"available": 3}})
    assert caught.value.kind == "offer_writes"
    assert caught.value.retry_after_s == pytest.approx(20)
    assert len(fake.sent) == 1
    assert client.find_offers_by_external_id(["SKU-1"]) == []  # reads go on
    clock.advance(20)
    client.update_offer("123", {"stock": {"available": 3}})
    assert len(fake.sent) == 3


def test_a_429_with_a_short_retry_after_is_waited_and_retried(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    fake.script = [(429, {"Retry-After": "3"})]
    assert client.find_offers_by_external_id(["SKU-1"]) == []
    assert clock.sleeps == [3.0]  # the client's own Retry-After wait; the block is over
    assert len(fake.sent) == 2


def test_a_command_larger_than_the_limit_is_refused_before_sending(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    client = make_client(MemoryBudget(config(batch_changes_per_min=500), clock=clock))
    with pytest.raises(InvalidRequest, match="can never fit"):
        client.change_quantity([str(i) for i in range(501)], 5, command_id=COMMAND)
    assert fake.sent == []


class _Down(RateBudget):
    """A budget whose backend is unreachable."""

    def _take(self, claims: Sequence[Claim], now: float | None) -> Verdict:
        raise BudgetUnavailable("database down")

    def _penalize(
        self, kind: str, subject: str, seconds: float, now: float | None, *, count: bool = True
    ) -> None:
        raise BudgetUnavailable("database down")

    def _load(self, kind: str, subject: str) -> KeyState:
        raise BudgetUnavailable("database down")

    def close(self) -> None:
        pass


def test_an_unreachable_budget_sends_nothing(make_client: MakeClient, fake: FakeAllegro) -> None:
    client = make_client(_Down(config()))
    with pytest.raises(BudgetUnavailable) as caught:
        client.find_offers_by_external_id(["SKU-1"])
    assert caught.value.transient and not caught.value.maybe_applied
    assert caught.value.path == "/sale/offers"
    assert fake.sent == []


def test_a_failed_penalty_still_raises_the_429(clock: SleepingClock) -> None:
    hook = ApiBudget(_Down(config()), account="shop", sleep=clock.sleep)
    hook.after_response("GET", "/sale/offers", 429, None)  # logged, not raised


def test_without_a_budget_nothing_changes(
    settings: Settings, fake: FakeAllegro, clock: SleepingClock
) -> None:
    core = HttpCore(settings, transport=httpx.MockTransport(fake.handle), sleep=clock.sleep)
    assert core.budget is None
    fake.script = [(429, {})] * 4
    with pytest.raises(RateLimited) as caught:
        core.request("GET", "/sale/offers", auth=_none())
    assert not isinstance(caught.value, BudgetExhausted)
    assert len(fake.sent) == 4  # the retry policy alone


def _none() -> Any:
    from workers.allegro._http import AuthMode

    return AuthMode.NONE


def test_budget_exhausted_pickles() -> None:
    import pickle

    error = BudgetExhausted(12.5, kind="client", account="shop", method="GET", path="/x")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert isinstance(copy, BudgetExhausted)
    assert (copy.retry_after_s, copy.kind, copy.path) == (12.5, "client", "/x")
    assert "not sent" in str(copy) and json.dumps(copy.retry_after_s)


@pytest.mark.usefixtures("counting")
def test_budget_waits_are_counted_by_limit_and_what_followed(
    make_client: MakeClient, clock: SleepingClock
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    for _ in range(2):
        client.update_offer("123", {"stock": {"available": 3}})
    clock.advance(5)  # the next frees up far later: not sent
    with pytest.raises(BudgetExhausted):
        client.update_offer("123", {"stock": {"available": 4}})
    clock.now = START + 60.0  # the first bucket frees up 0.75 s from now: slept
    client.update_offer("123", {"stock": {"available": 5}})

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    waits = "allegro_feed_budget_waits_total"
    assert sample(waits, kind="offer_writes", outcome="slept") == 1
    assert sample(waits, kind="offer_writes", outcome="rescheduled") == 1
    slept = sample("allegro_feed_budget_wait_seconds_total", kind="offer_writes")
    assert slept == pytest.approx(0.75)
