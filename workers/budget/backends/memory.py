"""The rate budget in this process's memory: for unit tests and single-process tools. It
is not shared with any other process."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence

from workers.budget._window import Claim, KeyState, Verdict, decide, penalize
from workers.budget.base import Clock, RateBudget
from workers.budget.config import BudgetConfig

__all__ = ["MemoryBudget"]


class MemoryBudget(RateBudget):
    """A :class:`~workers.budget.base.RateBudget` in a dict under a lock. ``clock``:
    epoch seconds (default ``time.time``)."""

    def __init__(self, config: BudgetConfig | None = None, *, clock: Clock | None = None) -> None:
        super().__init__(config or BudgetConfig(), clock=clock)
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], KeyState] = {}

    def __repr__(self) -> str:
        return "MemoryBudget()"

    def _take(self, claims: Sequence[Claim], now: float | None) -> Verdict:
        at = time.time() if now is None else now
        with self._lock:
            states = {c.key: self._states.setdefault(c.key, KeyState()) for c in claims}
            return decide(states, claims, at)

    def _penalize(
        self, kind: str, subject: str, seconds: float, now: float | None, *, count: bool = True
    ) -> None:
        at = time.time() if now is None else now
        with self._lock:
            state = self._states.setdefault((kind, subject), KeyState())
            penalize(state, seconds, at, count=count)

    def close(self) -> None:
        pass  # nothing to release

    def _load(self, kind: str, subject: str) -> KeyState:
        with self._lock:
            return copy.deepcopy(self._states.get((kind, subject), KeyState()))
