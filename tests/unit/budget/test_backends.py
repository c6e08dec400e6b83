"""The rate budget's contract on the in-memory and the SQLite backend (PostgreSQL and Redis
run it in tests/integration)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.unit.budget.contract import BudgetContract, FakeClock
from workers.budget import BudgetConfig, RateBudget
from workers.budget.backends.memory import MemoryBudget
from workers.budget.backends.sqlite import SQLiteBudget


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestMemoryBudget(BudgetContract):
    shared_state = False

    @pytest.fixture
    def make_budget(self) -> Callable[..., RateBudget]:
        def make(config: BudgetConfig, clock: FakeClock) -> RateBudget:
            return MemoryBudget(config, clock=clock)

        return make


class TestSQLiteBudget(BudgetContract):
    @pytest.fixture
    def make_budget(self, tmp_path: Path) -> Iterator[Callable[..., RateBudget]]:
        opened: list[RateBudget] = []

        def make(config: BudgetConfig, clock: FakeClock) -> RateBudget:
            budget = SQLiteBudget(tmp_path / "var" / "budget.db", config, clock=clock)
            opened.append(budget)
            return budget

        yield make
        for budget in opened:
            budget.close()
