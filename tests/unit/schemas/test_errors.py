"""The translation of pydantic errors into field errors with fixes."""

from __future__ import annotations

from enum import StrEnum

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.errors import (
    ErrorCode,
    EventError,
    FieldError,
    FieldHint,
    SchemaError,
    custom_error,
    dotted_path,
    field_errors_from_validation,
    format_field_errors,
)


class Colour(StrEnum):
    RED = "RED"
    GREEN = "GREEN"


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    colour: Colour
    count: int = Field(0, ge=0, le=10)


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=5)
    inner: list[Inner] = []
    low: int | None = None
    high: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Outer:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise custom_error("must not exceed high", fix="swap them", field="low", code="ORDER")
        return self


def errors_of(data: object, **kwargs: object) -> list[FieldError]:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return field_errors_from_validation(caught.value, **kwargs)  # type: ignore[arg-type]


def test_dotted_path() -> None:
    assert dotted_path(("allegro", "parameters", 0, "valuesIds", 2)) == (
        "allegro.parameters[0].valuesIds[2]"
    )
    assert dotted_path(()) == ""
    assert dotted_path((3, "x")) == "[3].x"


def test_generic_messages() -> None:
    errors = errors_of({"code": "", "inner": [{"colour": "BLUE", "count": 11}], "zz": 1})
    assert [(e.field, e.message, e.fix, e.code) for e in errors] == [
        ("code", "must not be empty", "give it a value", ErrorCode.INVALID_FIELD),
        (
            "inner[0].colour",
            'must be one of RED, GREEN, got "BLUE"',
            "use one of these",
            "INVALID_FIELD",
        ),
        ("inner[0].count", "must be at most 10, got 11", "lower it", ErrorCode.INVALID_FIELD),
        ("zz", "is not a field of this schema", "remove it", ErrorCode.UNKNOWN_FIELD),
    ]


def test_missing_and_type_errors() -> None:
    errors = errors_of({"inner": "x"})
    assert [str(e) for e in errors] == [
        "code: is required; add it",
        'inner: must be a list, got "x"; send a list',
    ]
    assert errors[0].code == ErrorCode.MISSING_FIELD


def test_hints_replace_the_generic_wording() -> None:
    hints = {
        "code": FieldHint(
            why="(it is printed on labels)", expect="a short code", fix="use 1-5 letters"
        ),
        "inner[].count": FieldHint(expect="a whole number of boxes", fix="send a JSON integer"),
    }
    errors = errors_of(
        {"code": "TOOLONG", "inner": [{"colour": "RED", "count": "many"}]}, hints=hints
    )
    assert [str(e) for e in errors] == [
        "code: must be at most 5 characters (it is printed on labels); shorten it",
        'inner[0].count: must be a whole number of boxes, got "many"; send a JSON integer',
    ]


def test_unknown_field_suggests_a_close_name() -> None:
    errors = errors_of({"code": "A", "inner": [{"colour": "RED", "cuont": 1}]}, model=Outer)
    assert [(e.field, e.fix) for e in errors] == [("inner[0].cuont", 'did you mean "count"?')]


def test_custom_error_carries_field_fix_and_code() -> None:
    (error,) = errors_of({"code": "A", "low": 5, "high": 1})
    assert (error.field, error.message, error.fix, error.code) == (
        "low",
        "must not exceed high",
        "swap them",
        "ORDER",
    )


def test_long_input_is_shortened() -> None:
    (error,) = errors_of({"code": "A", "inner": [{"colour": "X" * 100}]})
    assert "…" in error.message
    assert len(error.message) < 100


def test_text_forms() -> None:
    whole = FieldError("", "is not valid JSON", "publish JSON", ErrorCode.EVENT_NOT_JSON)
    field = FieldError("sku", "is required", "add it")
    bare = FieldError("sku", "is odd")
    assert str(whole) == "is not valid JSON; publish JSON"
    assert str(field) == "sku: is required; add it"
    assert str(bare) == "sku: is odd"
    assert format_field_errors([field, bare]) == "sku: is required; add it\nsku: is odd"


def test_exceptions() -> None:
    error = EventError([FieldError("sku", "is required", "add it")], event_id="e-1")
    assert isinstance(error, SchemaError)
    assert isinstance(error, ValueError)
    assert str(error) == "sku: is required; add it"
    assert (error.event_id, error.sku, error.account, error.version) == ("e-1", None, None, None)
