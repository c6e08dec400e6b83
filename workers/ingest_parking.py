"""What the ingest bridge tells about a delivery it does not take: the properties of a
parked message (:func:`parked_properties`), the message properties that explain an
unreadable body (:func:`with_property_errors`), and a parser failure (:class:`ParseFailed`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pika

from schemas.errors import EventError, FieldError
from workers.topology import (
    ORIGINAL_ROUTING_KEY_HEADER,
    REJECTED_AT_HEADER,
    REJECTED_REASON_HEADER,
)

__all__ = [
    "MAX_REASON_CHARS",
    "ParseFailed",
    "message_id",
    "parked_properties",
    "with_property_errors",
]

#: Longest reason text put into the ``x-rejected-reason`` header, characters.
MAX_REASON_CHARS = 4_000


class ParseFailed(Exception):
    """The parser broke on a delivery with something other than :class:`EventError`: a bug
    of ours, and a lasting one (parsing is pure, the same bytes fail again). ``error`` is
    what it raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"the event parser failed: {error!r}")
        self.error = error


#: Content encodings and types under which a body is plain UTF-8 JSON (lower case; a type
#: is compared without its parameters, such as "; charset=utf-8").
_PLAIN_ENCODINGS = frozenset({"", "identity", "utf-8", "utf8"})
_JSON_TYPES = frozenset({"", "application/json", "text/json", "text/plain"})
_PLAIN_FIX = "publish uncompressed UTF-8 JSON with content_type application/json"


def with_property_errors(error: EventError, properties: pika.BasicProperties | None) -> EventError:
    """``error`` with the message's ``content_encoding`` / ``content_type`` named first
    when they say the body is no plain JSON (gzip, say): the body's own errors ("not
    UTF-8 text") would not tell the producer why."""
    if properties is None:
        return error
    extra: list[FieldError] = []
    encoding = (properties.content_encoding or "").strip()
    if encoding.lower() not in _PLAIN_ENCODINGS:
        extra.append(
            FieldError(
                "content_encoding",
                f'is "{encoding[:40]}": compressed or encoded bodies are not supported',
                _PLAIN_FIX,
            )
        )
    content_type = (properties.content_type or "").strip()
    if content_type.split(";")[0].strip().lower() not in _JSON_TYPES:
        extra.append(
            FieldError(
                "content_type",
                f'is "{content_type[:60]}": events are JSON',
                _PLAIN_FIX,
            )
        )
    if not extra:
        return error
    return EventError(
        [*extra, *error.field_errors],
        event_id=error.event_id,
        sku=error.sku,
        account=error.account,
        version=error.version,
    )


def parked_properties(
    properties: pika.BasicProperties, routing_key: str, reason: str, *, now: datetime | None = None
) -> pika.BasicProperties:
    """The original properties and headers of a parked event plus ``x-rejected-reason``,
    ``x-rejected-at`` (RFC 3339, UTC) and ``x-original-routing-key``; persistent."""
    headers: dict[str, Any] = dict(properties.headers or {})
    headers[REJECTED_REASON_HEADER] = reason[:MAX_REASON_CHARS]
    headers[REJECTED_AT_HEADER] = (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    headers[ORIGINAL_ROUTING_KEY_HEADER] = routing_key
    return pika.BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers,
        delivery_mode=pika.DeliveryMode.Persistent,
        priority=properties.priority,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        expiration=None,  # a parked event stays until it is replayed or purged
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.type,
        user_id=None,  # RabbitMQ checks user_id against the publishing connection's user
        app_id=properties.app_id,
    )


def message_id(properties: pika.BasicProperties) -> str | None:
    """The AMQP ``message_id``, when a status may carry it (a NUL cannot be stored)."""
    value = properties.message_id
    return value if isinstance(value, str) and value and "\x00" not in value else None
