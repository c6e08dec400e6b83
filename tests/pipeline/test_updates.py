"""Changes to a product that already has an offer: one merge-patch PATCH with only what
changed, nothing at all for the same content again, and a price change that overtakes (or
is overtaken by) a content change in the pipeline without either being lost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.pipeline.conftest import Pipeline, price_changed, upserted

#: "Stan opakowania" (packaging), an offer parameter of the sample product's category that
#: a store attribute of that name maps to; its dictionary value for "oryginalne".
PACKAGING_ID = "229205"
PACKAGING_ORIGINAL = "229205_340245"
CATALOGUE_SEARCH = r"^/sale/products$"


def _last_seq(pipeline: Pipeline) -> int:
    entries = pipeline.sandbox.requests()
    return int(entries[-1]["seq"]) if entries else 0


def _published(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    pipeline.publish(event)
    status = pipeline.status_of(event["event_id"])
    assert status["status"] == "PUBLISHED", status
    return status


def _patches(pipeline: Pipeline, since: int) -> list[dict[str, Any]]:
    return [w for w in pipeline.writes_of(since=since) if w["method"] == "PATCH"]


def _texts(offer: dict[str, Any]) -> str:
    sections = (offer.get("description") or {}).get("sections") or []
    return " ".join(
        str(item.get("content", "")) for section in sections for item in section.get("items", [])
    )


def _amount(offer: dict[str, Any]) -> Decimal:
    return Decimal(str(offer["sellingMode"]["price"]["amount"]))


def test_name_description_and_attributes_change_in_one_merge_patch(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    first = _published(pipeline, upserted(sku, 1))
    since = _last_seq(pipeline)

    changed = upserted(
        sku,
        2,
        name="Sony WH-1000XM5 headphones in black colour",
        description="<p>Noise cancelling headphones with a 30 hour battery.</p>",
        attributes={"Stan opakowania": "oryginalne"},
    )
    pipeline.publish(changed)
    status = pipeline.status_of(changed["event_id"])

    assert status["status"] == "UPDATED", status
    assert status["offer_id"] == first["offer_id"]
    [patch] = _patches(pipeline, since)
    assert patch["path"] == f"/sale/product-offers/{first['offer_id']}"
    assert patch["status"] == 200
    body = patch["body"]
    # A merge patch of what changed: no productSet, stock, price, images or category.
    assert set(body) == {"name", "description", "parameters"}, body
    assert body["name"] == "Sony WH-1000XM5 headphones in black colour"
    assert "30 hour battery" in str(body["description"])
    # Arrays are replaced whole (RFC 7396): the new list keeps the condition.
    assert {p["id"] for p in body["parameters"]} == {"11323", PACKAGING_ID}
    assert not [w for w in pipeline.writes_of(since=since) if w["method"] == "POST"]
    [offer] = pipeline.offers_of(sku)
    assert offer["name"] == "Sony WH-1000XM5 headphones in black colour"
    assert "30 hour battery" in _texts(offer)
    parameters = {p["id"]: p for p in offer["parameters"]}
    assert parameters[PACKAGING_ID]["valuesIds"] == [PACKAGING_ORIGINAL]
    assert parameters["11323"]["valuesIds"] == ["11323_1"]
    assert offer["stock"]["available"] == 5
    assert _amount(offer) == Decimal("999.00")


def test_the_same_content_again_is_unchanged_without_a_patch(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    fields: dict[str, Any] = {
        "name": "Sony WH-1000XM5 headphones in black colour",
        "attributes": {"Stan opakowania": "oryginalne"},
    }
    _published(pipeline, upserted(sku, 1))
    changed = pipeline.publish(upserted(sku, 2, **fields))
    assert pipeline.status_of(changed["event_id"])["status"] == "UPDATED"
    since = _last_seq(pipeline)

    again = pipeline.publish(upserted(sku, 3, **fields))  # a new event, same content
    status = pipeline.status_of(again["event_id"])

    assert status["status"] == "UNCHANGED", status
    assert pipeline.writes_of(since=since) == []
    assert len(pipeline.offers_of(sku)) == 1


def test_a_price_change_while_the_first_upsert_is_in_the_content_pipeline(
    pipeline: Pipeline,
) -> None:
    # The catalogue search of the upsert (enrich) is held for a second by the sandbox, so
    # the price event arrives while the upsert is still on its way to publish.
    pipeline.sandbox.configure(timeout_hold_s=1.0)
    pipeline.sandbox.inject_fault(
        method="GET", path=CATALOGUE_SEARCH, kind="timeout", status=503, count=1
    )
    sku = pipeline.new_sku()
    product = pipeline.publish(upserted(sku, 1, stock={"available": 3, "unit": "UNIT"}))
    price = pipeline.publish(price_changed(sku, 2, "949.50"))

    statuses = {
        "product": pipeline.status_of(product["event_id"]),
        "price": pipeline.status_of(price["event_id"]),
    }

    assert {s["status"] for s in statuses.values()} <= {"PUBLISHED", "UPDATED", "UNCHANGED"}
    assert "PUBLISHED" in {s["status"] for s in statuses.values()}, statuses
    [offer] = pipeline.offers_of(sku)
    assert _amount(offer) == Decimal("949.50")
    assert offer["stock"]["available"] == 3
    assert offer["name"] == upserted(sku, 1)["name"]
    assert [w["method"] for w in pipeline.writes_of() if w["method"] == "POST"] == ["POST"]


def test_a_price_change_overtaking_a_content_change_loses_neither(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    first = _published(pipeline, upserted(sku, 1))
    since = _last_seq(pipeline)
    # The content change is held in enrich (catalogue search) for a second; the price
    # event takes the fast path straight to publish meanwhile.
    pipeline.sandbox.configure(timeout_hold_s=1.0)
    pipeline.sandbox.inject_fault(
        method="GET", path=CATALOGUE_SEARCH, kind="timeout", status=503, count=1
    )
    content = pipeline.publish(upserted(sku, 2, name="Sony WH-1000XM5 headphones in black colour"))
    price = pipeline.publish(price_changed(sku, 3, "949.50"))

    price_status = pipeline.status_of(price["event_id"])
    content_status = pipeline.status_of(content["event_id"])

    assert price_status["status"] == "UPDATED", price_status
    assert content_status["status"] == "UPDATED", content_status
    assert price_status["offer_id"] == content_status["offer_id"] == first["offer_id"]
    [offer] = pipeline.offers_of(sku)
    assert offer["name"] == "Sony WH-1000XM5 headphones in black colour"
    assert _amount(offer) == Decimal("949.50")
    patches = _patches(pipeline, since)
    # The price went first (the content was held), each PATCH carries only its change, and
    # the content's PATCH does not put the old price back.
    assert [set(p["body"]) for p in patches] == [{"sellingMode"}, {"name"}], patches
    assert not [w for w in pipeline.writes_of(since=since) if w["method"] == "POST"]
