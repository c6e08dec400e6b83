"""When the batcher reads a sent command's report: the pacing of its polls.

A command's report is first read a little later than commands of its type have lately
taken to finish (:class:`DurationEstimate`, learnt from each finished command by
:func:`took_s`), so that a poll seldom finds a command still busy and a command Allegro
finishes at once is read soon. Pure functions and a small in-memory estimate: no store, no
call.
"""

from __future__ import annotations

from datetime import datetime

from workers.allegro.models import GeneralReport

from .model import CommandType

__all__ = [
    "ESTIMATE_WEIGHT",
    "FIRST_POLL_MARGIN",
    "MAX_FIRST_POLL_S",
    "MAX_POLL_PAUSE_S",
    "MIN_FIRST_POLL_S",
    "POLL_GROWTH",
    "DurationEstimate",
    "first_poll_s",
    "poll_pause_s",
    "server_duration",
    "took_s",
]

#: The first poll after a PUT comes at most this long after it, s (whatever the estimate).
MAX_FIRST_POLL_S = 10.0
#: The earliest first poll, for commands that Allegro lately finished at once, s.
MIN_FIRST_POLL_S = 0.05
#: The first poll comes at ``estimate * factor + seconds`` after the PUT answered.
FIRST_POLL_MARGIN = (1.1, 0.02)
#: A busy (or not yet visible) command's next poll comes ``poll_s * POLL_GROWTH**polls``
#: after this one, at most :data:`MAX_POLL_PAUSE_S` (``polls``: the polls made so far).
POLL_GROWTH = 1.5
MAX_POLL_PAUSE_S = 3.0
#: Weight of the newest duration in a command kind's estimate (:class:`DurationEstimate`).
ESTIMATE_WEIGHT = 0.3


class DurationEstimate:
    """How long Allegro has lately taken from a PUT to a complete report, per command
    type: an exponentially weighted moving average (``weight`` for the newest duration;
    the first one is taken as it is). None for a type not seen yet."""

    def __init__(self, weight: float = ESTIMATE_WEIGHT) -> None:
        if not 0 < weight <= 1:
            raise ValueError("weight must lie in (0, 1]")
        self.weight = weight
        self._by_type: dict[CommandType, float] = {}

    def get(self, command_type: CommandType) -> float | None:
        return self._by_type.get(command_type)

    def add(self, command_type: CommandType, seconds: float) -> float:
        """Take in one command's duration; returns the new estimate."""
        seconds = max(0.0, seconds)
        old = self._by_type.get(command_type)
        new = seconds if old is None else old + self.weight * (seconds - old)
        self._by_type[command_type] = new
        return new


def first_poll_s(estimate: float | None, poll_s: float) -> float:
    """How long after a PUT its report is first read, s: ``poll_s`` (the poll interval)
    while no command of its type has finished (``estimate`` None); then a little longer
    than such commands have lately taken (at least :data:`MIN_FIRST_POLL_S`, at most
    :data:`MAX_FIRST_POLL_S`)."""
    if estimate is None:
        return poll_s  # nothing learned yet
    # A little later than the estimate: a poll just before the command is done costs a
    # request and a whole poll interval. Commands that finish at once are read soon.
    estimate = estimate * FIRST_POLL_MARGIN[0] + FIRST_POLL_MARGIN[1]
    return max(min(poll_s, MIN_FIRST_POLL_S), min(estimate, MAX_FIRST_POLL_S))


def poll_pause_s(poll_s: float, polls: int) -> float:
    """How long after a poll that found its command busy (or its report not visible yet)
    the next one comes, s: ``poll_s`` after the first such poll, growing by
    :data:`POLL_GROWTH` with each one after, capped at :data:`MAX_POLL_PAUSE_S` (or
    ``poll_s`` when that is longer). A long command is read a few times a minute instead
    of four times a second: each read counts against the client's request budget and
    Allegro's per-minute allowance of offer changes read (FACTS §3)."""
    growth = POLL_GROWTH ** min(max(polls, 0), 32)
    return max(poll_s, min(poll_s * growth, MAX_POLL_PAUSE_S))


def server_duration(report: GeneralReport) -> float | None:
    """``completedAt - createdAt`` of the report, s (None when either is missing or not
    a timestamp)."""
    if not report.created_at or not report.completed_at:
        return None
    try:
        created = datetime.fromisoformat(report.created_at)
        completed = datetime.fromisoformat(report.completed_at)
        return (completed - created).total_seconds()
    except (TypeError, ValueError):
        return None


def took_s(sent_at: float, busy_at: float | None, now: float, reported: float | None) -> float:
    """How long a command took, s, as far as the worker can tell: Allegro's own figure
    (``reported``, see :func:`server_duration`) within what the worker saw: after its
    last poll that found the command busy (``busy_at``, None without one) and by this
    poll (``now``), all on the clock of ``sent_at``; without Allegro's figure, the middle
    of that span."""
    latest = max(now - sent_at, 0.0)
    earliest = 0.0 if busy_at is None else min(max(busy_at - sent_at, 0.0), latest)
    if reported is None:
        return (earliest + latest) / 2
    return min(max(reported, earliest), latest)
