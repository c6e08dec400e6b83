"""How a run of the sample shop went: the statuses received, the summary, the progress line.

Used by ``make run`` (:mod:`workers.runjob`): :class:`StatusBoard` keeps the first status
message of each event (every status is terminal), :func:`summarize` compares the outcomes
with what the sample expects (:mod:`workers.sample.events`), and :class:`Progress` draws the
line that shows a run advancing.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from workers.sample.events import SampleEvent, expected_counts

__all__ = ["PROGRESS_EVERY_S", "Progress", "StatusBoard", "missing_text", "summarize"]

#: How often a progress line is redrawn (a new line each time when not on a terminal), s.
PROGRESS_EVERY_S = 0.5


class Progress:
    """One line redrawn in place on a terminal; throttled plain lines otherwise."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._open = False

    def update(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self, text: str) -> None:
        self.update(text, force=True)
        if self.tty:
            self.stream.write("\n")
            self._open = False
        self.stream.flush()

    def line(self, text: str) -> None:
        """A message of its own, above the progress line."""
        if self._open:
            self.stream.write("\n")
            self._open = False
        self.stream.write(text + "\n")
        self.stream.flush()


# --- statuses ------------------------------------------------------------------------------


@dataclass
class StatusBoard:
    """The first status message of every event (every status is terminal), and counts."""

    first: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeats: int = 0  # status messages of an event that had one already
    unnamed: int = 0  # REJECTED of input too broken to carry an event_id
    unreadable: int = 0  # messages on the status queue that are not JSON objects

    def add(self, body: bytes) -> None:
        try:
            message = json.loads(body)
        except ValueError:
            self.unreadable += 1
            return
        if not isinstance(message, dict):
            self.unreadable += 1
            return
        event_id = message.get("event_id")
        if not isinstance(event_id, str):
            self.unnamed += 1
        elif event_id in self.first:
            self.repeats += 1
        else:
            self.first[event_id] = message

    def has(self, event_id: str) -> bool:
        return event_id in self.first

    def counts(self, event_ids: Iterator[str] | Sequence[str] | None = None) -> Counter[str]:
        chosen = self.first if event_ids is None else {e: self.first[e] for e in event_ids}
        return Counter(str(m.get("status")) for m in chosen.values())


# --- the summary ----------------------------------------------------------------------------

_STATUS_ORDER = (
    "PUBLISHED",
    "UPDATED",
    "UNCHANGED",
    "SUPERSEDED",
    "ENDED",
    "REJECTED",
    "FAILED",
)


def _first_error(message: Mapping[str, Any]) -> tuple[str, str]:
    """(code, text) of the first error of a status message."""
    errors = message.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = str(first.get("code") or "no code")
    text = str(first.get("userMessage") or first.get("message") or "")
    return code, " ".join(text.split())


def summarize(
    statuses: Mapping[str, Mapping[str, Any]],
    events: Sequence[SampleEvent],
    elapsed_s: float,
    *,
    top: int = 8,
    width: int = 110,
) -> str:
    """The run's summary: count per status (with the sample's expected count), the top
    rejection and failure reasons with an example SKU each, events whose status differs from
    the expected one, the elapsed time and the throughput.

    ``statuses``: event id -> its first status message; ``events``: what was published.
    """
    counts = Counter(str(m.get("status")) for m in statuses.values())
    expected = expected_counts(events)
    lines = [f"{len(statuses)} of {len({e.event_id for e in events})} events have a status:"]
    order = [s for s in _STATUS_ORDER if s in counts or s in expected]
    order += sorted(s for s in counts if s not in order)
    for status in order:
        got, want = counts.get(status, 0), expected.get(status, 0)
        note = "" if got == want else f"  (sample expects {want})"
        lines.append(f"  {status:<11} {got:>5}{note}")

    by_code: dict[str, list[tuple[str, str]]] = {}
    for message in statuses.values():
        if message.get("status") in ("REJECTED", "FAILED"):
            code, text = _first_error(message)
            by_code.setdefault(code, []).append((str(message.get("sku")), text))
    if by_code:
        lines.append("top reasons (REJECTED / FAILED), with an example:")
        ranked = sorted(by_code.items(), key=lambda item: (-len(item[1]), item[0]))
        for code, examples in ranked[:top]:
            sku, text = min(examples)
            line = f"  {len(examples):>3} x {code}, e.g. {sku}: {text}"
            lines.append(line if len(line) <= width else line[: width - 1] + "…")
        if len(ranked) > top:
            lines.append(f"  ... and {len(ranked) - top} more reasons")

    surprises = []
    for event in events:
        outcome = statuses.get(event.event_id)
        if event.expect.duplicate_of or outcome is None:
            continue
        if str(outcome.get("status")) not in event.expect.statuses:
            surprises.append(
                f"  {event.sku} {event.routing_key} (wave {event.wave}): "
                f"{outcome.get('status')}, expected {event.expect.status}"
                + (f" ({event.expect.defect})" if event.expect.defect else "")
            )
    if surprises:
        lines.append(f"{len(surprises)} events ended otherwise than the sample expects:")
        lines += surprises[:top]
        if len(surprises) > top:
            lines.append(f"  ... and {len(surprises) - top} more")
    rate = len(statuses) / elapsed_s if elapsed_s > 0 else 0.0
    lines.append(f"elapsed {elapsed_s:.1f} s, {rate:.1f} events/s")
    return "\n".join(lines)


def missing_text(missing: Sequence[str], events: Sequence[SampleEvent], limit: int = 15) -> str:
    by_id = {e.event_id: e for e in events}
    lines = [
        f"  {eid} {by_id[eid].sku} {by_id[eid].routing_key} (wave {by_id[eid].wave})"
        for eid in missing[:limit]
    ]
    if len(missing) > limit:
        lines.append(f"  ... and {len(missing) - limit} more")
    return "\n".join(lines)
