"""What the backends that run :mod:`workers.budget._window` in Python share (memory, SQLite,
PostgreSQL; the Redis backend runs the same arithmetic in Lua): load the states, decide or
penalize, keep the states, all as one atomic step of the backend (:meth:`_atomically`)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from workers.budget._window import Claim, KeyState, Verdict, decide, penalize
from workers.budget.base import RateBudget

__all__ = ["StateBudget", "States"]

#: The states of the budgets one step works on, by (kind, subject).
States = dict[tuple[str, str], KeyState]
T = TypeVar("T")


class StateBudget(RateBudget):
    """A :class:`~workers.budget.base.RateBudget` whose backend stores the states and leaves
    the deciding to :mod:`workers.budget._window`."""

    @abstractmethod
    def _atomically(
        self,
        keys: Sequence[tuple[str, str]],
        now: float | None,
        work: Callable[[States, float], T],
    ) -> T:
        """Run ``work(states, now)`` on the states of ``keys`` (fresh ones where there are
        none) as one atomic step, and keep the states it leaves; ``now`` None means the
        backend's own clock."""

    def _take(self, claims: Sequence[Claim], now: float | None) -> Verdict:
        return self._atomically(
            [claim.key for claim in claims], now, lambda states, at: decide(states, claims, at)
        )

    def _penalize(
        self, kind: str, subject: str, seconds: float, now: float | None, *, count: bool = True
    ) -> None:
        key = (kind, subject)
        self._atomically(
            [key], now, lambda states, at: penalize(states[key], seconds, at, count=count)
        )
