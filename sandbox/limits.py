"""Rate limits as Allegro documents them, counted on the sandbox clock.

- per client id: ``client_limit_per_min`` API requests in any sliding minute; the request
  that goes over blocks the client id for ``client_block_s``, and every call during the
  block gets 429 (optionally extending it, as Allegro staff described in 2020);
- per seller: POST + PATCH ``/sale/product-offers`` per sliding minute and hour;
- per seller: offer changes in batch commands per sliding minute;
- per seller: GETs of one product offer per sliding minute (3,500);
- per seller: offer changes read by batch command report and ``/tasks`` GETs per sliding
  minute (270,000).

Windows count events in one-second buckets, so an hour of heavy traffic costs at most 3,600
buckets per counter.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from sandbox.config import SandboxConfig

__all__ = ["Limits", "SlidingWindow"]

_MINUTE_S = 60.0
_HOUR_S = 3600.0


@dataclass
class SlidingWindow:
    """Event counts over the last ``span_s`` seconds, in one-second buckets."""

    span_s: float
    _buckets: deque[list[int]] = field(default_factory=deque)
    _total: int = 0

    def count(self, now: float) -> int:
        self._prune(now)
        return self._total

    def add(self, now: float, n: int = 1) -> None:
        self._prune(now)
        second = math.floor(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += n
        else:
            self._buckets.append([second, n])
        self._total += n

    def _prune(self, now: float) -> None:
        oldest_kept = math.floor(now - self.span_s) + 1
        while self._buckets and self._buckets[0][0] < oldest_kept:
            self._total -= self._buckets.popleft()[1]


def _counted(windows: dict[str, SlidingWindow], key: str, now: float, span_s: float) -> int:
    """Count one event of ``key`` (the attempt counts, allowed or not: a refused request
    uses up Allegro's allowance too); returns the window's count with it."""
    window = windows.setdefault(key, SlidingWindow(span_s))
    window.add(now)
    return window.count(now)


def _reserved(windows: dict[str, SlidingWindow], key: str, n: int, now: float, limit: int) -> bool:
    """Reserve ``n`` events of ``key`` in its sliding minute; False (nothing reserved) when
    they would take it over ``limit``."""
    window = windows.setdefault(key, SlidingWindow(_MINUTE_S))
    if window.count(now) + n > limit:
        return False
    window.add(now, n)
    return True


class Limits:
    """All counters; each check records the attempt and says whether it may go on."""

    def __init__(self) -> None:
        self._client_minute: dict[str, SlidingWindow] = {}
        self._blocked_until: dict[str, float] = {}
        self._writes_minute: dict[str, SlidingWindow] = {}
        self._writes_hour: dict[str, SlidingWindow] = {}
        self._batch_minute: dict[str, SlidingWindow] = {}
        self._reads_minute: dict[str, SlidingWindow] = {}
        self._batch_reads_minute: dict[str, SlidingWindow] = {}

    def client_blocked_for(self, client_id: str, now: float, config: SandboxConfig) -> float:
        """Count one API request of ``client_id``. Returns 0 when it may proceed, else the
        seconds left of the block it is under (possibly one this request started)."""
        until = self._blocked_until.get(client_id, 0.0)
        if now < until:
            if config.client_block_extends:
                until = self._blocked_until[client_id] = now + config.client_block_s
            return until - now
        if _counted(self._client_minute, client_id, now, _MINUTE_S) > config.client_limit_per_min:
            self._blocked_until[client_id] = now + config.client_block_s
            # The block, not the window, governs from here; start counting afresh after it.
            del self._client_minute[client_id]
            return config.client_block_s
        return 0.0

    def offer_write_allowed(self, seller: str, now: float, config: SandboxConfig) -> bool:
        """Count one POST/PATCH of product-offers by ``seller``; False when over a limit."""
        minute = _counted(self._writes_minute, seller, now, _MINUTE_S)
        hour = _counted(self._writes_hour, seller, now, _HOUR_S)
        return (
            minute <= config.seller_offer_writes_per_min
            and hour <= config.seller_offer_writes_per_h
        )

    def batch_changes_allowed(
        self, seller: str, changes: int, now: float, config: SandboxConfig
    ) -> bool:
        """Reserve ``changes`` offer changes for ``seller``; False (nothing reserved) when
        they would exceed the per-minute allowance."""
        return _reserved(
            self._batch_minute, seller, changes, now, config.seller_batch_changes_per_min
        )

    def offer_read_allowed(self, seller: str, now: float, config: SandboxConfig) -> bool:
        """Count one GET of a product offer by ``seller``; False when over the minute's
        limit (the attempt counts, as a failed request uses up Allegro's allowance too)."""
        reads = _counted(self._reads_minute, seller, now, _MINUTE_S)
        return reads <= config.seller_offer_reads_per_min

    def batch_reads_allowed(
        self, seller: str, changes: int, now: float, config: SandboxConfig
    ) -> bool:
        """Reserve ``changes`` offer changes read (a report: the command's offers; tasks:
        the limit asked) for ``seller``; False (nothing reserved) when over the minute's
        allowance."""
        return _reserved(
            self._batch_reads_minute, seller, changes, now, config.seller_batch_reads_per_min
        )
