"""The envelope of a sample event: its type, deterministic id, time, SKU and version.

The event id is the UUIDv5 of (SKU, type, version); the version is the store's updated-at in
milliseconds, and ``occurred_at`` is that same moment.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["ENVELOPE_KEYS", "envelope"]

_EVENT_NAMESPACE = uuid.UUID("6d1f0a52-3c1e-4d0b-9a57-2f0c1b8e4a11")
#: The envelope's keys in the event contract (:mod:`schemas.events`; the sample never sets
#: ``account``): the rest of an event is its body.
ENVELOPE_KEYS = ("type", "event_id", "occurred_at", "account", "sku", "version")


def _event_id(sku: str, event_type: str, version: int) -> str:
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{sku}/{event_type}/{version}"))


def _occurred_at(version_ms: int) -> str:
    moment = datetime.fromtimestamp(version_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{version_ms % 1000:03d}Z"


def envelope(event_type: str, sku: str, version: int) -> dict[str, Any]:
    return {
        "type": event_type,
        "event_id": _event_id(sku, event_type, version),
        "occurred_at": _occurred_at(version),
        "sku": sku,
        "version": version,
    }
