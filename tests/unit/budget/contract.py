"""The behaviour every rate budget backend must show, as a base class of tests.

A backend's test module subclasses :class:`BudgetContract` (as ``Test...``) and provides a
``make_budget(config, clock)`` fixture that opens a budget on one shared state: calling it
twice in a test gives two budget objects (as two processes would have) on the same state.
All times come from :class:`FakeClock`; nothing sleeps.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import pytest

from workers.budget import BudgetConfig, Kind, RateBudget

START = 1_800_000_000.25  # a quarter into a one-second bucket

MakeBudget = Callable[..., RateBudget]


class FakeClock:
    """Epoch seconds that move only when told."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def small(**changes: int) -> BudgetConfig:
    """Small limits, one-second buckets for the minute (60 per window)."""
    fields: dict[str, int] = {
        "client_per_min": 10,
        "offer_writes_per_min": 5,
        "offer_writes_per_hour": 12,
        "batch_changes_per_min": 10,
        "batch_changes_per_hour": 0,
        "buckets_per_window": 60,
    }
    fields.update(changes)
    return BudgetConfig(client_key="app", **fields)


def most_in_any_window(grants: Sequence[tuple[float, int]], span_s: float) -> int:
    """The largest total cost granted in any half-open window ``[t, t + span_s)``."""
    ordered = sorted(grants)
    best, total, start = 0, 0, 0
    for at, cost in ordered:
        total += cost
        while ordered[start][0] <= at - span_s:
            total -= ordered[start][1]
            start += 1
        best = max(best, total)
    return best


