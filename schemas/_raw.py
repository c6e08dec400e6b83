"""Raw bytes -> a JSON object that is safe to validate and to store.

:func:`load_object` refuses a body as a whole (too large, not UTF-8, not JSON, nested too
deep for the parser, not an object, a repeated key); :func:`scan` names each value
inside it that no store or Allegro can take, by its dotted path:

- a NUL character (``\\u0000``) in a string or a field name: PostgreSQL's text and
  jsonb refuse it, so the event would fail every retry in the store instead of being
  rejected once;
- a number that is not finite: ``NaN`` and ``Infinity`` (no JSON numbers), or a literal
  that overflows a double (``1e400``); orjson would store it as ``null`` on SQLite, and
  PostgreSQL's jsonb refuses it;
- an integer of more digits than Python converts (:data:`MAX_INT_DIGITS`);
- nesting deeper than :data:`MAX_DEPTH` levels (no event needs more than five; error
  rendering and validation recurse).

Every problem is an :class:`~schemas.errors.FieldError`, so the event is ``REJECTED``
with its fix: none of these may reach the store or crash the ingest bridge.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from schemas.errors import ErrorCode, EventError, FieldError, dotted_path

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "load_object", "printable", "scan"]

#: Deepest nesting of objects and arrays an event may have (levels below the top object).
MAX_DEPTH = 32
#: Most digits an integer literal may have (Python's limit of int/str conversion).
MAX_INT_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300
#: At most this many problems are listed from one body.
MAX_PROBLEMS = 20


class _NotANumber:
    """A ``NaN``/``Infinity`` literal or an over-long integer, kept for :func:`scan` to
    name with its path (never reaches a model: :func:`load_object` callers scan first)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _constant(text: str) -> _NotANumber:
    return _NotANumber(text)


def _integer(text: str) -> int | _NotANumber:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        return _NotANumber(text)
    return int(text)


def printable(text: str) -> str:
    """``text`` with NUL characters spelt ``\\u0000``, for paths and messages."""
    return text.replace("\x00", "\\u0000")


def load_object(raw: bytes, limit: int) -> dict[str, Any]:
    """Bytes -> a JSON object, or :class:`EventError` about the body as a whole. The result
    may still hold values :func:`scan` refuses."""

    def fail(message: str, fix: str, code: ErrorCode) -> EventError:
        return EventError([FieldError("", message, fix, code)])

    if len(raw) > limit:
        raise fail(
            f"is {len(raw)} bytes, more than the limit of {limit}",
            "send images as URLs and trim the description",
            ErrorCode.EVENT_TOO_LARGE,
        )
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise fail(
            f"is not UTF-8 text (byte {exc.start}: {exc.reason})",
            "encode the JSON as UTF-8",
            ErrorCode.EVENT_NOT_UTF8,
        ) from None
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        data = json.loads(
            text, object_pairs_hook=pairs, parse_constant=_constant, parse_int=_integer
        )
    except json.JSONDecodeError as exc:
        raise fail(
            f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "publish one JSON object per message",
            ErrorCode.EVENT_NOT_JSON,
        ) from None
    except RecursionError:
        # Python's parser recurses once per level and gives up near a thousand.
        raise fail(
            f"nests objects or arrays deeper than {MAX_DEPTH} levels",
            "flatten the object",
            ErrorCode.EVENT_NOT_JSON,
        ) from None
    except (ValueError, MemoryError) as exc:  # anything else the parser cannot take
        raise fail(
            f"cannot be read as JSON ({type(exc).__name__}: {str(exc)[:120]})",
            "publish one plain JSON object per message",
            ErrorCode.EVENT_NOT_JSON,
        ) from None
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        raise fail(
            f"must be a JSON object, got {kind.get(type(data), 'a number')}",
            "publish one JSON object per message",
            ErrorCode.EVENT_NOT_OBJECT,
        )
    if duplicates:
        raise EventError(
            [
                FieldError(
                    printable(key),
                    "appears more than once in one object",
                    "keep one",
                    ErrorCode.EVENT_DUPLICATE_KEY,
                )
                for key in dict.fromkeys(duplicates)
            ]
        )
    return data


def _problem(value: Any, path: str) -> FieldError | None:
    if isinstance(value, str):
        if "\x00" in value:
            return FieldError(path, "contains a NUL character (\\u0000)", "remove it")
    elif isinstance(value, float):
        if not math.isfinite(value):
            return FieldError(
                path,
                "is a number too large to be finite (beyond ±1.8e308)",
                "send a finite number, or the value as a string",
            )
    elif isinstance(value, _NotANumber):
        if value.text.lstrip("-") in ("NaN", "Infinity"):
            return FieldError(
                path,
                f"is not valid JSON: {value.text} is not a JSON number",
                "send a finite number or leave the field out",
                ErrorCode.EVENT_NOT_JSON,
            )
        return FieldError(
            path,
            f"is a number of {len(value.text.lstrip('-'))} digits, more than {MAX_INT_DIGITS}",
            "send it as a string, or leave it out",
            ErrorCode.EVENT_NOT_JSON,
        )
    return None


def scan(data: Any, *, max_depth: int = MAX_DEPTH) -> list[FieldError]:
    """The values in ``data`` (parsed JSON) that an event may not carry, each with its
    dotted path and fix, in document order (at most :data:`MAX_PROBLEMS`). Iterative: it
    never recurses, whatever the nesting."""
    problems: list[FieldError] = []
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack and len(problems) < MAX_PROBLEMS:
        value, loc = stack.pop()
        if isinstance(value, dict | list):
            if len(loc) > max_depth:
                problems.append(
                    FieldError(
                        dotted_path(loc[:max_depth]) + "…",
                        f"nests objects or arrays deeper than {max_depth} levels",
                        "flatten the object",
                        ErrorCode.EVENT_NOT_JSON,
                    )
                )
                continue
            if isinstance(value, dict):
                children: list[tuple[Any, tuple[int | str, ...]]] = []
                for key, item in value.items():
                    if "\x00" in key:
                        problems.append(
                            FieldError(
                                dotted_path((*loc, printable(key))),
                                "has a NUL character (\\u0000) in its name",
                                "remove it from the field name",
                            )
                        )
                        continue
                    children.append((item, (*loc, key)))
            else:
                children = [(item, (*loc, index)) for index, item in enumerate(value)]
            stack.extend(reversed(children))
            continue
        problem = _problem(value, dotted_path(loc))
        if problem is not None:
            problems.append(problem)
    return problems
