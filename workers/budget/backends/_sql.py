"""What the SQL backends share: their own table, apart from the store's migrations.

One row per budget (kind, subject); ``state`` holds the JSON of
:class:`~workers.budget._window.KeyState`: ``at`` (latest time seen, epoch s), ``bu``
(blocked until, epoch s), ``pen`` (429s counted) and ``w`` (units per bucket, per window).
"""

from __future__ import annotations

__all__ = ["CREATE_TABLE"]

CREATE_TABLE = """CREATE TABLE IF NOT EXISTS allegro_rate_budget (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (kind, subject)
)"""
