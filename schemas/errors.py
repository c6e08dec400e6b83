"""Errors of the public contracts, and the one translation of pydantic's errors into ours.

A contract violation is reported as a list of :class:`FieldError` items: the dotted path of
the field (``stock.unit``, ``images[2]``), what is wrong, and how to fix it, e.g.::

    sku: must be at most 100 characters (it becomes Allegro's external.id); shorten it

:func:`field_errors_from_validation` turns a pydantic ``ValidationError`` into such items; a
module that owns a model passes :class:`FieldHint` texts for the fields whose generic
message would not help (what a ``version`` is, why an amount is a string). Validators
inside the models raise :func:`custom_error`, which carries its own fix and field.

The exception tree is small: :class:`SchemaError` (a contract was violated; never worth a
retry) and its subclass :class:`EventError` (an upstream event was rejected).
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = [
    "ErrorCode",
    "EventError",
    "FieldError",
    "FieldHint",
    "SchemaError",
    "custom_error",
    "dotted_path",
    "error_location",
    "field_errors_from_validation",
    "format_field_errors",
]


class ErrorCode(StrEnum):
    """Machine-readable codes of our own errors (Allegro's codes pass through unchanged)."""

    MISSING_FIELD = "MISSING_FIELD"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    INVALID_FIELD = "INVALID_FIELD"
    EVENT_TOO_LARGE = "EVENT_TOO_LARGE"
    EVENT_NOT_UTF8 = "EVENT_NOT_UTF8"
    EVENT_NOT_JSON = "EVENT_NOT_JSON"
    EVENT_NOT_OBJECT = "EVENT_NOT_OBJECT"
    EVENT_DUPLICATE_KEY = "EVENT_DUPLICATE_KEY"
    EVENT_UNKNOWN_TYPE = "EVENT_UNKNOWN_TYPE"
    ROUTING_KEY_MISMATCH = "ROUTING_KEY_MISMATCH"
    EVENT_UNKNOWN_ROUTING_KEY = "EVENT_UNKNOWN_ROUTING_KEY"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field.

    ``field`` is the dotted path (``price.amount``, ``allegro.parameters[0].valuesIds``), or
    ``""`` when the problem is the message as a whole (not JSON, too large). ``message``
    says what is wrong, ``fix`` what to do about it.
    """

    field: str
    message: str
    fix: str = ""
    code: str = ErrorCode.INVALID_FIELD

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        return f"{text}; {self.fix}" if self.fix else text


@dataclass(frozen=True, slots=True)
class FieldHint:
    """Field-specific wording that replaces the generic text of an error.

    ``expect`` describes a valid value ("an integer (e.g. ...)") and ``fix`` says how to
    send one; both are used when the value has the wrong type or format. ``why`` (in
    parentheses) is added to length and range errors, e.g. "(it becomes Allegro's
    external.id)".
    """

    expect: str | None = None
    why: str | None = None
    fix: str | None = None


class SchemaError(ValueError):
    """Input that violates a public contract. Permanent: retrying cannot help."""

    def __init__(self, field_errors: Sequence[FieldError]) -> None:
        self.field_errors: list[FieldError] = list(field_errors)
        super().__init__(format_field_errors(self.field_errors))


class EventError(SchemaError):
    """An upstream product event that cannot be accepted (the status is ``REJECTED``).

    Besides the problems, it keeps what could be read of the event's identity, so that the
    REJECTED status can still name it: each is ``None`` unless the body was a JSON object
    whose field had a usable value.
    """

    def __init__(
        self,
        field_errors: Sequence[FieldError],
        *,
        event_id: str | None = None,
        sku: str | None = None,
        account: str | None = None,
        version: int | None = None,
    ) -> None:
        super().__init__(field_errors)
        self.event_id = event_id
        self.sku = sku
        self.account = account
        self.version = version


_CUSTOM_ERROR_TYPE = "contract"


def custom_error(
    message: str, *, fix: str, field: str | None = None, code: str | None = None
) -> PydanticCustomError:
    """An error for a model validator to raise, with its own fix.

    ``field`` names the offending field relative to the model being validated (a model
    validator's error otherwise points at the model itself).
    """
    context: dict[str, Any] = {"message": message, "fix": fix}
    if field is not None:
        context["field"] = field
    if code is not None:
        context["code"] = code
    return PydanticCustomError(_CUSTOM_ERROR_TYPE, "{message}", context)


def dotted_path(loc: Iterable[int | str]) -> str:
    """``("allegro", "parameters", 0, "values")`` -> ``allegro.parameters[0].values``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def error_location(err: ErrorDetails) -> list[int | str]:
    """Where a pydantic error is: its ``loc``, plus the field a :func:`custom_error` names."""
    loc = list(err["loc"])
    ctx = err.get("ctx") or {}
    if err["type"] == _CUSTOM_ERROR_TYPE and "field" in ctx:
        loc.append(str(ctx["field"]))
    return loc


def _hint_key(loc: Iterable[int | str]) -> str:
    """The path with list indexes blanked, the key of :class:`FieldHint` tables."""
    return dotted_path("[]" if isinstance(p, int) else p for p in loc).replace(".[]", "[]")


def format_field_errors(errors: Iterable[FieldError]) -> str:
    """Human text: one line per problem."""
    return "\n".join(str(e) for e in errors)


# --- the translation -------------------------------------------------------------------

_RFC3339 = 'an RFC 3339 date-time with a timezone, such as "2026-07-18T12:00:00Z"'
_TYPE_EXPECT = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "datetime_type": _RFC3339,
    "datetime_parsing": _RFC3339,
    "datetime_from_date_parsing": _RFC3339,
    "timezone_aware": 'a date-time with a timezone (Z or an offset such as "+02:00")',
}
_FORMAT_ERRORS = {"string_pattern_mismatch", "enum", "literal_error", "union_tag_invalid"}
#: Length and range errors: (message template filled from the error's context, fix).
_BOUNDS = {
    "string_too_short": ("must be at least {min_length} characters long", "lengthen it"),
    "string_too_long": ("must be at most {max_length} characters", "shorten it"),
    "too_short": ("must have at least {min_length} item(s)", "add items"),
    "too_long": ("must have at most {max_length} item(s)", "remove items"),
    "greater_than_equal": ("must be at least {ge}", "raise it"),
    "greater_than": ("must be greater than {gt}", "raise it"),
    "less_than_equal": ("must be at most {le}", "lower it"),
    "less_than": ("must be less than {lt}", "lower it"),
}


