"""The upstream event contract: parse_event, its error texts, and the event models."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import (
    PRODUCT_EVENT_ADAPTER,
    ErrorCode,
    EventError,
    EventType,
    ProductDeleted,
    ProductPriceChanged,
    ProductStockChanged,
    ProductUpserted,
    StockUnit,
    gtin_check_digit_ok,
    parse_event,
)
from schemas.events import EXAMPLE_EVENTS

UPSERTED, STOCK, PRICE, DELETED = (copy.deepcopy(e) for e in EXAMPLE_EVENTS)


DROP = object()


def encode(data: Any) -> bytes:
    return json.dumps(data).encode()


def rejected(data: Any, **kwargs: Any) -> EventError:
    raw = data if isinstance(data, bytes) else encode(data)
    with pytest.raises(EventError) as caught:
        parse_event(raw, **kwargs)
    return caught.value


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``base``; a dotted key sets a nested field, the value DROP removes it."""
    result = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = result
        for parent in parents:
            target = target[parent]
        if value is DROP:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return result


# --- good events ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "cls"),
    [
        (UPSERTED, ProductUpserted),
        (STOCK, ProductStockChanged),
        (PRICE, ProductPriceChanged),
        (DELETED, ProductDeleted),
    ],
)
def test_each_event_type_parses(sample: dict[str, Any], cls: type) -> None:
    event = parse_event(encode(sample), routing_key=sample["type"])
    assert type(event) is cls
    assert event.type == EventType(sample["type"])
    assert event.sku == "AH-129834"
    assert event.notes == ()


def test_upserted_fields_and_defaults() -> None:
    event = parse_event(encode(UPSERTED))
    assert isinstance(event, ProductUpserted)
    assert event.price.amount == "129.99"
    assert event.stock.unit is StockUnit.UNIT
    assert event.attributes == {"color": "black", "weight_kg": 0.25, "wireless": True}
    assert event.allegro is not None
    assert event.allegro.parameters[0].values_ids == ["11323_1"]
    assert event.occurred_at == datetime(2026, 7, 18, 12, tzinfo=UTC)


def test_account_defaults_and_unit_defaults() -> None:
    event = parse_event(encode(STOCK))
    assert isinstance(event, ProductStockChanged)
    assert event.account == "default"
    assert event.stock.unit is StockUnit.UNIT
    assert event.occurred_at.utcoffset() is not None


def test_amount_forms_accepted() -> None:
    for amount in ("12.5", "12.50", "12", "0.99"):
        event = parse_event(encode(with_changes(PRICE, price__amount=amount)))
        assert isinstance(event, ProductPriceChanged)
        assert event.price.amount == amount


def test_upserted_with_mpn_only_and_allegro_category_only() -> None:
    sample = with_changes(UPSERTED, ean=DROP, category=DROP)
    sample["allegro"] = {"category_id": "165"}
    event = parse_event(encode(sample))
    assert isinstance(event, ProductUpserted)
    assert event.ean is None
    assert event.category is None


def test_parameter_may_combine_values_and_values_ids() -> None:
    sample = with_changes(UPSERTED)
    sample["allegro"]["parameters"] = [
        {"id": "246705", "valuesIds": ["246705_0"], "values": ["custom brand"]},
        {"id": "17448", "rangeValue": {"from": "1", "to": "2"}},
    ]
    event = parse_event(encode(sample))
    assert isinstance(event, ProductUpserted)
    assert event.allegro is not None
    assert event.allegro.parameters[1].range_value is not None
    assert event.allegro.parameters[1].range_value.from_ == "1"


def test_round_trip_through_json_keeps_the_event() -> None:
    for sample in EXAMPLE_EVENTS:
        event = parse_event(encode(sample))
        again = parse_event(event.model_dump_json().encode())
        assert again == event
    dumped = parse_event(encode(UPSERTED)).model_dump(mode="json", exclude_defaults=True)
    assert dumped["allegro"]["parameters"] == [{"id": "11323", "valuesIds": ["11323_1"]}]


