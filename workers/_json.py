"""Fast JSON for the hot paths: the store's JSON columns and the Dramatiq messages.

orjson (a maintained Rust library) parses about twice and writes about eight times as fast
as the standard library, and the stock fast path reads and writes a registry entry, a
pending change and a journal entry per event. What it refuses falls back to :mod:`json`:
integers beyond 64 bits and keys that are not strings (both ways), ``NaN`` and
``Infinity`` in a text (read). One difference stays: orjson writes a float NaN or infinity
as ``null`` where :mod:`json` writes ``NaN``, which is no JSON; none reaches these paths
(events refuse non-finite numbers, and Allegro's JSON has none).

Not for canonical text that is hashed (fingerprints, part digests): orjson writes some
floats differently (``1e16`` against ``1e+16``), and a hash must not change with it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from dramatiq.encoder import Encoder, MessageData

__all__ = ["DramatiqEncoder", "dumps", "dumps_text", "loads"]


def loads(data: str | bytes) -> Any:
    """The value of the JSON text ``data``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # Integers beyond 64 bits and NaN/Infinity, which Python's json takes.
        return json.loads(data)


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (non-ASCII characters as they are)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        # Keys that are not strings, integers beyond 64 bits: as json writes them.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def dumps_text(value: Any) -> str:
    """:func:`dumps` as a ``str``."""
    return dumps(value).decode()


class DramatiqEncoder(Encoder):
    """Dramatiq's message encoder on :func:`dumps` / :func:`loads`; reads what Dramatiq's
    own ``JSONEncoder`` writes, and the other way round."""

    def encode(self, data: MessageData) -> bytes:
        return dumps(data)

    def decode(self, data: bytes) -> MessageData:
        value: MessageData = loads(data)
        return value