def _render(value: Any, limit: int = 40) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _choices(expected: str) -> str:
    """pydantic's "'UNIT', 'PAIR' or 'SET'" -> "UNIT, PAIR, SET"."""
    found = re.findall(r"'([^']*)'", expected)
    return ", ".join(found) if found else expected


def _why(text: str, hint: FieldHint | None) -> str:
    return f"{text} {hint.why}" if hint and hint.why else text


def _describe(err: ErrorDetails, hint: FieldHint | None) -> tuple[str, str, str]:
    """(message, default fix, code) of one pydantic error."""
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    got = f", got {_render(err.get('input'))}"
    if kind == _CUSTOM_ERROR_TYPE:
        code = str(ctx.get("code", ErrorCode.INVALID_FIELD))
        return str(ctx["message"]), str(ctx["fix"]), code
    if kind == "missing":
        return "is required", "add it", ErrorCode.MISSING_FIELD
    if kind == "extra_forbidden":
        return "is not a field of this schema", "remove it", ErrorCode.UNKNOWN_FIELD
    if kind in _TYPE_EXPECT or kind in _FORMAT_ERRORS:
        if hint and hint.expect:
            message, fix = f"must be {hint.expect}{got}", "correct the value"
        elif kind in ("enum", "literal_error", "union_tag_invalid"):
            choices = _choices(str(ctx.get("expected", ctx.get("expected_tags", ""))))
            message, fix = f"must be one of {choices}{got}", "use one of these"
        elif kind == "string_pattern_mismatch":
            message, fix = f"must match {ctx.get('pattern', '')}{got}", "correct the value"
        else:
            message, fix = f"must be {_TYPE_EXPECT[kind]}{got}", f"send {_TYPE_EXPECT[kind]}"
        return message, (hint.fix if hint and hint.fix else fix), ErrorCode.INVALID_FIELD
    if kind in _BOUNDS:
        template, fix = _BOUNDS[kind]
        if kind == "string_too_short" and ctx.get("min_length") == 1:
            template, fix = "must not be empty", "give it a value"
        message = template.format(**ctx)
        if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            message += got
        return _why(message, hint), fix, ErrorCode.INVALID_FIELD
    message = err["msg"][:1].lower() + err["msg"][1:]
    return message, "correct the value", ErrorCode.INVALID_FIELD


def field_errors_from_validation(
    exc: ValidationError,
    *,
    model: type[BaseModel] | None = None,
    hints: Mapping[str, FieldHint] | None = None,
) -> list[FieldError]:
    """Translate every error of ``exc`` into a :class:`FieldError`.

    ``model`` (the validated class) lets an unknown field be answered with the closest
    known name ("did you mean ..."). ``hints`` are keyed by the path with list indexes
    left empty: ``version``, ``price.amount``, ``images[]``.
    """
    known = _field_tree(model) if model is not None else {}
    result: list[FieldError] = []
    for err in exc.errors(include_url=False):
        loc = error_location(err)
        hint = (hints or {}).get(_hint_key(loc))
        message, fix, code = _describe(err, hint)
        if err["type"] == "extra_forbidden" and loc:
            near = difflib.get_close_matches(
                str(loc[-1]), known.get(_hint_key(loc[:-1]), ()), n=1, cutoff=0.75
            )
            fix = f'did you mean "{near[0]}"?' if near else "remove it"
        result.append(FieldError(dotted_path(loc), message, fix, code))
    return result


def _models_in(annotation: Any) -> Iterable[tuple[type[BaseModel], str]]:
    """The models inside a field's type, each with the path suffix that reaches it."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, ""
    elif origin is Annotated:
        yield from _models_in(get_args(annotation)[0])
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _models_in(arg)
    elif origin in (list, tuple, Sequence):
        for model, suffix in _models_in(get_args(annotation)[0]):
            yield model, "[]" + suffix


@cache
def _field_tree(model: type[BaseModel]) -> dict[str, frozenset[str]]:
    """Wire names of the fields of ``model`` and its nested models, keyed by hint key."""
    tree: dict[str, frozenset[str]] = {}

    def visit(current: type[BaseModel], prefix: str) -> None:
        if prefix in tree:
            return
        fields = current.model_fields
        tree[prefix] = frozenset(info.alias or name for name, info in fields.items())
        for name, info in fields.items():
            wire = info.alias or name
            for sub, suffix in _models_in(info.annotation):
                visit(sub, (f"{prefix}.{wire}" if prefix else wire) + suffix)

    visit(model, "")
    return tree