def test_events_are_immutable() -> None:
    event = parse_event(encode(STOCK))
    with pytest.raises(ValidationError):
        event.sku = "other"  # type: ignore[misc]


def test_adapter_validates_python_dicts() -> None:
    event = PRODUCT_EVENT_ADAPTER.validate_python(PRICE)
    assert isinstance(event, ProductPriceChanged)


# --- the routing key -------------------------------------------------------------------


def test_routing_key_mismatch_is_accepted_with_a_note() -> None:
    event = parse_event(encode(STOCK), routing_key="product.price")
    assert isinstance(event, ProductStockChanged)
    (note,) = event.notes
    assert note.field == "type"
    assert note.code == ErrorCode.ROUTING_KEY_MISMATCH
    assert "product.price" in note.message
    assert "routing key" in note.fix


def test_a_routing_key_that_is_no_event_type_is_rejected_with_the_other_problems() -> None:
    error = rejected(with_changes(STOCK, version="7"), routing_key="product.update")
    fields = [(e.field, e.code) for e in error.field_errors]
    assert fields[0] == ("routing_key", ErrorCode.EVENT_UNKNOWN_ROUTING_KEY)
    assert "version" in [field for field, _code in fields]
    assert "product.update" in error.field_errors[0].message
    assert error.sku == STOCK["sku"]  # the REJECTED status can still name the event


def test_no_routing_key_no_note() -> None:
    assert parse_event(encode(STOCK)).notes == ()


# --- the body as a whole -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "text"),
    [
        (b"\xff\xfe{}", ErrorCode.EVENT_NOT_UTF8, "UTF-8"),
        (b"{not json", ErrorCode.EVENT_NOT_JSON, "not valid JSON"),
        (b"[1, 2]", ErrorCode.EVENT_NOT_OBJECT, "got an array"),
        (b'"text"', ErrorCode.EVENT_NOT_OBJECT, "got a string"),
        (b"null", ErrorCode.EVENT_NOT_OBJECT, "got null"),
    ],
)
def test_unreadable_bodies(raw: bytes, code: str, text: str) -> None:
    error = rejected(raw)
    (item,) = error.field_errors
    assert item.field == ""
    assert item.code == code
    assert text in item.message
    assert item.fix
    assert error.event_id is None and error.sku is None and error.version is None


def test_oversized_body() -> None:
    raw = encode(UPSERTED)
    error = rejected(raw, max_bytes=len(raw) - 1)
    (item,) = error.field_errors
    assert item.code == ErrorCode.EVENT_TOO_LARGE
    assert f"{len(raw)} bytes" in item.message
    assert parse_event(raw, max_bytes=len(raw))


def test_default_size_limit() -> None:
    sample = with_changes(UPSERTED, description="x" * 1_100_000)
    assert rejected(sample).field_errors[0].code == ErrorCode.EVENT_TOO_LARGE


def test_duplicate_keys_are_rejected() -> None:
    raw = encode(STOCK)[:-1] + b', "sku": "OTHER"}'
    (item,) = rejected(raw).field_errors
    assert (item.field, item.code) == ("sku", ErrorCode.EVENT_DUPLICATE_KEY)


def test_utf8_bom_is_ignored() -> None:
    assert isinstance(parse_event(b"\xef\xbb\xbf" + encode(DELETED)), ProductDeleted)


def test_unknown_type() -> None:
    error = rejected(with_changes(STOCK, type="product.created"))
    (item,) = error.field_errors
    assert item.field == "type"
    assert item.code == ErrorCode.EVENT_UNKNOWN_TYPE
    assert "product.upserted, product.stock, product.price, product.deleted" in item.message
    assert '"product.created"' in item.message
    # what could be read is kept for the REJECTED status
    assert (error.event_id, error.sku, error.account, error.version) == (
        STOCK["event_id"],
        "AH-129834",
        "default",
        STOCK["version"],
    )


def test_missing_type_is_not_taken_from_the_routing_key() -> None:
    (item,) = rejected(with_changes(STOCK, type=DROP), routing_key="product.stock").field_errors
    assert (item.field, item.code, item.message) == ("type", ErrorCode.MISSING_FIELD, "is required")


