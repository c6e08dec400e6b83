"""The rate budget in this process's memory: for unit tests and single-process tools. It
is not shared with any other process."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from workers.budget._window import KeyState
from workers.budget.backends._state import StateBudget, States
from workers.budget.base import Clock
from workers.budget.config import BudgetConfig

__all__ = ["MemoryBudget"]

T = TypeVar("T")


class MemoryBudget(StateBudget):
    """A :class:`~workers.budget.base.RateBudget` in a dict under a lock. ``clock``:
    epoch seconds (default ``time.time``)."""

    def __init__(self, config: BudgetConfig | None = None, *, clock: Clock | None = None) -> None:
        super().__init__(config or BudgetConfig(), clock=clock)
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], KeyState] = {}

    def __repr__(self) -> str:
        return "MemoryBudget()"

    def _atomically(
        self,
        keys: Sequence[tuple[str, str]],
        now: float | None,
        work: Callable[[States, float], T],
    ) -> T:
        at = time.time() if now is None else now
        with self._lock:
            return work({key: self._states.setdefault(key, KeyState()) for key in keys}, at)

    def close(self) -> None:
        pass  # nothing to release

    def _load(self, kind: str, subject: str) -> KeyState:
        with self._lock:
            return copy.deepcopy(self._states.get((kind, subject), KeyState()))
