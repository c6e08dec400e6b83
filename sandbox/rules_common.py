"""Small helpers shared by the sandbox's offer rules: Allegro error items, GTIN arithmetic,
defensive accessors for bodies whose types were not checked yet."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "as_dict",
    "as_list",
    "error",
    "gtin_check_digit",
    "gtin_error",
    "gtin_problem",
    "is_uuid",
    "join_path",
]


def error(
    code: str,
    message: str,
    *,
    path: str | None = None,
    user_message: str | None = None,
    details: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One item of Allegro's ``errors[]`` in its ``Error`` shape (all six keys present);
    metadata values are always strings (Allegro's ``metadata`` is a string-to-string map)."""
    return {
        "code": code,
        "message": message,
        "details": details,
        "path": path,
        "userMessage": user_message if user_message is not None else message,
        "metadata": {key: str(value) for key, value in (metadata or {}).items()},
    }


def join_path(base: str, key: str | int) -> str:
    """``join_path("productSet", 0)`` -> ``productSet[0]``; ``join_path("a", "b")`` -> ``a.b``."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else ``{}`` (type errors are reported elsewhere)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


_GTIN_LENGTHS = (8, 12, 13, 14)
_ISBN10 = re.compile(r"^\d{9}[\dX]$")


def gtin_check_digit(body: str) -> str:
    """The mod-10 check digit of a GTIN's ``body`` (all its digits but the last), any
    length."""
    total = 0
    for position, char in enumerate(reversed(body)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def _isbn10_checksum_ok(value: str) -> bool:
    total = 0
    for position, char in enumerate(value):
        digit = 10 if char == "X" else int(char)
        total += digit * (10 - position)
    return total % 11 == 0


def gtin_problem(value: str) -> str | None:
    """``None`` for a valid GTIN, else ``"length"`` or ``"checksum"``.

    Allegro accepts 8, 10, 12, 13 or 14 characters; 10 is an ISBN-10 (check digit mod 11,
    may end in ``X``), the others are GTIN-8/12/13/14 with the mod-10 check digit."""
    value = value.strip()
    if len(value) == 10 and _ISBN10.match(value):
        return None if _isbn10_checksum_ok(value) else "checksum"
    if not value.isdigit() or not value.isascii() or len(value) not in _GTIN_LENGTHS:
        return "length"
    return None if gtin_check_digit(value[:-1]) == value[-1] else "checksum"


# gtin_problem() -> (code, message, message for the seller); "{}" is the GTIN.
_GTIN_ERRORS = {
    "checksum": (
        "ConstraintViolationException.WrongChecksumInGtinParameter",
        "The GTIN '{}' has a wrong check digit.",
        "The GTIN {} is not valid: its check digit is wrong.",
    ),
    "length": (
        "ConstraintViolationException.NotStandardLengthInGtinParameter",
        "The GTIN '{}' must consist of 8, 10, 12, 13 or 14 digits.",
        "The GTIN {} is not valid: it must have 8, 10, 12, 13 or 14 digits.",
    ),
}


def gtin_error(
    value: str, path: str, *, parameter: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """Allegro's error for an invalid GTIN (its code in ``details`` too); ``None`` for a
    valid one. ``parameter``: the metadata of a GTIN parameter's value, whose error also
    speaks to the seller in ``userMessage`` (a product id given as a GTIN repeats the
    message there)."""
    problem = gtin_problem(value)
    if problem is None:
        return None
    code, message, for_seller = _GTIN_ERRORS[problem]
    if parameter is None:
        return error(code, message.format(value), path=path, details=code)
    return error(
        code,
        message.format(value),
        path=path,
        details=code,
        user_message=for_seller.format(value),
        metadata=parameter,
    )
