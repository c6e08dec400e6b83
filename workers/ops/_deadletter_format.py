"""Dead letters described: what one message is, why it died, and how the commands print it.

Pure (no broker): :func:`describe` reads a message's body and properties into a
:class:`DeadLetter`; :func:`format_letter`, :func:`format_details` and :func:`full_json`
are what ``deadletters list`` and ``show`` print. The two kinds of dead letter are
explained in :mod:`workers.ops.deadletters`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pika

from schemas.events import EventType
from workers.topology import (
    ORIGINAL_ROUTING_KEY_HEADER,
    REJECTED_AT_HEADER,
    REJECTED_REASON_HEADER,
)

__all__ = [
    "REJECTED_AT_HEADER",
    "REJECTED_REASON_HEADER",
    "ROUTING_KEY_HEADERS",
    "DeadLetter",
    "Kind",
    "describe",
    "format_details",
    "format_letter",
    "full_json",
]

#: Headers that may name the routing key a parked event was first published with.
ROUTING_KEY_HEADERS = (ORIGINAL_ROUTING_KEY_HEADER, "x-routing-key")

Kind = Literal["dramatiq", "parked"]


# --- reading one message -----------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter as the commands show it.

    ``message_id``: Dramatiq's message id, else the AMQP ``message_id``, else ``sha256:``
    and the start of the body's hash (stable, so ``show`` and ``replay`` can name it).
    ``reason``: one line; ``detail``: everything known (traceback, rejection text).
    ``dead_since``: when it was dead-lettered (``x-death``) or parked (``x-rejected-at``),
    else its best-known time (``timestamp``, Dramatiq's requeue or message time).
    """

    queue: str
    message_id: str
    kind: Kind
    actor: str | None
    event_id: str | None
    sku: str | None
    account: str | None
    reason: str
    detail: str
    retries: int | None
    dead_since: datetime | None
    routing_key: str | None
    body: bytes
    headers: dict[str, Any]
    properties: dict[str, Any]
    payload: dict[str, Any] | None

    def summary(self) -> dict[str, Any]:
        """The JSON-ready fields ``list --json`` prints."""
        data = asdict(self)
        for key in ("body", "headers", "properties", "payload", "detail"):
            data.pop(key)
        data["dead_since"] = _iso(self.dead_since)
        return data


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, bytes):
        return _text(value)
    return value


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _find(data: Any, key: str, depth: int = 0) -> str | None:
    """The first string value of ``key`` in nested dicts and lists (actor arguments)."""
    if depth > 3:
        return None
    if isinstance(data, Mapping):
        value = data.get(key)
        if isinstance(value, str):
            return value
        data = list(data.values())
    if isinstance(data, list | tuple):
        for item in data:
            found = _find(item, key, depth + 1)
            if found is not None:
                return found
    return None


