"""BudgetConfig from the settings, the budget URL, and open_budget's schemes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from workers.budget import BudgetConfig, Kind, budget_url, open_budget
from workers.budget._window import KeyState
from workers.budget.backends.memory import MemoryBudget
from workers.budget.backends.sqlite import SQLiteBudget
from workers.settings import Settings


def test_defaults_are_allegros_limits() -> None:
    config = BudgetConfig.from_settings(Settings(client_id="app-1"))
    assert config == BudgetConfig(client_key="app-1")
    assert [(w.limit, w.span_s) for w in config.windows(Kind.CLIENT)] == [(9000, 60.0)]
    assert [(w.limit, w.span_s) for w in config.windows(Kind.OFFER_WRITES)] == [
        (2490, 60.0),
        (74700, 3600.0),
    ]
    assert [(w.limit, w.span_s) for w in config.windows(Kind.BATCH_CHANGES)] == [
        (9000, 60.0),
        (150_000, 3600.0),
    ]
    assert config.max_inline_wait_s == 1.0
    assert config.penalty_s(Kind.CLIENT) == 60.0


def test_settings_fields_are_read_when_present() -> None:
    settings = SimpleNamespace(
        client_id="app-2",
        rate_client_per_min=100,
        rate_offer_writes_per_min=20,
        rate_offer_writes_per_hour=300,
        rate_batch_changes_per_min=50,
        rate_batch_changes_per_hour=0,
        rate_max_inline_wait_s=0.5,
        rate_client_penalty_s=90,
        rate_seller_penalty_s=None,  # unset: the default
    )
    config = BudgetConfig.from_settings(settings)
    assert config == BudgetConfig(
        client_per_min=100,
        offer_writes_per_min=20,
        offer_writes_per_hour=300,
        batch_changes_per_min=50,
        batch_changes_per_hour=0,
        client_key="app-2",
        max_inline_wait_s=0.5,
        client_penalty_s=90.0,
    )
    assert [w.span_s for w in config.windows(Kind.BATCH_CHANGES)] == [60.0]


@pytest.mark.parametrize(
    "changes",
    [
        {"client_per_min": -1},
        {"max_inline_wait_s": -0.1},
        {"buckets_per_window": 0},
        {"client_key": ""},
    ],
)
def test_nonsense_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BudgetConfig(**changes)  # type: ignore[arg-type]


def test_the_budget_lives_with_the_store_unless_told_otherwise() -> None:
    # A SQLite store gets a sibling file (budget writes do not queue behind the store's);
    # PostgreSQL holds both in one database.
    assert budget_url(Settings(database_url="sqlite:///var/x.db")) == "sqlite:///var/x.budget.db"
    pg = "postgresql://postgres@127.0.0.1/feed"
    assert budget_url(Settings(database_url=pg)) == pg
    told = SimpleNamespace(rate_budget_url="redis://127.0.0.1:6379/0", database_url="sqlite:///a")
    assert budget_url(told) == "redis://127.0.0.1:6379/0"
    with pytest.raises(ValueError, match="ALLEGRO_FEED_RATE_BUDGET_URL"):
        budget_url(SimpleNamespace())


def test_open_budget_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_budget("sqlite:///var/budget.db") as budget:
        assert isinstance(budget, SQLiteBudget)
        assert budget.path == Path("var/budget.db")
        assert budget.acquire("client", account="a") == 0.0
    assert (tmp_path / "var" / "budget.db").exists()
    assert isinstance(open_budget("memory://"), MemoryBudget)
    with pytest.raises(ValueError, match="unsupported rate budget URL scheme 'mysql'"):
        open_budget("mysql://x")
    with pytest.raises(ValueError, match="give a database file"):
        open_budget("sqlite:///:memory:")


def test_the_state_round_trips_through_json() -> None:
    state = KeyState(at=1.5, blocked_until=3.0, penalties=2, counts={"60/120": {7: 3, 8: 1}})
    assert KeyState.from_json(state.to_json()) == state
    assert KeyState.from_json(None) == KeyState()
    # The Redis script's cjson output: bucket indexes as text, numbers with exponents.
    cjson = b'{"at":1.8e+09,"w":{"60/120":{"3600000000":2}},"bu":0,"pen":1}'
    assert KeyState.from_json(cjson) == KeyState(
        at=1.8e9, penalties=1, counts={"60/120": {3_600_000_000: 2}}
    )
