"""The generated JSON Schema files: up to date, valid, and in agreement with the models."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from schemas import EventError, Status, StatusError, StatusMessage, parse_event
from schemas.events import EXAMPLE_EVENTS
from schemas.generate import SCHEMA_FILES, default_directory, main, render, stale, write
from schemas.offer import OfferRequest, Stock

UPSERTED, STOCK, PRICE, DELETED = EXAMPLE_EVENTS


def load(filename: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((default_directory() / filename).read_text("utf-8"))
    return schema


def validator(filename: str) -> Draft202012Validator:
    return Draft202012Validator(load(filename))


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` with ``a__b=value`` set (``None`` as value removes the key)."""
    result = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = result
        for parent in parents:
            target = target[parent]
        if value is None:
            target.pop(leaf)
        else:
            target[leaf] = value
    return result


# --- the files -------------------------------------------------------------------------


def test_committed_files_are_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--check"])
    assert code == 0, capsys.readouterr().err + "\nrun: python -m schemas.generate"


def test_check_lists_stale_and_missing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.count("stale: ") == len(SCHEMA_FILES)

    assert {p.name for p in write(tmp_path)} == {s.filename for s in SCHEMA_FILES}
    assert main(["--check", "--out", str(tmp_path)]) == 0
    assert write(tmp_path) == []

    target = tmp_path / SCHEMA_FILES[0].filename
    target.write_text(target.read_text(encoding="utf-8").replace("sku", "skus"), encoding="utf-8")
    assert stale(tmp_path) == [target]
    assert main(["--check", "--out", str(tmp_path)]) == 1
    assert SCHEMA_FILES[0].filename in capsys.readouterr().err


def test_output_is_deterministic() -> None:
    for spec in SCHEMA_FILES:
        text = render(spec)
        assert text == render(spec)
        assert text.endswith("}\n") and not text.endswith("\n\n")
        assert (
            json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            == text
        )


@pytest.mark.parametrize("spec", SCHEMA_FILES, ids=lambda s: s.filename)
def test_files_are_valid_draft_2020_12_with_id_and_title(spec: Any) -> None:
    schema = load(spec.filename)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(spec.filename.removesuffix(".schema.json"))
    assert "version 1" in schema["title"]
    assert schema["description"]
    assert "``" not in json.dumps(schema)


def test_field_descriptions_come_from_the_models() -> None:
    upserted = load("product-event.v1.schema.json")["$defs"]["ProductUpserted"]
    assert "external.id" in upserted["properties"]["sku"]["description"]
    assert upserted["description"].startswith("`product.upserted`")


# --- the event schema agrees with the pydantic model ----------------------------------

GOOD_EVENTS = [
    *EXAMPLE_EVENTS,
    changed(UPSERTED, ean=None),
    changed(UPSERTED, mpn=None, category=None, allegro={"category_id": "165"}),
    changed(
        UPSERTED,
        allegro={"parameters": [{"id": "1", "values": ["x"], "valuesIds": ["1_0"]}]},
    ),
    changed(UPSERTED, attributes={}, images=[], description=""),
    changed(STOCK, stock={"available": 3, "unit": "PAIR"}, account="shop-2"),
    changed(PRICE, price={"amount": "12.5", "currency": "EUR"}),
]

BAD_EVENTS = {
    "missing sku": changed(STOCK, sku=None),
    "sku too long": changed(STOCK, sku="S" * 101),
    "version as string": changed(STOCK, version="17"),
    "version fraction": changed(STOCK, version=1.5),
    "version boolean": changed(STOCK, version=True),
    "version negative": changed(STOCK, version=-1),
    "amount as number": changed(PRICE, price__amount=129.99),
    "amount 3 decimals": changed(PRICE, price__amount="1.999"),
    "currency lower case": changed(PRICE, price__currency="pln"),
    "unit unknown": changed(STOCK, stock__unit="BOX"),
    "stock negative": changed(STOCK, stock__available=-1),
    "unknown field": changed(STOCK, stok=1),
    "field of another type": changed(DELETED, stock={"available": 1}),
    "unknown type": changed(STOCK, type="product.created"),
    "no ean and no mpn": changed(UPSERTED, ean=None, mpn=None),
    "no category at all": changed(UPSERTED, category=None, allegro={"parameters": []}),
    "ean too short": changed(UPSERTED, ean="123"),
    "image not http": changed(UPSERTED, images=["ftp://x/y.jpg"]),
    "nested attribute": changed(UPSERTED, attributes={"size": {"eu": 42}}),
    "parameter without value": changed(UPSERTED, allegro={"parameters": [{"id": "1"}]}),
    "parameter with range and values": changed(
        UPSERTED,
        allegro={
            "parameters": [{"id": "1", "values": ["a"], "rangeValue": {"from": "1", "to": "2"}}]
        },
    ),
    "occurred_at as number": changed(STOCK, occurred_at=1784376000),
    "account with space": changed(STOCK, account="my shop"),
}


def pydantic_accepts(sample: dict[str, Any]) -> bool:
    try:
        parse_event(json.dumps(sample).encode())
    except EventError:
        return False
    return True


@pytest.mark.parametrize("sample", GOOD_EVENTS)
def test_good_events_pass_both(sample: dict[str, Any]) -> None:
    errors = list(validator("product-event.v1.schema.json").iter_errors(sample))
    assert errors == []
    assert pydantic_accepts(sample)


@pytest.mark.parametrize("sample", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_bad_events_fail_both(sample: dict[str, Any]) -> None:
    assert not validator("product-event.v1.schema.json").is_valid(sample)
    assert not pydantic_accepts(sample)


def test_schema_examples_are_the_example_events() -> None:
    assert load("product-event.v1.schema.json")["examples"] == list(EXAMPLE_EVENTS)


# --- the other two files ----------------------------------------------------------------


def test_status_messages_validate_against_their_schema() -> None:
    check = validator("status-message.v1.schema.json")
    published = StatusMessage(
        event_id="e", sku="s", account="default", version=1, status=Status.PUBLISHED, offer_id="1"
    )
    rejected = StatusMessage(
        event_id=None,
        sku=None,
        account=None,
        version=None,
        status=Status.REJECTED,
        errors=[StatusError(code="EVENT_NOT_JSON", message="is not valid JSON")],
    )
    for message in (published, rejected):
        assert list(check.iter_errors(json.loads(message.to_json()))) == []
    assert not check.is_valid({**json.loads(published.to_json()), "status": "DONE"})
    bad_item = {**json.loads(rejected.to_json()), "errors": [{"code": "X", "user_message": "u"}]}
    assert not check.is_valid(bad_item)


def test_offer_bodies_validate_against_their_schema() -> None:
    check = validator("offer-request.v1.schema.json")
    body = OfferRequest(stock=Stock(available=1)).body()
    assert check.is_valid(body)
    assert not check.is_valid({**body, "unknownField": 1})
    assert not check.is_valid({"stock": {"available": 1}, "parameters": [{"id": "1"}]})
    assert not check.is_valid({})
