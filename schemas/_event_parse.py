"""Reading an upstream event from raw bytes: :func:`parse_event` and its error wording.

:func:`parse_event` turns a message body into one of the models of
:mod:`schemas._event_models`, or raises :class:`~schemas.errors.EventError` naming every
problem with its field and fix; :data:`EVENT_HINTS` words the errors of particular fields.
Both are re-exported from :mod:`schemas.events`, their public home (see its docstring for
the contract).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from schemas._event_models import (
    _ACCOUNT_PATTERN,
    _EVENT_ID_MAX,
    _MODELS,
    _SCANNED,
    _SKU_MAX,
    DEFAULT_MAX_EVENT_BYTES,
    ProductEvent,
)
from schemas._raw import load_object, scan
from schemas.errors import (
    ErrorCode,
    EventError,
    FieldError,
    FieldHint,
    field_errors_from_validation,
)

__all__ = ["EVENT_HINTS", "parse_event"]

_DATETIME = 'an RFC 3339 date-time with a timezone, such as "2026-07-18T12:00:00Z"'

#: Field-specific wording of errors (see :class:`schemas.errors.FieldHint`).
EVENT_HINTS: Mapping[str, FieldHint] = {
    "event_id": FieldHint(why="(it is also the AMQP message_id)"),
    "occurred_at": FieldHint(expect=_DATETIME, fix="format it as RFC 3339 with Z or an offset"),
    "account": FieldHint(
        expect="an account name of letters, digits, '.', '_' or '-' (at most 64)",
        fix='use the name given to "allegro-feed connect --account", or leave account out',
    ),
    "sku": FieldHint(
        why="(it becomes Allegro's external.id)",
        expect="a string (the store's product id)",
        fix='send it as a JSON string, e.g. "12345"',
    ),
    "version": FieldHint(
        expect="an integer (e.g. the product's updated-at in milliseconds)",
        fix="send a JSON integer: not a string, a fraction or a boolean",
    ),
    "price.amount": FieldHint(
        expect='a decimal string such as "129.99"',
        fix="send the amount as a JSON string with at most 2 decimal places, not a number",
    ),
    "price.currency": FieldHint(
        expect='an ISO 4217 code of 3 upper-case letters such as "PLN"',
        fix="use the currency's ISO 4217 code",
    ),
    "stock.available": FieldHint(
        expect="a whole number of items", fix="send a JSON integer, not a string"
    ),
    "ean": FieldHint(
        expect="a GTIN of 8, 10, 12, 13 or 14 digits, as a string",
        fix="send the digits only, leading zeros kept, as a JSON string",
    ),
    "category": FieldHint(
        expect="a string (the store's category path or id)", fix='send ids as strings: "123"'
    ),
    "images[]": FieldHint(
        expect='an http(s) URL such as "https://shop.example/p/1.jpg"',
        fix="send absolute http:// or https:// URLs",
    ),
    "allegro.category_id": FieldHint(
        expect='a string (an Allegro category id such as "165")', fix="send it as a string"
    ),
}


def _identity(data: Mapping[str, Any]) -> dict[str, Any]:
    """What can be read of the event's identity, for the REJECTED status of a bad event."""
    event_id, sku, version = data.get("event_id"), data.get("sku"), data.get("version")
    account = data.get("account", "default")
    # A NUL would make the REJECTED status itself unstorable (PostgreSQL refuses it).
    return {
        "event_id": event_id
        if isinstance(event_id, str)
        and 0 < len(event_id) <= _EVENT_ID_MAX
        and "\x00" not in event_id
        else None,
        "sku": sku
        if isinstance(sku, str) and 0 < len(sku) <= _SKU_MAX and "\x00" not in sku
        else None,
        "account": account
        if isinstance(account, str) and re.fullmatch(_ACCOUNT_PATTERN, account)
        else None,
        "version": version if type(version) is int and version >= 0 else None,
    }


def _where_else(name: str, event_type: str) -> str | None:
    """The other event types that have a top-level field ``name``, as a fix."""
    owners = [t for t, m in _MODELS.items() if t != event_type and name in m.model_fields]
    return f'"{name}" belongs to {" or ".join(owners)} events' if owners else None


def parse_event(
    raw: bytes, *, routing_key: str | None = None, max_bytes: int | None = None
) -> ProductEvent:
    """Parse and check one upstream event.

    ``raw`` is the message body; ``routing_key`` the key it was published with. A key that
    is one of the four event types but differs from the body's ``type`` is recorded in
    :attr:`notes` (the body wins); a key that is no event type at all is an error, because
    the producer publishes wrongly and must fix it. ``max_bytes`` is the size limit,
    :data:`DEFAULT_MAX_EVENT_BYTES` when None.

    Raises :class:`EventError` listing every problem found: body too large, not UTF-8, not
    JSON, not an object, a key repeated, unknown routing key, unknown ``type``, and each
    invalid field with its dotted path and fix.
    """
    data = load_object(raw, DEFAULT_MAX_EVENT_BYTES if max_bytes is None else max_bytes)
    identity = _identity(data)
    # NULs, non-finite numbers, over-long integers, deep nesting: refused with their paths
    # before the models see them (and the models then skip the same scan).
    unsafe = scan(data)
    # A key that is no event type is reported with whatever else is wrong with the body.
    key_errors: list[FieldError] = []
    if routing_key is not None and routing_key not in _MODELS:
        key_errors.append(
            FieldError(
                "routing_key",
                f"must be one of {', '.join(_MODELS)}, got {json.dumps(routing_key)[:60]}",
                "publish each event with its type as the routing key",
                ErrorCode.EVENT_UNKNOWN_ROUTING_KEY,
            )
        )
    raw_type = data.get("type")
    event_type = raw_type if isinstance(raw_type, str) else ""
    model = _MODELS.get(event_type)
    if model is None:
        choices = ", ".join(_MODELS)
        if "type" not in data:
            error = FieldError(
                "type", "is required", f"add type: one of {choices}", ErrorCode.MISSING_FIELD
            )
        else:
            try:
                shown = json.dumps(raw_type)[:60]
            except (TypeError, ValueError):  # NaN or an over-long integer: scan names it
                shown = "no string"
            error = FieldError(
                "type",
                f"must be one of {choices}, got {shown}",
                "use one of these types",
                ErrorCode.EVENT_UNKNOWN_TYPE,
            )
        raise EventError([*key_errors, *unsafe, error], **identity)
    if unsafe:
        raise EventError([*key_errors, *unsafe], **identity)
    try:
        event = model.model_validate(data, context={_SCANNED: True})
    except ValidationError as exc:
        errors = field_errors_from_validation(exc, model=model, hints=EVENT_HINTS)
        for i, error in enumerate(errors):
            elsewhere = (
                _where_else(error.field, event_type)
                if error.code == ErrorCode.UNKNOWN_FIELD
                else None
            )
            if elsewhere:
                errors[i] = FieldError(error.field, error.message, elsewhere, error.code)
        raise EventError([*key_errors, *errors], **identity) from None
    if key_errors:
        raise EventError(key_errors, **identity)
    if routing_key is not None and routing_key != event_type:
        event._notes = (
            FieldError(
                "type",
                f'differs from the routing key "{routing_key}"; the body\'s type '
                f'"{event_type}" was used',
                "publish with the event's type as the routing key",
                ErrorCode.ROUTING_KEY_MISMATCH,
            ),
        )
    return event
