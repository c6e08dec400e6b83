"""The Allegro client's offer endpoints against the sandbox over HTTP: create (201 and
202 → 303), edit, read, find by external id, and Allegro's 422 validation errors."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from tests.integration._support import Clocks, sandbox_settings
from workers.allegro import (
    AllegroClient,
    EditInProgress,
    ErrorItem,
    NotFound,
    OperationFailed,
    OperationPending,
    ValidationFailed,
)
from workers.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]

KETTLE_GTIN = "4242002375502"  # a complete catalogue product in leaf category 67490
MULTI_GTIN = "0194253317807"  # a GTIN shared by several catalogue products

BY_GTIN: dict[str, Any] = {
    "productSet": [{"product": {"id": KETTLE_GTIN, "idType": "GTIN"}}],
    "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
    "sellingMode": {"price": {"amount": "199.99", "currency": "PLN"}},
    "stock": {"available": 5, "unit": "UNIT"},
    "external": {"id": "SKU-KETTLE"},
}

NEW_PRODUCT: dict[str, Any] = {
    "productSet": [
        {
            "product": {
                "name": "Czajnik testowy Marka X 1,5 l",
                "category": {"id": "67490"},
                "parameters": [
                    {"id": "225693", "values": ["5901234123457"]},
                    {"id": "224017", "values": ["TK-1"]},
                    {"id": "248821", "valuesIds": ["248821_1000"]},
                    {"id": "205297", "values": ["1.5"]},
                    {"id": "205301", "values": ["2000"]},
                ],
                "images": ["https://example.com/kettle.jpg"],
            }
        }
    ],
    "name": "Czajnik testowy Marka X 1,5 l",
    "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
    "sellingMode": {"price": {"amount": "99.00", "currency": "PLN"}},
    "stock": {"available": 2},
    "external": {"id": "SKU-NEW"},
}


@pytest.fixture
def settings(sandbox: SandboxHandle, tmp_path: Path) -> Settings:
    return sandbox_settings(sandbox, tmp_path / "tokens.json", operation_poll_max_s=30)


def _body(base: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    body = copy.deepcopy(base)
    change(body)
    return body


def _logged(sandbox: SandboxHandle, method: str, prefix: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["method"] == method and r["path"].startswith(prefix)]


# --- create ------------------------------------------------------------------------------


def test_create_by_gtin_201_then_read_and_find(
    client: AllegroClient, sandbox: SandboxHandle
) -> None:
    result = client.create_offer(BY_GTIN)
    assert result.status == 201 and result.trace_id and result.operation is None
    offer = result.offer
    assert offer.id and offer.status == "ACTIVE" and offer.external_id == "SKU-KETTLE"
    assert offer.price and offer.price.amount == Decimal("199.99")
    again = client.get_offer(offer.id)
    assert again.id == offer.id and again.trace_id
    parts = client.get_offer_parts(offer.id)
    assert parts.stock and parts.stock.available == 5
    assert parts.selling_mode and parts.selling_mode.price
    assert parts.selling_mode.price.amount == Decimal("199.99")
    (found,) = client.find_offers_by_external_id(["SKU-KETTLE", "SKU-OTHER"])
    assert found.id == offer.id and found.status == "ACTIVE"
    assert [o["id"] for o in sandbox.offers()] == [offer.id]


def test_create_new_product(client: AllegroClient) -> None:
    result = client.create_offer(NEW_PRODUCT)
    assert result.status == 201 and result.offer.status == "ACTIVE"
    assert result.offer.product_set and result.offer.product_set[0]["product"]["id"]


def test_create_draft_then_activate_with_patch(client: AllegroClient) -> None:
    draft = client.create_offer({**BY_GTIN, "publication": {"status": "INACTIVE"}})
    assert draft.offer.status == "INACTIVE" and draft.offer.id
    active = client.update_offer(draft.offer.id, {"publication": {"status": "ACTIVE"}})
    assert active.offer.status == "ACTIVE"


def test_async_create_polls_until_303(
    client: AllegroClient, sandbox: SandboxHandle, clocks: Clocks
) -> None:
    sandbox.configure(async_ratio=1.0, async_delay_s=1.0, retry_after_s=0)
    result = client.create_offer(BY_GTIN)
    assert result.status == 202
    assert result.offer.status == "ACTIVE"
    operation = result.operation
    assert operation is not None and operation.offer_id == result.offer_id
    assert operation.polls >= 2 and operation.operation_id
    polls = _logged(sandbox, "GET", f"/sale/product-offers/{result.offer_id}/operations/")
    assert [p["status"] for p in polls] == [202] * (len(polls) - 1) + [303]
    # Retry-After 0 is raised to the 0.2 s minimum between polls.
    assert clocks.sleeps and all(s == pytest.approx(0.2) for s in clocks.sleeps)


def test_async_create_pending_then_resumed(
    make_client: Callable[..., AllegroClient], sandbox: SandboxHandle
) -> None:
    sandbox.configure(async_ratio=1.0, async_delay_s=600, retry_after_s=5)
    client = make_client(operation_poll_max_s=12)
    with pytest.raises(OperationPending) as caught:
        client.create_offer(BY_GTIN)
    pending = caught.value
    assert pending.offer_id and pending.transient
    assert f"/sale/product-offers/{pending.offer_id}/operations/" in pending.operation_url
    sandbox.advance_clock(600)
    done = client.wait_operation(pending.operation_url)
    assert done.offer_id == pending.offer_id and done.offer.status == "ACTIVE"
    assert done.status == 303


def test_async_activation_failure_is_operation_failed(
    client: AllegroClient, sandbox: SandboxHandle
) -> None:
    sandbox.configure(async_ratio=1.0, async_delay_s=1, retry_after_s=1)
    with pytest.raises(OperationFailed) as caught:
        client.create_offer(_body(BY_GTIN, lambda b: b["stock"].update(available=0)))
    assert caught.value.codes == ["AvailableStockMustEqualToOneOrBeGreaterThanOne"]
    assert caught.value.offer_id and caught.value.trace_id


# --- edit --------------------------------------------------------------------------------


def test_update_sync_and_async(client: AllegroClient, sandbox: SandboxHandle) -> None:
    offer_id = client.create_offer(BY_GTIN).offer_id
    assert offer_id
    changed = client.update_offer(
        offer_id,
        {"stock": {"available": 7}, "sellingMode": {"price": {"amount": "150", "currency": "PLN"}}},
    )
    assert changed.status == 200
    assert changed.offer.stock and changed.offer.stock.available == 7
    assert changed.offer.price and changed.offer.price.amount == Decimal("150")
    sandbox.configure(async_ratio=1.0, async_delay_s=1, retry_after_s=0)
    renamed = client.update_offer(offer_id, {"name": "Czajnik Bosch nowa nazwa 1,7 l"})
    assert renamed.status == 202 and renamed.operation is not None
    assert renamed.offer.name == "Czajnik Bosch nowa nazwa 1,7 l"


def test_stock_zero_ends_the_offer(client: AllegroClient) -> None:
    offer_id = client.create_offer(BY_GTIN).offer_id
    assert offer_id
    client.update_offer(offer_id, {"stock": {"available": 0}})
    offer = client.get_offer(offer_id)
    assert offer.status == "ENDED"
    assert offer.publication and offer.publication.ended_by == "EMPTY_STOCK"


def test_edit_while_previous_edit_runs_is_409(
    make_client: Callable[..., AllegroClient], sandbox: SandboxHandle
) -> None:
    client = make_client(operation_poll_max_s=1)
    offer_id = client.create_offer(BY_GTIN).offer_id
    assert offer_id
    sandbox.configure(async_ratio=1.0, async_delay_s=600, retry_after_s=5)
    with pytest.raises(OperationPending):
        client.update_offer(offer_id, {"stock": {"available": 3}})
    with pytest.raises(EditInProgress) as caught:
        client.update_offer(offer_id, {"stock": {"available": 4}})
    assert caught.value.status == 409
    patches = _logged(sandbox, "PATCH", f"/sale/product-offers/{offer_id}")
    assert [p["status"] for p in patches] == [202, 409, 409, 409, 409]  # retried, bounded


def test_unknown_offer(client: AllegroClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.get_offer("1")
    assert caught.value.trace_id


# --- Allegro's validation ----------------------------------------------------------------

CASES: list[tuple[str, dict[str, Any], str, str | None]] = [
    (
        "missing required parameters",
        _body(NEW_PRODUCT, lambda b: b["productSet"][0]["product"]["parameters"].pop(4)),
        "ConstraintViolationException.MissingRequiredParameters",
        "productSet[0].product.parameters",
    ),
    (
        "unknown parameter",
        _body(BY_GTIN, lambda b: b["parameters"].append({"id": "999999", "values": ["x"]})),
        "ParameterIdNotFoundException",
        "parameters[1]",
    ),
    (
        "unknown dictionary value id",
        _body(BY_GTIN, lambda b: b["parameters"][0].update(valuesIds=["11323_999"])),
        "DictionaryParameterIdNotFound",
        "parameters[0]",
    ),
    (
        "unknown dictionary value label",
        _body(BY_GTIN, lambda b: b.update(parameters=[{"id": "11323", "values": ["Zepsuty"]}])),
        "DictionaryParameterValueNotFound",
        "parameters[0]",
    ),
    (
        "product parameter among offer parameters",
        _body(
            NEW_PRODUCT,
            lambda b: b["parameters"].append({"id": "205305", "valuesIds": ["205305_1"]}),
        ),
        "ParameterCategoryException",
        "parameters[1]",
    ),
    (
        "offer parameter among product parameters",
        _body(
            NEW_PRODUCT,
            lambda b: b["productSet"][0]["product"]["parameters"].append(
                {"id": "11323", "valuesIds": ["11323_1"]}
            ),
        ),
        "ParameterCategoryException",
        "productSet[0].product.parameters[5]",
    ),
    (
        "name too long",
        _body(BY_GTIN, lambda b: b.update(name="Czajnik " * 12)),
        "ConstraintViolationException.StringLength",
        "name",
    ),
    (
        "name with too few words",
        _body(BY_GTIN, lambda b: b.update(name="Czajnikelektryczny Bosch")),
        "ConstraintViolationException.NotEnoughWords",
        "name",
    ),
    (
        "word too long",
        _body(BY_GTIN, lambda b: b.update(name="Czajnik " + "x" * 31 + " Bosch")),
        "ConstraintViolationException.MaxWordLength",
        "name",
    ),
    (
        "description HTML",
        _body(
            BY_GTIN,
            lambda b: b.update(
                description={"sections": [{"items": [{"type": "TEXT", "content": "<div>x</div>"}]}]}
            ),
        ),
        "ConstraintViolationException.DescriptionHtml",
        "description.sections[0].items[0].content",
    ),
    (
        "price below range",
        _body(BY_GTIN, lambda b: b["sellingMode"]["price"].update(amount="0.50")),
        "ConstraintViolationException.Price",
        "sellingMode.price.amount",
    ),
    (
        "price above range",
        _body(BY_GTIN, lambda b: b["sellingMode"]["price"].update(amount="1000000001.00")),
        "ConstraintViolationException.Price",
        "sellingMode.price.amount",
    ),
    (
        "negative stock",
        _body(BY_GTIN, lambda b: b["stock"].update(available=-1)),
        "AvailableStockMustEqualToZeroOrBeGreaterThanZero",
        "stock.available",
    ),
    (
        "unknown stock unit",
        _body(BY_GTIN, lambda b: b["stock"].update(unit="BOX")),
        "JsonMappingException",
        "stock.unit",
    ),
    (
        "too many images",
        _body(
            BY_GTIN, lambda b: b.update(images=[f"https://example.com/{i}.jpg" for i in range(17)])
        ),
        "GallerySizeException",
        "images",
    ),
    (
        "category that is not a leaf",
        _body(NEW_PRODUCT, lambda b: b["productSet"][0]["product"]["category"].update(id="10")),
        "INVALID_CATEGORY_ID",
        "productSet[0].product.category.id",
    ),
    (
        "GTIN of several products",
        _body(BY_GTIN, lambda b: b["productSet"][0]["product"].update(id=MULTI_GTIN)),
        "MultipleProductsFoundException",
        "productSet[0].product.id",
    ),
    (
        "read-only property sent back",
        _body(
            BY_GTIN,
            lambda b: b.update(publication={"marketplaces": {"base": {"id": "allegro-pl"}}}),
        ),
        "UnknownJSONProperty",
        None,
    ),
]


@pytest.mark.sends_invalid
@pytest.mark.parametrize(
    ("body", "code", "path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_validation_errors_are_typed(
    client: AllegroClient, sandbox: SandboxHandle, body: dict[str, Any], code: str, path: str | None
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        client.create_offer(body)
    error = caught.value
    assert error.status == 422 and error.trace_id
    assert (error.method, error.path) == ("POST", "/sale/product-offers")
    assert all(isinstance(item, ErrorItem) for item in error.errors)
    matching = [item for item in error.errors if item.code == code]
    assert matching, [item.code for item in error.errors]
    item = matching[0]
    assert item.path == path
    assert item.message and item.user_message
    assert isinstance(item.metadata, dict)
    assert code in str(error)
    assert sandbox.offers() == []
    assert len(_logged(sandbox, "POST", "/sale/product-offers")) == 1  # 422 is not retried


@pytest.mark.sends_invalid
def test_validation_metadata(client: AllegroClient) -> None:
    with pytest.raises(ValidationFailed) as caught:
        client.create_offer(
            _body(BY_GTIN, lambda b: b["productSet"][0]["product"].update(id=MULTI_GTIN))
        )
    (multiple,) = [e for e in caught.value.errors if e.code == "MultipleProductsFoundException"]
    assert len(multiple.metadata["foundProductsIds"].split(",")) > 1
    with pytest.raises(ValidationFailed) as caught:
        client.create_offer(_body(BY_GTIN, lambda b: b.update(foo=1)))
    assert caught.value.errors[0].metadata == {"unknownProperties": "foo"}


@pytest.mark.sends_invalid
def test_external_id_too_long_is_refused_by_allegro_on_patch(client: AllegroClient) -> None:
    # create_offer refuses it locally (InvalidRequest); a PATCH passes it through.
    offer_id = client.create_offer(BY_GTIN).offer_id
    assert offer_id
    with pytest.raises(ValidationFailed) as caught:
        client.update_offer(offer_id, {"external": {"id": "x" * 101}})
    (item,) = caught.value.errors
    assert item.code == "ConstraintViolationException.StringLength"
    assert item.path == "external.id"