# --- field errors: field, message and fix ----------------------------------------------

LONG_SKU = "S" * 101


@pytest.mark.parametrize(
    ("sample", "field", "message", "fix"),
    [
        (
            with_changes(STOCK, stock__unit="BOX"),
            "stock.unit",
            "must be one of UNIT, PAIR, SET",
            "use one of these",
        ),
        (
            with_changes(STOCK, sku=LONG_SKU),
            "sku",
            "must be at most 100 characters (it becomes Allegro's external.id)",
            "shorten it",
        ),
        (
            with_changes(STOCK, version="abc"),
            "version",
            'must be an integer (e.g. the product\'s updated-at in milliseconds), got "abc"',
            "JSON integer",
        ),
        (with_changes(STOCK, version="17"), "version", 'got "17"', "not a string"),
        (with_changes(STOCK, version=1.5), "version", "got 1.5", "fraction"),
        (with_changes(STOCK, version=1.0), "version", "got 1.0", "fraction"),
        (with_changes(STOCK, version=True), "version", "got true", "boolean"),
        (with_changes(STOCK, version=-1), "version", "must be at least 0", ""),
        (
            with_changes(PRICE, price__amount=129.99),
            "price.amount",
            'must be a decimal string such as "129.99", got 129.99',
            "not a number",
        ),
        (with_changes(PRICE, price__amount="1.999"), "price.amount", "decimal string", ""),
        (with_changes(PRICE, price__amount="-1"), "price.amount", "decimal string", ""),
        (with_changes(PRICE, price__currency="zł"), "price.currency", "ISO 4217", ""),
        (with_changes(PRICE, price=DROP), "price", "is required", "add it"),
        (with_changes(STOCK, stock__available=-2), "stock.available", "at least 0", ""),
        (with_changes(STOCK, stock__available="5"), "stock.available", 'got "5"', "integer"),
        (with_changes(STOCK, event_id=""), "event_id", "must not be empty", ""),
        (with_changes(STOCK, sku=""), "sku", "must not be empty", ""),
        (with_changes(STOCK, sku=12345), "sku", "got 12345", "JSON string"),
        (with_changes(STOCK, account="two words"), "account", "account name", "connect"),
        (with_changes(STOCK, occurred_at=1784376000), "occurred_at", "RFC 3339", "RFC 3339"),
        (with_changes(STOCK, occurred_at="2026-07-18T12:00:00"), "occurred_at", "timezone", ""),
        (with_changes(STOCK, occurred_at="yesterday"), "occurred_at", "RFC 3339", ""),
        (with_changes(STOCK, stok={"available": 1}), "stok", "not a field", '"stock"?'),
        (with_changes(STOCK, price=PRICE["price"]), "price", "not a field", "product.price"),
        (with_changes(DELETED, stock={"available": 1}), "stock", "not a field", "product.stock"),
        (with_changes(UPSERTED, ean="123"), "ean", "8, 10, 12, 13 or 14 digits", "leading zeros"),
        (with_changes(UPSERTED, ean=5902719471797), "ean", "as a string", "JSON string"),
        (
            with_changes(UPSERTED, ean=DROP, mpn=DROP),
            "ean",
            "needs an ean or an mpn",
            "add ean",
        ),
        (
            with_changes(UPSERTED, category=DROP),
            "category",
            "unless allegro.category_id",
            "allegro.category_id",
        ),
        (with_changes(UPSERTED, category=165), "category", "got 165", '"123"'),
        (with_changes(UPSERTED, images=["ftp://x/y.jpg"]), "images[0]", "http(s) URL", ""),
        (with_changes(UPSERTED, name=""), "name", "must not be empty", ""),
        (
            with_changes(UPSERTED, attributes={"size": {"eu": 42}}),
            "attributes.size",
            "a string, a number, true/false or a list of strings",
            "flatten",
        ),
        (with_changes(UPSERTED, attributes={"tags": [1, 2]}), "attributes.tags", "list", ""),
        (with_changes(UPSERTED, attributes={"gone": None}), "attributes.gone", "a string", ""),
    ],
)
def test_field_errors_name_the_field_and_the_fix(
    sample: dict[str, Any], field: str, message: str, fix: str
) -> None:
    errors = rejected(sample).field_errors
    matching = [e for e in errors if e.field == field]
    assert matching, f"no error for {field}: {errors}"
    assert message in matching[0].message
    assert fix in matching[0].fix
    assert str(matching[0]).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("parameters", "field", "message"),
    [
        ([{"id": "1"}], "allegro.parameters[0].values", "needs values, valuesIds or rangeValue"),
        (
            [{"id": "1", "values": ["a"], "rangeValue": {"from": "1", "to": "2"}}],
            "allegro.parameters[0].rangeValue",
            "not both",
        ),
        ([{"values": ["a"]}], "allegro.parameters[0].id", "is required"),
        ([{"id": "1", "values": [5]}], "allegro.parameters[0].values[0]", "a string"),
        ([{"id": "1", "values": []}], "allegro.parameters[0].values", "at least 1 item"),
        (
            [{"id": "1", "values": ["a"]}, {"id": "1", "values": ["b"]}],
            "allegro.parameters[1].id",
            "repeats parameter 1",
        ),
        (
            [{"id": "1", "values_ids": ["1_1"]}],
            "allegro.parameters[0].values_ids",
            "not a field",
        ),
        (
            [{"id": "1", "rangeValue": {"from": "1"}}],
            "allegro.parameters[0].rangeValue.to",
            "is required",
        ),
    ],
)
def test_allegro_parameter_errors(parameters: list[Any], field: str, message: str) -> None:
    sample = with_changes(UPSERTED)
    sample["allegro"]["parameters"] = parameters
    errors = {e.field: e for e in rejected(sample).field_errors}
    assert field in errors, errors
    assert message in errors[field].message


