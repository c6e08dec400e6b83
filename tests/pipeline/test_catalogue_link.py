"""A product linked to a catalogue product, through the pipeline and the sandbox (FACTS.md
§6): the offer's category must be the catalogue product's or a similar one (audit #7), its
1-16 images count the catalogue product's unless ours replace them (audit #8), and a
product parameter the catalogue supplies does not reject the event over the store's value
(audit #9).

The module runs with a mapping file: "Audio" is mapped to 85166 (headphones) by a prefix
entry, and any other store category falls to categories.default, 85166 as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.testing import SAMPLE_GTIN, SandboxHandle, offer_body
from schemas.mapping import parse_mapping
from tests.pipeline.conftest import Pipeline, pipeline_settings, upserted
from workers.services import setup
from workers.store import open_store

#: A catalogue product of the sandbox listed in 165 "Smartfony i telefony komórkowe",
#: which has no similar categories.
IPHONE_ID = "f6a29a84-37e5-5a7d-a0b2-f1776c198903"
IPHONE_EAN = "0194253215431"
#: The sample product (SAMPLE_GTIN), listed in 85166 with two images.
SONY_ID = "d7602d05-f452-5fa2-9848-507310b64c17"
HEADPHONES = "85166"

MAPPING = parse_mapping(
    """\
version: 1
defaults: {condition: "11323_1"}
categories:
  prefix: {"Audio": "85166"}
  default: "85166"
"""
)


@pytest.fixture(scope="module")
def pipeline(amqp_url: str, store_url: str, sandbox: SandboxHandle) -> Iterator[Pipeline]:
    """The module's pipeline, with :data:`MAPPING` as its mapping file."""
    settings = pipeline_settings(amqp_url=amqp_url, store_url=store_url, sandbox=sandbox)
    store = open_store(store_url)
    runtime = setup(settings, store=store, mapping=MAPPING)
    running = Pipeline(settings, store, runtime, sandbox)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        store.close()


def iphone(sku: str, category: str, **fields: Any) -> dict[str, Any]:
    """A ``product.upserted`` of the catalogue's iPhone (by its EAN), no allegro overrides
    unless ``fields`` give some."""
    product: dict[str, Any] = {
        "name": "Apple iPhone 15 128 GB czarny smartfon",
        "description": "<p>Smartfon Apple.</p>",
        "category": category,
        "ean": IPHONE_EAN,
        "brand": "Apple",
        "price": {"amount": "3999.00", "currency": "PLN"},
        "images": ["https://shop.example/img/iphone15.jpg"],
        "allegro": {},
    }
    return upserted(sku, 1, **{**product, **fields})


def _writes(pipeline: Pipeline) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in pipeline.writes_of()]


def _rejected_before_any_write(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    status = pipeline.status_of(event["event_id"])
    assert status["status"] == "REJECTED", status
    assert _writes(pipeline) == []
    assert pipeline.offers_of(event["sku"]) == []
    [error] = status["errors"]
    return dict(error)


# --- the category (audit #7) ------------------------------------------------------------------


def test_the_sandbox_answers_category_mismatch_as_allegro_does(sandbox: SandboxHandle) -> None:
    # What the local check spares the seller: a linked product in a category not its own.
    body = offer_body(category={"id": HEADPHONES})
    body["productSet"] = [{"product": {"id": IPHONE_ID}}]
    with sandbox.client() as api:
        response = api.post("/sale/product-offers", json=body)
    assert response.status_code == 422, response.text
    [item] = [e for e in response.json()["errors"] if e["code"] == "CATEGORY_MISMATCH"]
    assert item["path"] == "category.id"
    assert item["metadata"]["requestedCategoryId"] == HEADPHONES
    assert item["metadata"]["existingCategoryId"] == "165"
    assert item["metadata"]["existingProductId"] == IPHONE_ID
    assert item["userMessage"]


def test_a_default_category_gives_way_to_the_catalogue_products(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = pipeline.publish(iphone(sku, "Elektronika > Inne"))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED", status
    [offer] = pipeline.offers_of(sku)
    assert offer["category"]["id"] == "165"
    assert offer["productSet"][0]["product"]["id"] == IPHONE_ID


def test_an_ean_in_a_category_the_mapping_chose_is_rejected(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = pipeline.publish(iphone(sku, "Audio > Słuchawki"))

    error = _rejected_before_any_write(pipeline, event)

    assert (error["code"], error["path"]) == ("CATEGORY_MISMATCH", "category")
    assert 'category 165 "Smartfony i telefony komórkowe"' in error["message"]
    assert "categories.prefix entry" in error["userMessage"]


def test_an_explicit_product_in_another_category_is_rejected(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = iphone(sku, "Audio", allegro={"product_id": IPHONE_ID, "category_id": HEADPHONES})
    pipeline.publish(event)

    error = _rejected_before_any_write(pipeline, event)

    assert (error["code"], error["path"]) == ("CATEGORY_MISMATCH", "allegro.category_id")
    assert f"catalogue product {IPHONE_ID}" in error["message"]
    # The product was read by its id (one call), not searched for by its EAN.
    reads = [r["path"] for r in pipeline.sandbox.requests() if r["path"].startswith("/sale/prod")]
    assert reads == [f"/sale/products/{IPHONE_ID}"]


# --- the images (audit #8) --------------------------------------------------------------------


def test_sixteen_store_images_replace_the_catalogues(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    urls = [f"https://shop.example/img/wh1000xm5-{n}.jpg" for n in range(16)]
    event = pipeline.publish(upserted(sku, 1, images=urls))

    status = pipeline.status_of(event["event_id"])

    # With the catalogue's two the gallery would be 18: GallerySizeException.
    assert status["status"] == "PUBLISHED", status
    [offer] = pipeline.offers_of(sku)
    assert offer["images"] == urls
    assert offer["productSet"][0]["product"]["id"] == SONY_ID


def test_without_store_images_the_catalogues_are_used(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1, images=[]))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED", status
    [offer] = pipeline.offers_of(sku)
    assert len(offer["images"]) == 2 and offer["images"][0].startswith("https://a.allegroimg")


# --- product parameters the catalogue supplies (audit #9) -------------------------------------


def test_a_bad_store_value_the_catalogue_supplies_does_not_reject(pipeline: Pipeline) -> None:
    # Without an EAN, "Kod producenta" (1..35 characters) is required of a new product; the
    # linked catalogue product holds its own (WH1000XM5B.CE7), so the store's is not sent.
    sku = pipeline.new_sku()
    event = upserted(sku, 1, mpn="WH1000XM5B-" + "X" * 30)
    event["allegro"] = {**event["allegro"], "product_id": SONY_ID}
    del event["ean"]
    pipeline.publish(event)

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED", status
    [offer] = pipeline.offers_of(sku)
    assert offer["productSet"][0]["product"]["id"] == SONY_ID


def test_the_sample_product_still_links_by_its_ean(pipeline: Pipeline) -> None:
    # The control of the module: the catalogue's product in its own category.
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1, ean=SAMPLE_GTIN))

    assert pipeline.status_of(event["event_id"])["status"] == "PUBLISHED"
    [offer] = pipeline.offers_of(sku)
    assert offer["category"]["id"] == HEADPHONES
