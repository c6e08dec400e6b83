"""What the SQL backends share: their own table, apart from the store's migrations.

One row per budget (kind, subject); ``state`` holds the JSON of
:class:`~workers.budget._window.KeyState`: ``at`` (latest time seen, epoch s), ``bu``
(blocked until, epoch s), ``pen`` (429s counted) and ``w`` (units per bucket, per window).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from workers.budget.backends._state import States

__all__ = ["CREATE_TABLE", "write_changed"]

T = TypeVar("T")

CREATE_TABLE = """CREATE TABLE IF NOT EXISTS allegro_rate_budget (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (kind, subject)
)"""


def write_changed(
    states: States,
    now: float,
    work: Callable[[States, float], T],
    write: Callable[[str, str, str], object],
) -> T:
    """Run ``work(states, now)``, then ``write(kind, subject, state_json)`` for each state it
    changed (a refusal changes nothing: no write)."""
    before = {key: state.to_json() for key, state in states.items()}
    result = work(states, now)
    for (kind, subject), state in states.items():
        text = state.to_json()
        if text != before[kind, subject]:
            write(kind, subject, text)
    return result