class BudgetContract:
    """Tests shared by every backend."""

    #: whether two budget objects share one state (False for the in-memory backend)
    shared_state = True

    # --- the window --------------------------------------------------------------------

    def test_grants_up_to_the_limit_then_says_how_long_to_wait(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(), clock)
        assert [budget.acquire("client", account="a") for _ in range(10)] == [0.0] * 10
        wait = budget.acquire("client", account="a")
        # The oldest bucket [START - 0.25, START + 0.75) stops counting when the current
        # bucket is 61 buckets later: at START - 0.25 + 61.
        assert wait == pytest.approx(60.75)
        clock.advance(60.7)
        assert budget.acquire("client", account="a") == pytest.approx(0.05)
        clock.now = START + 60.75  # exactly: a sum of floats might land a hair before it
        # All ten were in that bucket: the whole limit is free again.
        assert [budget.acquire("client", account="a") for _ in range(10)] == [0.0] * 10
        assert budget.acquire("client", account="a") == pytest.approx(61.0)

    def test_a_refusal_takes_nothing(self, make_budget: MakeBudget, clock: FakeClock) -> None:
        budget = make_budget(small(client_per_min=3), clock)
        for _ in range(3):
            assert budget.acquire("client", account="a") == 0.0
        for _ in range(5):
            assert budget.acquire("client", account="a") > 0
        assert budget.status("client", account="a").used == {60.0: 3}

    def test_never_more_than_the_limit_in_any_window(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        config = small(batch_changes_per_min=25)
        budget = make_budget(config, clock)
        rng = random.Random(7)
        grants: list[tuple[float, int]] = []
        refused = 0
        for _ in range(1200):
            clock.advance(rng.choice([0.0, 0.01, 0.3, 0.7, 1.9]))
            cost = rng.randint(1, 4)
            wait = budget.acquire("batch_changes", cost, account="shop")
            if wait == 0.0:
                grants.append((clock.now, cost))
            else:
                refused += 1
                # What the budget says is right: it does not fit a hair earlier (a refusal
                # changes nothing, so looking ahead and coming back is harmless)...
                now = clock.now
                clock.now = now + wait - 1e-4
                assert budget.acquire("batch_changes", cost, account="shop") > 0
                clock.now = now
        assert refused > 100  # the limit was really reached, often
        assert most_in_any_window(grants, 60.0) <= 25
        # ...and it is not stingy: at most one bucket in 61 lost at a window's edge.
        span = grants[-1][0] - grants[0][0]
        granted = sum(cost for _, cost in grants)
        assert granted >= math.floor(span / 61.0) * (25 - 3)

    def test_the_wait_is_the_earliest_time_it_fits(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(batch_changes_per_min=10), clock)
        assert budget.acquire("batch_changes", 4, account="s") == 0.0
        clock.advance(10)
        assert budget.acquire("batch_changes", 6, account="s") == 0.0
        clock.advance(10)
        # 4 units wait for the first grant's bucket to leave the window, 7 for the second.
        assert budget.acquire("batch_changes", 4, account="s") == pytest.approx(40.75)
        assert budget.acquire("batch_changes", 7, account="s") == pytest.approx(50.75)
        clock.advance(40.75)
        assert budget.acquire("batch_changes", 7, account="s") == pytest.approx(10.0)
        assert budget.acquire("batch_changes", 4, account="s") == 0.0

    def test_minute_and_hour_limits_together(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(offer_writes_per_min=5, offer_writes_per_hour=12), clock)
        grants: list[tuple[float, int]] = []
        for _ in range(2 * 3600 // 5):
            if budget.acquire("offer_writes", account="seller") == 0.0:
                grants.append((clock.now, 1))
            clock.advance(5)
        assert most_in_any_window(grants, 60.0) <= 5
        assert most_in_any_window(grants, 3600.0) <= 12
        # The first hour: three minutes of 5, 5 and 2, then the hour limit holds.
        assert sum(1 for at, _ in grants if at < START + 3600) == 12
        assert len(grants) >= 23  # the second hour is used too

    def test_the_hour_limit_says_how_long_to_wait(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(offer_writes_per_min=5, offer_writes_per_hour=6), clock)
        for _ in range(5):
            assert budget.acquire("offer_writes", account="s") == 0.0
        clock.advance(120)
        assert budget.acquire("offer_writes", account="s") == 0.0
        # Hour buckets are 60 s: [START - 0.25 - 20, ...) is bucket floor(START / 60).
        first_bucket = math.floor(START / 60)
        expected = (first_bucket + 61) * 60 - clock.now
        assert budget.acquire("offer_writes", account="s") == pytest.approx(expected)

    def test_kinds_and_sellers_have_budgets_of_their_own(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(offer_writes_per_min=2), clock)
        for _ in range(2):
            assert budget.acquire("offer_writes", account="a") == 0.0
        assert budget.acquire("offer_writes", account="a") > 0
        assert budget.acquire("offer_writes", account="b") == 0.0
        assert budget.acquire("batch_changes", 5, account="a") == 0.0
        assert budget.status("client", account="a").used == {60.0: 0}

    def test_the_client_budget_belongs_to_the_client_id(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(client_per_min=2), clock)
        assert budget.acquire("client", account="a") == 0.0
        assert budget.acquire("client", account="b") == 0.0
        assert budget.acquire("client", account="c") > 0
        status = budget.status(Kind.CLIENT, account="ignored")
        assert status.subject == "app" and status.used == {60.0: 2}

    def test_acquire_all_takes_everything_or_nothing(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(client_per_min=10, offer_writes_per_min=2), clock)
        both = [(Kind.CLIENT, 1, "s"), (Kind.OFFER_WRITES, 1, "s")]
        assert budget.acquire_all(both).granted
        assert budget.acquire_all(both).granted
        verdict = budget.acquire_all(both)
        assert not verdict.granted and verdict.limited_by is Kind.OFFER_WRITES
        assert verdict.wait_s == pytest.approx(60.75)
        assert budget.status("client", account="s").used == {60.0: 2}
        assert budget.status("offer_writes", account="s").used == {60.0: 2, 3600.0: 2}

    def test_a_clock_running_back_grants_no_more(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(client_per_min=3), clock)
        for _ in range(3):
            assert budget.acquire("client", account="a") == 0.0
        clock.advance(30)
        behind = make_budget(small(client_per_min=3), FakeClock(START - 3600))
        if self.shared_state:
            # The state keeps the latest time it saw: a late clock must wait to catch up.
            assert behind.acquire("client", account="a") == pytest.approx(3600 + 60.75)
        clock.advance(31)
        assert budget.acquire("client", account="a") == 0.0

    def test_a_limit_of_zero_is_off(self, make_budget: MakeBudget, clock: FakeClock) -> None:
        budget = make_budget(small(offer_writes_per_hour=0, offer_writes_per_min=0), clock)
        assert all(budget.acquire("offer_writes", account="s") == 0.0 for _ in range(50))
        assert budget.status("offer_writes", account="s").used == {}
        budget.penalize("offer_writes", "s", 30)  # a 429 still stops it
        assert budget.acquire("offer_writes", account="s") == pytest.approx(30)

    def test_with_every_limit_off_a_grant_only_reads(
        self, make_budget: MakeBudget, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        budget = make_budget(small(offer_writes_per_hour=0, offer_writes_per_min=0), clock)
        writes: list[object] = []
        take = budget._take

        def counted(claims: object, now: object) -> object:
            writes.append(claims)
            return take(claims, now)  # type: ignore[arg-type]

        monkeypatch.setattr(budget, "_take", counted)
        assert budget.acquire("offer_writes", account="s") == 0.0
        assert writes == []  # nothing to count: no write transaction
        budget.penalize("offer_writes", "s", 30)
        assert budget.acquire("offer_writes", account="s") == pytest.approx(30)
        assert writes == []
        # A request that also counts against a limit that is on still takes its units.
        verdict = budget.acquire_all([("offer_writes", 1, "s"), ("client", 1, "s")])
        assert verdict.wait_s == pytest.approx(30) and verdict.limited_by is Kind.OFFER_WRITES
        assert len(writes) == 1

    def test_costs_that_can_never_fit_or_make_no_sense_are_refused(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(batch_changes_per_min=10), clock)
        with pytest.raises(ValueError, match="can never fit"):
            budget.acquire("batch_changes", 11, account="s")
        with pytest.raises(ValueError, match="cost"):
            budget.acquire("batch_changes", -1, account="s")
        with pytest.raises(ValueError):
            budget.acquire("no_such_kind", account="s")
        with pytest.raises(ValueError, match="account"):
            budget.acquire("offer_writes", account="")
        assert budget.acquire("batch_changes", 0, account="s") == 0.0

    # --- penalties ---------------------------------------------------------------------

    def test_penalize_blocks_the_kind_until_the_time_has_passed(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(), clock)
        assert budget.acquire("client", account="a") == 0.0
        budget.penalize("client", "a", 60)
        assert budget.acquire("client", account="a") == pytest.approx(60)
        assert budget.acquire("offer_writes", account="a") == 0.0  # another kind
        clock.advance(59.5)
        assert budget.acquire("client", account="a") == pytest.approx(0.5)
        assert budget.status("client", account="a").blocked_for_s == pytest.approx(0.5)
        clock.advance(0.5)
        assert budget.acquire("client", account="a") == 0.0
        assert budget.rate_limited_counts() == {"client": 1}
        assert budget.status("client", account="a").penalties == 1

    def test_a_seller_penalty_leaves_other_sellers_alone(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(), clock)
        budget.penalize(Kind.OFFER_WRITES, "a", 30)
        budget.penalize(Kind.OFFER_WRITES, "a", 10)  # a shorter one does not shorten it
        verdict = budget.acquire_all([("client", 1, "a"), ("offer_writes", 1, "a")])
        assert verdict.wait_s == pytest.approx(30) and verdict.limited_by is Kind.OFFER_WRITES
        assert budget.acquire("offer_writes", account="b") == 0.0
        assert budget.status("offer_writes", account="a").penalties == 2
        assert budget.rate_limited_counts() == {"offer_writes": 2}

    def test_penalties_are_seen_by_every_budget_object(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        if not self.shared_state:
            pytest.skip("the in-memory backend is one process's own")
        first, second = make_budget(small(), clock), make_budget(small(), clock)
        first.penalize("client", "x", 60)
        assert second.acquire("client", account="y") == pytest.approx(60)
        assert second.status("client", account="x").penalties == 1
        assert second.rate_limited_counts() == {}  # the process-local counter

    def test_usage_is_shared_by_every_budget_object(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        if not self.shared_state:
            pytest.skip("the in-memory backend is one process's own")
        budgets = [make_budget(small(client_per_min=6), clock) for _ in range(3)]
        granted = [b.acquire("client", account="a") == 0.0 for b in budgets * 4]
        assert granted.count(True) == 6

    # --- the per-seller read kinds and holds ---------------------------------------------

    def test_seller_read_kinds_are_per_seller_windows(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(offer_reads_per_min=2, batch_reads_per_min=1000), clock)
        assert budget.acquire("offer_reads", account="a") == 0.0
        assert budget.acquire("offer_reads", account="a") == 0.0
        assert budget.acquire("offer_reads", account="a") == pytest.approx(60.75)
        assert budget.acquire("offer_reads", account="b") == 0.0
        assert budget.acquire("batch_reads", 1000, account="a") == 0.0
        assert budget.acquire("batch_reads", 1, account="a") == pytest.approx(60.75)
        assert budget.status("batch_reads", account="b").used == {60.0: 0}
        # product_reads is off by default: nothing counted, a block still applies.
        assert budget.acquire("product_reads", account="a") == 0.0
        budget.penalize("product_reads", "a", 30)
        assert budget.acquire("product_reads", account="a") == pytest.approx(30)
        assert budget.acquire("product_reads", account="b") == 0.0

    def test_a_hold_blocks_without_counting_a_429(
        self, make_budget: MakeBudget, clock: FakeClock
    ) -> None:
        budget = make_budget(small(), clock)
        budget.hold("client", "a", 5)
        assert budget.acquire("client", account="b") == pytest.approx(5)
        status = budget.status("client", account="a")
        assert status.penalties == 0 and status.blocked_for_s == pytest.approx(5)
        assert budget.rate_limited_counts() == {}
        budget.penalize("client", "a", 2)  # a shorter penalty keeps the hold
        assert budget.acquire("client", account="b") == pytest.approx(5)
        assert budget.status("client", account="a").penalties == 1
        clock.advance(5)
        assert budget.acquire("client", account="b") == 0.0
