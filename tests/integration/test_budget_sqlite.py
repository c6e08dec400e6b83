"""One rate budget in one SQLite file, shared by several processes at once: together they
are granted exactly the limit (``BEGIN IMMEDIATE`` serialises them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration._budget_proc import CONFIG, hammer
from tests.unit.budget.contract import START

pytestmark = pytest.mark.integration


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'budget.db'}"


def test_processes_are_granted_exactly_the_limit(url: str) -> None:
    assert hammer(url, processes=4, attempts=60, config=CONFIG, rounds=[START]) == [100]


def test_minute_and_hour_limits_hold_across_processes(url: str) -> None:
    rounds = [START, START + 61, START + 122, START + 183]
    totals = hammer(
        url, processes=3, attempts=30, config=CONFIG, kind="offer_writes", rounds=rounds
    )
    # 40 a minute, until the hour's 100 runs out in the third minute.
    assert totals == [40, 40, 20, 0]


def test_costs_add_up_across_processes(url: str) -> None:
    totals = hammer(
        url, processes=4, attempts=10, config=CONFIG, kind="batch_changes", cost=7, rounds=[START]
    )
    assert totals == [98]  # 14 commands of 7; the 2 left fit none


def test_the_host_clock_works_alike(url: str) -> None:
    # The host's clock: the run takes seconds, far less than the one-minute window.
    assert hammer(url, processes=4, attempts=40, config=CONFIG) == [100]
