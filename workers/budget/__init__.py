"""One rate budget for Allegro's limits, shared by every worker process on every host.

Allegro allows 9,000 requests a minute per client id (going over blocks the client id for a
minute), and per seller 2,490 a minute and 74,700 an hour POST + PATCH of
``/sale/product-offers``, 3,500 GETs a minute of one product offer, 9,000 offer changes a
minute in batch commands and 270,000 offer changes read a minute in their reports and
tasks (FACTS.md §3).
Each process asks the budget before it sends; the budget lives where every process sees
it::

    config = BudgetConfig.from_settings(settings)
    budget = open_budget(budget_url(settings), config)      # the store's database by default
    client = AllegroClient(settings, tokens, account="shop-1", budget=budget)

- :meth:`RateBudget.acquire` takes units atomically or says how long to wait;
  :meth:`RateBudget.penalize` stops a kind after a 429 (:meth:`RateBudget.hold` without
  counting one).
- :class:`~workers.budget.client.ApiBudget` applies it to every API request of
  :class:`~workers.allegro.AllegroClient` (waits up to ``max_inline_wait_s``, else raises
  :class:`BudgetExhausted` without sending; a 429 penalizes).
- Backends: SQLite (one host), PostgreSQL (several hosts), Redis (several hosts, high
  throughput), memory (one process: tests). The algorithm is in :mod:`._window`.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from workers.budget._window import Verdict
from workers.budget.base import BudgetStatus, Clock, RateBudget, Request
from workers.budget.config import BudgetConfig, Kind, Window, budget_url
from workers.budget.errors import BudgetExhausted, BudgetUnavailable

__all__ = [
    "BudgetConfig",
    "BudgetExhausted",
    "BudgetStatus",
    "BudgetUnavailable",
    "Clock",
    "Kind",
    "RateBudget",
    "Request",
    "Verdict",
    "Window",
    "budget_url",
    "open_budget",
    "shared_budget",
]

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")
_REDIS = ("redis://", "rediss://", "unix://")
_MEMORY = "memory://"


def open_budget(
    url: str, config: BudgetConfig | None = None, *, clock: Clock | None = None
) -> RateBudget:
    """The rate budget at ``url``:

    - ``sqlite:///path/to/file.db``: the processes of one host (the store's file is fine:
      the budget has a table of its own);
    - ``postgresql://user@host/db`` (``postgres://`` too): every host;
    - ``redis://host:6379/0`` (``rediss://``, ``unix://``): every host, high throughput;
      needs the ``redis`` package;
    - ``memory://``: this process only (tests, single-process tools).

    ``clock`` (epoch seconds) replaces the backend's time in tests. Nothing connects until
    the first use. Raises ValueError for an unknown scheme.
    """
    config = config or BudgetConfig()
    if url.startswith(_SQLITE):
        from workers.budget.backends.sqlite import SQLiteBudget
        from workers.store import sqlite_path

        return SQLiteBudget(sqlite_path(url), config, clock=clock)
    if url.startswith(_POSTGRES):
        from workers.budget.backends.postgres import PostgresBudget

        return PostgresBudget(url, config, clock=clock)
    if url.startswith(_REDIS):
        from workers.budget.backends.redis import RedisBudget

        return RedisBudget(url, config, clock=clock)
    if url.startswith(_MEMORY):
        from workers.budget.backends.memory import MemoryBudget

        return MemoryBudget(config, clock=clock)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ValueError(
        f"unsupported rate budget URL scheme {scheme!r}: use sqlite:///path/to/file.db, "
        "postgresql://user@host/dbname, redis://host:6379/0 or memory://"
    )


_shared: tuple[int, RateBudget] | None = None
_shared_lock = threading.Lock()


def shared_budget(settings: Any) -> RateBudget:
    """This process's budget for ``settings`` (opened once per process, after a fork anew),
    shared by every Allegro client of the process and, through its backend, by every
    process and host using the same ``ALLEGRO_FEED_RATE_BUDGET_URL``."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            budget = open_budget(budget_url(settings), BudgetConfig.from_settings(settings))
            _shared = (os.getpid(), budget)
        return _shared[1]
