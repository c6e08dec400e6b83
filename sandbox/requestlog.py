"""The request log behind ``GET /__sandbox/requests``: what each API and OAuth call sent and
what it got back, with credentials redacted.

Bodies are logged as :class:`RawBody`, the bytes as they went over the wire, and decoded
only when the log is read: a request pays neither for parsing its bodies again nor, while
the log is held, for the garbage collector walking their parsed objects.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["REDACTED", "RawBody", "RequestLog", "decode_body", "redact_headers"]

REDACTED = "<redacted>"
_SECRET_HEADERS = {"authorization", "cookie", "set-cookie"}
_SECRET_FIELDS = {
    "refresh_token",
    "device_code",
    "client_secret",
    "code",
    "code_verifier",
    "access_token",
    "password",
}


class RawBody:
    """A logged body as raw bytes; :meth:`decode` gives what the log shows
    (:func:`decode_body`, then the ``redact`` members of a JSON object replaced)."""

    __slots__ = ("content_type", "raw", "redact")

    def __init__(self, raw: bytes, content_type: str | None, redact: Collection[str] = ()) -> None:
        self.raw = raw
        self.content_type = content_type
        self.redact = redact

    def decode(self) -> Any:
        body = decode_body(self.raw, self.content_type)
        if self.redact and isinstance(body, dict):
            body = {k: REDACTED if k in self.redact else v for k, v in body.items()}
        return body


class RequestLog:
    """A bounded list of entries numbered by ``seq`` (1, 2, ...). Entry values that are
    :class:`RawBody` are decoded by :meth:`since`."""

    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque()
        self._seq = 0

    def append(self, entry: dict[str, Any], keep: int) -> None:
        self._seq += 1
        entry["seq"] = self._seq
        self._entries.append(entry)
        while len(self._entries) > max(keep, 1):
            self._entries.popleft()

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [
            {k: v.decode() if isinstance(v, RawBody) else v for k, v in entry.items()}
            for entry in self._entries
            if entry["seq"] > seq
        ]


def redact_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Headers as a dict (lower-case names); credentials replaced, the auth scheme kept."""
    result: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        result[name] = value
    return result


def decode_body(raw: bytes, content_type: str | None) -> Any:
    """A body for the log: parsed JSON, a form dict with secrets redacted, or raw text."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media.endswith("json") or media.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if media == "application/x-www-form-urlencoded":
        return redact_form(dict(parse_qsl(text, keep_blank_values=True)))
    return text


def redact_form(form: dict[str, str]) -> dict[str, str]:
    return {key: REDACTED if key in _SECRET_FIELDS else value for key, value in form.items()}


def redact_query(query: str) -> dict[str, Any]:
    """The query string as a dict (repeated keys as lists), secrets redacted."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        value = REDACTED if key in _SECRET_FIELDS else value
        if key in result:
            existing = result[key]
            result[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[key] = value
    return result
