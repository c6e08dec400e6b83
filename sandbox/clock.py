"""The sandbox clock: real time plus an offset that tests can advance.

Everything time-dependent in the sandbox (token expiry, device codes, the refresh-token grace
period, async operations, batch command delays, rate-limit windows and client blocks) reads
this clock, so a test can jump forward instead of sleeping. Only injected latency and timeout
holds use real time, because they exist to make the client wait for real.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

__all__ = ["SandboxClock", "iso_millis", "parse_timestamp"]


class SandboxClock:
    """Wall-clock seconds since the epoch, shifted by :meth:`advance`.

    The wall reading is anchored to the monotonic clock at construction, so a system clock
    step does not move sandbox time backwards.
    """

    def __init__(self) -> None:
        self._wall_at_start = time.time()
        self._mono_at_start = time.monotonic()
        self._offset_s = 0.0

    def now(self) -> float:
        """Sandbox time in seconds since the epoch."""
        return self._wall_at_start + (time.monotonic() - self._mono_at_start) + self._offset_s

    def advance(self, seconds: float) -> float:
        """Move sandbox time forward (never backwards); returns the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset_s += seconds
        return self.now()

    @property
    def offset_s(self) -> float:
        """How far sandbox time is ahead of real time, s."""
        return self._offset_s

    def reset(self) -> None:
        """Drop the offset: sandbox time is real time again."""
        self._offset_s = 0.0


def iso_millis(epoch_s: float) -> str:
    """Allegro's timestamp format: ``2024-06-30T08:11:36.862Z``."""
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 date-time string (``publication.startingAt``,
    ``scheduledFor``); ``None`` for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None