def test_unknown_nested_field_suggests_the_name() -> None:
    sample = with_changes(UPSERTED)
    sample["allegro"]["parameters"] = [{"id": "1", "values_ids": ["1_1"]}]
    (item,) = rejected(sample).field_errors
    assert item.fix == 'did you mean "valuesIds"?'
    assert item.code == ErrorCode.UNKNOWN_FIELD


def test_every_problem_is_reported_at_once() -> None:
    sample = with_changes(STOCK, sku=LONG_SKU, version="x", stock__unit="BOX", extra=1)
    fields = [e.field for e in rejected(sample).field_errors]
    assert fields == ["sku", "version", "stock.unit", "extra"]


def test_error_text_lists_every_problem() -> None:
    error = rejected(with_changes(STOCK, sku=LONG_SKU, stock__unit="BOX"))
    text = str(error)
    assert text.splitlines()[0].startswith("sku: must be at most 100 characters")
    assert "stock.unit: must be one of UNIT, PAIR, SET" in text


def test_identity_of_a_rejected_event_keeps_only_usable_values() -> None:
    error = rejected(with_changes(STOCK, sku=LONG_SKU, version="1", account="a b"))
    assert error.event_id == STOCK["event_id"]
    assert (error.sku, error.version, error.account) == (None, None, None)


# --- GTIN check digits -----------------------------------------------------------------


@pytest.mark.parametrize(
    "gtin", ["4006381333931", "96385074", "036000291452", "00012345600012", "5902719471797"]
)
def test_gtin_check_digit_ok(gtin: str) -> None:
    assert gtin_check_digit_ok(gtin)
    wrong = gtin[:-1] + str((int(gtin[-1]) + 1) % 10)
    assert not gtin_check_digit_ok(wrong)


@pytest.mark.parametrize(
    "gtin",
    [
        "",
        "1234567",
        "400638133393a",
        "\uff14\uff10\uff10\uff16\uff13\uff18\uff11\uff13\uff13\uff13\uff19\uff13\uff11",
    ],
)
def test_gtin_check_digit_rejects_malformed(gtin: str) -> None:
    assert not gtin_check_digit_ok(gtin)
