"""Bodies the JSON parser or the store cannot take end as EventError with field and fix:
deep nesting, over-long integers, non-finite numbers, NUL characters."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import ErrorCode, EventError, ProductUpserted, parse_event
from schemas._raw import MAX_DEPTH, MAX_INT_DIGITS
from schemas.errors import field_errors_from_validation
from schemas.events import EXAMPLE_EVENTS

UPSERTED, STOCK = (copy.deepcopy(e) for e in EXAMPLE_EVENTS[:2])


def rejected(raw: bytes) -> EventError:
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    return caught.value


def body_with(base: dict[str, Any], key: str, literal: str) -> bytes:
    """``base`` as JSON with the top-level ``key`` set to the raw JSON text ``literal``."""
    data = {k: v for k, v in base.items() if k != key}
    return json.dumps(data).encode()[:-1] + f', "{key}": {literal}}}'.encode()


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 990, 5_000, 200_000])
def test_deep_nesting_is_rejected_as_a_whole(depth: int) -> None:
    nested = "[" * depth + "]" * depth
    error = rejected(body_with(STOCK, "extra", nested))

    (item,) = error.field_errors
    assert item.code == ErrorCode.EVENT_NOT_JSON
    assert f"deeper than {MAX_DEPTH} levels" in item.message
    assert item.fix == "flatten the object"


def test_nesting_within_the_limit_is_judged_field_by_field() -> None:
    nested = "[" * 10 + "]" * 10
    error = rejected(body_with(STOCK, "extra", nested))
    assert [(e.field, e.code) for e in error.field_errors] == [("extra", ErrorCode.UNKNOWN_FIELD)]


def test_an_integer_of_too_many_digits_names_its_field() -> None:
    error = rejected(body_with(STOCK, "version", "1" + "0" * 5_000))

    (item,) = error.field_errors
    assert item.field == "version"
    assert item.code == ErrorCode.EVENT_NOT_JSON
    assert f"5001 digits, more than {MAX_INT_DIGITS}" in item.message
    assert "string" in item.fix
    assert error.event_id == STOCK["event_id"]  # the status still names the event


def test_a_negative_integer_counts_digits_without_its_sign() -> None:
    error = rejected(body_with(STOCK, "version", "-" + "9" * MAX_INT_DIGITS))
    assert [e.field for e in error.field_errors] == ["version"]
    assert "must be at least 0" in error.field_errors[0].message


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1" + "0" * 400 + ".5"])
def test_a_number_that_overflows_to_infinity_is_rejected_with_its_path(literal: str) -> None:
    raw = (
        json.dumps(UPSERTED)
        .encode()
        .replace(b'"weight_kg": 0.25', f'"weight_kg": {literal}'.encode())
    )
    error = rejected(raw)

    (item,) = error.field_errors
    assert item.field == "attributes.weight_kg"
    assert "finite" in item.message
    assert "finite number" in item.fix


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_name_their_path(literal: str) -> None:
    raw = (
        json.dumps(UPSERTED)
        .encode()
        .replace(b'"weight_kg": 0.25', f'"weight_kg": {literal}'.encode())
    )
    (item,) = rejected(raw).field_errors
    assert (item.field, item.code) == ("attributes.weight_kg", ErrorCode.EVENT_NOT_JSON)
    assert f"{literal} is not a JSON number" in item.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Head\u0000phones X200 black"}, "name"),
        ({"sku": "AB\u0000C"}, "sku"),
        ({"event_id": "e\u00001"}, "event_id"),
        ({"images": ["https://shop.example/a.jpg", "https://x\u0000"]}, "images[1]"),
        ({"attributes": {"color": ["black", "gr\u0000ey"]}}, "attributes.color[1]"),
        (
            {"allegro": {"parameters": [{"id": "11323", "values": ["N\u0000"]}]}},
            "allegro.parameters[0].values[0]",
        ),
    ],
)
def test_a_nul_character_in_any_string_is_rejected_with_its_path(
    changes: dict[str, Any], field: str
) -> None:
    error = rejected(json.dumps({**UPSERTED, **changes}).encode())

    (item,) = error.field_errors
    assert item.field == field
    assert "NUL" in item.message and item.fix == "remove it"


def test_a_nul_is_kept_out_of_the_identity_a_rejected_status_stores() -> None:
    error = rejected(json.dumps({**STOCK, "sku": "A\u0000", "event_id": "e\u0000"}).encode())
    assert error.sku is None and error.event_id is None
    assert error.version == STOCK["version"]


def test_a_nul_in_a_field_name_is_spelt_out_in_the_path() -> None:
    error = rejected(json.dumps({**UPSERTED, "attributes": {"co\u0000lor": "x"}}).encode())
    (item,) = error.field_errors
    assert item.field == "attributes.co\\u0000lor"
    assert "\x00" not in str(item)


def test_every_unsafe_value_is_listed() -> None:
    raw = json.dumps({**UPSERTED, "name": "a\u0000", "brand": "b\u0000"}).encode()
    assert [e.field for e in rejected(raw).field_errors] == ["name", "brand"]


def test_the_model_itself_refuses_nul_and_non_finite_values() -> None:
    # Validating the model directly (not through parse_event) is guarded too.
    for changes in ({"name": "a\u0000b"}, {"attributes": {"w": float("inf")}}):
        with pytest.raises(ValidationError) as caught:
            ProductUpserted.model_validate({**UPSERTED, **changes})
        (item,) = field_errors_from_validation(caught.value)
        assert item.field in ("name", "attributes.w")


def test_a_good_event_passes_the_scan() -> None:
    assert parse_event(json.dumps(UPSERTED).encode()).attributes["weight_kg"] == 0.25


def test_a_ten_digit_gtin_is_accepted_as_allegro_does() -> None:
    # FACTS.md §8: NotStandardLengthInGtinParameter, "8, 10, 12, 13 or 14 digits".
    event = parse_event(json.dumps({**UPSERTED, "ean": "0123456789"}).encode())
    assert event.ean == "0123456789"
    (item,) = rejected(json.dumps({**UPSERTED, "ean": "01234567891"}).encode()).field_errors
    assert item.field == "ean" and "8, 10, 12, 13 or 14 digits" in item.message
