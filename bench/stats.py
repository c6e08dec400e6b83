"""Pure helpers of the benchmark: percentiles, medians, windows, targets.

Nothing here touches a broker, a process or the network, so ``tests/unit/test_bench.py``
checks it directly.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "Target",
    "busiest_window",
    "median",
    "parse_iso",
    "percentile",
    "ratio",
    "spread",
]


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks
    (numpy's default). Raises ``ValueError`` on no values or ``q`` outside 0..100."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must lie in [0, 100], got {q}")
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def busiest_window(times_s: Iterable[float], window_s: float = 60.0) -> int:
    """The largest number of events inside any half-open window ``[t, t + window_s)``
    (e.g. the busiest minute of a list of timestamps in seconds)."""
    ordered = sorted(times_s)
    best = 0
    start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def parse_iso(text: str) -> float:
    """An RFC 3339 timestamp (``Z`` or an offset) as POSIX seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Target:
    """A target of the issue: ``value <op> threshold`` with op ``>=``, ``<=``, ``<``, ``>``."""

    op: str
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in (">=", "<=", "<", ">"):
            raise ValueError(f"unknown comparison {self.op!r}")

    def met(self, value: float | None) -> bool | None:
        """True/False; None when there is no value to judge."""
        if value is None:
            return None
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<=":
            return value <= self.threshold
        if self.op == "<":
            return value < self.threshold
        return value > self.threshold

    def text(self) -> str:
        shown = {">=": "≥", "<=": "≤", "<": "<", ">": ">"}[self.op]
        return f"{shown} {self.threshold:g}"


def spread(values: Sequence[float]) -> str:
    """The individual runs, for the notes: ``12.3 / 12.9 / 13.1``."""
    return " / ".join(f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" for v in values)