def _string(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _first_death(headers: Mapping[str, Any]) -> Mapping[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        return deaths[0]
    return {}


def _millis(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def _rfc3339(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(_text(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; None when it is not JSON or not an object."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _is_dramatiq_message(data: Mapping[str, Any]) -> bool:
    return {"actor_name", "message_id", "queue_name"} <= data.keys()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def describe(queue: str, body: bytes, properties: pika.BasicProperties | None = None) -> DeadLetter:
    """Read one dead letter: its kind, ids, failure reason and age (pure: no broker)."""
    properties = properties or pika.BasicProperties()
    headers: dict[str, Any] = dict(properties.headers or {})
    death = _first_death(headers)
    dead_since = death.get("time") if isinstance(death.get("time"), datetime) else None
    if dead_since is None and isinstance(properties.timestamp, int):
        dead_since = datetime.fromtimestamp(properties.timestamp, UTC)
    props = {
        k: _jsonable(v)
        for k, v in vars(properties).items()
        if v is not None and k != "headers" and not k.startswith("_")
    }
    # One parse for both kinds: a Dramatiq message, or the upstream event that was parked.
    data = _json_object(body) or {}
    if _is_dramatiq_message(data):
        raw_options = data.get("options")
        options: dict[str, Any] = raw_options if isinstance(raw_options, dict) else {}
        traceback = _text(options.get("traceback") or "")
        death_reason = f"dead-lettered ({_text(death.get('reason', 'rejected'))})"
        reason = _last_line(traceback) or _text(headers.get(REJECTED_REASON_HEADER) or "")
        retries = options.get("retries")
        arguments = [data.get("kwargs"), data.get("args")]
        dead_since = (
            dead_since
            or _millis(options.get("requeue_timestamp"))
            or _millis(data.get("message_timestamp"))
        )
        return DeadLetter(
            queue=queue,
            message_id=str(data["message_id"]),
            kind="dramatiq",
            actor=str(data["actor_name"]),
            event_id=_find(arguments, "event_id"),
            sku=_find(arguments, "sku"),
            account=_find(arguments, "account"),
            reason=reason or death_reason,
            detail=traceback or death_reason,
            retries=retries if isinstance(retries, int) else None,
            dead_since=dead_since,
            routing_key=str(data["queue_name"]),
            body=body,
            headers=_jsonable(headers),
            properties=props,
            payload=data,
        )
    rejected = _text(headers.get(REJECTED_REASON_HEADER) or "")
    dead_since = _rfc3339(headers.get(REJECTED_AT_HEADER)) or dead_since
    message_id = properties.message_id or _string(data, "event_id")
    return DeadLetter(
        queue=queue,
        message_id=message_id or "sha256:" + hashlib.sha256(body).hexdigest()[:16],
        kind="parked",
        actor=None,
        event_id=_string(data, "event_id"),
        sku=_string(data, "sku"),
        account=_string(data, "account"),
        reason=rejected.splitlines()[0] if rejected else "(no x-rejected-reason header)",
        detail=rejected,
        retries=None,
        dead_since=dead_since,
        routing_key=_original_routing_key(headers, death, data),
        body=body,
        headers=_jsonable(headers),
        properties=props,
        payload=None,
    )


def _original_routing_key(
    headers: Mapping[str, Any], death: Mapping[str, Any], event: Mapping[str, Any]
) -> str | None:
    for name in ROUTING_KEY_HEADERS:
        if headers.get(name):
            return _text(headers[name])
    keys = death.get("routing-keys")
    if death.get("exchange") and isinstance(keys, list) and keys:
        return _text(keys[0])
    kind = event.get("type")
    return kind if kind in {t.value for t in EventType} else None


# --- output ------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def format_letter(number: int, letter: DeadLetter) -> str:
    """The two or three lines ``list --queue`` prints for one message."""
    what = f"actor {letter.actor}" if letter.actor else f"routing key {letter.routing_key or '?'}"
    retries = f", retries {letter.retries}" if letter.retries is not None else ""
    lines = [
        f"{number:>4}  {letter.message_id}  {what}  dead since {_when(letter.dead_since)}{retries}",
        f"      event {letter.event_id or '-'}  sku {letter.sku or '-'}"
        f"  account {letter.account or '-'}",
        f"      reason: {letter.reason[:200]}",
    ]
    return "\n".join(lines)


def format_details(letter: DeadLetter) -> str:
    """Everything ``show`` prints about one message."""
    lines = [
        f"queue:        {letter.queue}",
        f"message id:   {letter.message_id}",
        f"kind:         {'Dramatiq message' if letter.kind == 'dramatiq' else 'parked event'}",
    ]
    if letter.actor:
        lines.append(f"actor:        {letter.actor} (queue {letter.routing_key})")
    else:
        lines.append(f"routing key:  {letter.routing_key or '? (unknown)'}")
    lines += [
        f"event id:     {letter.event_id or '-'}",
        f"sku:          {letter.sku or '-'}  (account {letter.account or '-'})",
        f"dead since:   {_when(letter.dead_since)}",
    ]
    if letter.retries is not None:
        lines.append(f"retries:      {letter.retries}")
    if letter.headers:
        lines.append("headers:")
        lines += [
            f"  {k}: {json.dumps(v, ensure_ascii=False, default=str)}"
            for k, v in letter.headers.items()
        ]
    if letter.payload is not None:
        shown = {k: v for k, v in letter.payload.items() if k != "options"}
        options = {k: v for k, v in dict(letter.payload.get("options") or {}).items()}
        options.pop("traceback", None)
        lines.append("message:      " + json.dumps(shown, ensure_ascii=False, default=str))
        lines.append("options:      " + json.dumps(options, ensure_ascii=False, default=str))
    else:
        lines.append("body:")
        lines.append(_pretty_body(letter.body))
    lines.append("failure:")
    lines += ["  " + line for line in (letter.detail or letter.reason).rstrip().splitlines()]
    return "\n".join(lines)


def _pretty_body(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return "  " + body.decode("utf-8", "replace")


def full_json(letter: DeadLetter) -> dict[str, Any]:
    """Everything ``show --json`` prints about one message."""
    data = letter.summary()
    data.update(
        detail=letter.detail,
        headers=letter.headers,
        properties=letter.properties,
        payload=letter.payload,
        body=letter.body.decode("utf-8", "replace"),
    )
    return data
