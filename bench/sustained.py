"""Throughput at a steady state: a closed loop that keeps a fixed number of events in flight.

Publishing N events at once and timing the first publish to the last status measures the
pipeline's fill and drain as much as its rate: a stock change waits its coalescing and batch
windows (0.5 s) and a command's round trip before any status comes, so a run of 2,000
events spends a third of its time on delays that a steady stream pays only once. A store
does not send its changes in one lump either: they keep coming.

:func:`closed_loop` keeps ``in_flight`` events in the pipeline: it publishes one event per
slot, and every time a status arrives it publishes that slot's next event (for a stock
change, the next change of the same offer, after its previous change is done, so no event is
coalesced away: each is a real change at Allegro; for new offers, another new product). The
rate is counted over consecutive windows after a warm-up, from the statuses that arrived in
each window, so every figure is a rate the pipeline sustained, as in any closed-loop load
test (Little's law: rate = events in flight / time each spends).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.harness import Stack

__all__ = ["Sustained", "closed_loop"]

#: How long the loop waits for a status before it looks again, s.
_WAIT_S = 0.02


@dataclass
class Sustained:
    """What a closed loop measured: events/s in each window, every event that finished
    (also outside the windows) with its status, and how many did not finish by the end."""

    rates: list[float]
    finished: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    unfinished: int = 0
    published: int = 0

    @property
    def statuses(self) -> Counter[str]:
        return Counter(status for _, status in self.finished)


def closed_loop(
    stack: Stack,
    first: Sequence[dict[str, Any]],
    following: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    warmup_s: float,
    window_s: float,
    windows: int,
    drain_s: float = 120.0,
) -> Sustained:
    """Publish ``first`` (one event per slot), then for each status the slot's next event,
    ``following(event that finished)``, until ``warmup_s + windows * window_s`` have
    passed; then wait up to ``drain_s`` for the events still in flight. Rates count the
    statuses that arrived in each window (``perf_counter`` of this process)."""
    in_flight = {str(event["event_id"]): event for event in first}
    result = Sustained(rates=[])
    counts = [0] * windows
    cursor = 0
    stack.publisher.publish(first)
    result.published = len(first)
    start = time.perf_counter()
    windows_from = start + warmup_s
    end = windows_from + windows * window_s
    while time.perf_counter() < end:
        arrived, cursor = stack.statuses.since(cursor, wait_s=_WAIT_S)
        nxt: list[dict[str, Any]] = []
        for event_id, received in arrived:
            event = in_flight.pop(event_id, None)
            if event is None:
                continue  # a status of an event of an earlier scenario step
            result.finished.append((event, received.status))
            index = int((received.at - windows_from) // window_s)
            if 0 <= index < windows:
                counts[index] += 1
            nxt.append(following(event))
        if nxt:
            stack.publisher.publish(nxt)
            result.published += len(nxt)
            in_flight.update((str(event["event_id"]), event) for event in nxt)
        else:
            stack.check_alive()
    result.rates = [count / window_s for count in counts]
    # Let what is still in flight finish: its statuses are checked like the others.
    deadline = time.perf_counter() + drain_s
    while in_flight and time.perf_counter() < deadline:
        arrived, cursor = stack.statuses.since(cursor, wait_s=0.2)
        for event_id, received in arrived:
            event = in_flight.pop(event_id, None)
            if event is not None:
                result.finished.append((event, received.status))
    result.unfinished = len(in_flight)
    return result
