"""The algorithm, as pure functions on the state of one budget (one kind and key).

A sliding window in buckets: each window of ``span_s`` seconds (a minute, an hour) keeps the
units granted per bucket of ``bucket_s = span_s / buckets`` seconds. A claim of ``cost``
units at time ``now`` is granted when, for each window, the units in the ``buckets + 1``
buckets ending with the current one, plus ``cost``, stay within the limit.

Why ``buckets + 1``: those buckets cover ``[now - span_s, now]`` whatever the position of
``now`` in its bucket. Take any window ``[t, t + span_s)`` and its last grant, at ``g``:
every grant in it lies in ``(g - span_s, g]``, was counted by the check made at ``g``, so
the window holds at most the limit. The price is at most ``1 / (buckets + 1)`` of the limit
unused at a window's edge; the gain is a small, bounded state (no per-request log).

Times must not run backwards within a budget, or the argument above breaks: the state keeps
the latest time it saw (``at``) and a clock that is behind it counts as ``at``. Backends
that serve several hosts read the time from their server (one clock for all).

The backends load the states, call :func:`decide` (or :func:`penalize`) and store them, all
in one atomic step (a transaction, a lock, a Lua script; the Redis backend mirrors this
module in Lua).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers.budget.config import Kind, Window

__all__ = ["Claim", "KeyState", "Verdict", "decide", "penalize", "used"]


@dataclass(frozen=True)
class Claim:
    """``cost`` units of ``kind`` for ``subject`` (the client id or the seller account),
    under ``windows``."""

    kind: Kind
    subject: str
    cost: int
    windows: tuple[Window, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind.value, self.subject)


@dataclass(frozen=True)
class Verdict:
    """The outcome of an acquisition: ``wait_s`` 0.0 when granted (and taken), else the
    seconds until it would fit (nothing taken) and the kind that holds it back."""

    wait_s: float
    limited_by: Kind | None = None

    @property
    def granted(self) -> bool:
        return self.wait_s <= 0.0


@dataclass
class KeyState:
    """The stored state of one budget: latest time seen, block after a 429, the number of
    429s (penalties) and, per window tag, the units granted per bucket index."""

    at: float = 0.0
    blocked_until: float = 0.0
    penalties: int = 0
    counts: dict[str, dict[int, int]] = field(default_factory=dict)

    def to_json(self) -> str:
        """The JSON text stored by the backends (the Redis script writes the same shape)."""
        return json.dumps(
            {
                "at": self.at,
                "bu": self.blocked_until,
                "pen": self.penalties,
                "w": {
                    tag: {str(i): n for i, n in buckets.items()}
                    for tag, buckets in self.counts.items()
                },
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes | None) -> KeyState:
        """Parse :meth:`to_json`'s text; None or empty text is a fresh state."""
        if not text:
            return cls()
        raw: Any = json.loads(text)
        counts: dict[str, dict[int, int]] = {}
        windows = raw.get("w") or {}
        if isinstance(windows, Mapping):
            for tag, buckets in windows.items():
                if isinstance(buckets, Mapping):
                    counts[str(tag)] = {int(float(i)): int(n) for i, n in buckets.items()}
        return cls(
            at=float(raw.get("at") or 0.0),
            blocked_until=float(raw.get("bu") or 0.0),
            penalties=int(raw.get("pen") or 0),
            counts=counts,
        )


def _bucket(now: float, window: Window) -> int:
    return math.floor(now / window.bucket_s)


def _live(state: KeyState, window: Window, now: float) -> dict[int, int]:
    """The window's buckets that still count at ``now`` (older ones are dropped)."""
    oldest = _bucket(now, window) - window.buckets
    buckets = state.counts.get(window.tag, {})
    return {i: n for i, n in buckets.items() if i >= oldest and n > 0}


def used(state: KeyState, window: Window, now: float) -> int:
    """Units counted against ``window`` at ``now``."""
    return sum(_live(state, window, max(now, state.at)).values())


def _fits_at(state: KeyState, window: Window, cost: int, now: float) -> float:
    """The earliest time ``>= now`` at which ``cost`` more units fit in ``window``, if
    nothing else is granted meanwhile."""
    live = _live(state, window, now)
    excess = sum(live.values()) + cost - window.limit
    if excess <= 0:
        return now
    for index in sorted(live):
        excess -= live[index]
        if excess <= 0:
            # Bucket ``index`` stops counting once the current bucket is index+buckets+1.
            return (index + window.buckets + 1) * window.bucket_s
    raise ValueError(f"a cost of {cost} can never fit a limit of {window.limit}")


def decide(
    states: Mapping[tuple[str, str], KeyState], claims: Sequence[Claim], now: float
) -> Verdict:
    """Grant every claim or none: record them in ``states`` (mutated) and return a granted
    verdict, or leave ``states`` untouched and return the wait until all of them fit."""
    wait_s = 0.0
    limited_by: Kind | None = None
    local_now: dict[tuple[str, str], float] = {}
    for claim in claims:
        state = states[claim.key]
        t = max(now, state.at)
        local_now[claim.key] = t
        earliest = max(t, state.blocked_until)
        for window in claim.windows:
            earliest = max(earliest, _fits_at(state, window, claim.cost, t))
        if earliest > t and earliest - now > wait_s:
            wait_s, limited_by = earliest - now, claim.kind
    if wait_s > 0.0:
        return Verdict(wait_s, limited_by)
    for claim in claims:
        if not claim.windows:
            continue  # every limit off: nothing to count (only a block could refuse it)
        state = states[claim.key]
        t = local_now[claim.key]
        for window in claim.windows:
            live = _live(state, window, t)
            index = _bucket(t, window)
            live[index] = live.get(index, 0) + claim.cost
            state.counts[window.tag] = live
        # Windows no longer configured are forgotten.
        tags = {window.tag for window in claim.windows}
        state.counts = {tag: b for tag, b in state.counts.items() if tag in tags}
        state.at = t
    return Verdict(0.0)


def penalize(state: KeyState, seconds: float, now: float, *, count: bool = True) -> None:
    """After a 429: grant nothing of this budget for ``seconds`` from ``now``; ``count``:
    the 429 was this budget's (False: held as a precaution, the count stays)."""
    t = max(now, state.at)
    state.blocked_until = max(state.blocked_until, t + max(0.0, seconds))
    if count:
        state.penalties += 1
    state.at = t


def blocked_for(state: KeyState, now: float) -> float:
    """Seconds left of the block after a 429 (0.0 when none)."""
    return max(0.0, state.blocked_until - max(now, state.at))
