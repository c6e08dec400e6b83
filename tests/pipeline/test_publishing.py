"""The pipeline's main job through real RabbitMQ, the sandbox over HTTP and an SQLite store:
create, update, the stock/price fast path, stock 0 and back, delete, async creation."""

from __future__ import annotations

from typing import Any

import pika

from tests.pipeline.conftest import (
    Pipeline,
    deleted,
    price_changed,
    stock_changed,
    upserted,
)


def _published(pipeline: Pipeline, sku: str, version: int = 1, **fields: Any) -> dict[str, Any]:
    event = pipeline.publish(upserted(sku, version, **fields))
    status = pipeline.status_of(event["event_id"])
    assert status["status"] == "PUBLISHED", status
    return status


def _api_calls(pipeline: Pipeline, since: int, path_prefix: str) -> list[dict[str, Any]]:
    return [
        r for r in pipeline.sandbox.requests(since=since) if str(r["path"]).startswith(path_prefix)
    ]


def _last_seq(pipeline: Pipeline) -> int:
    entries = pipeline.sandbox.requests()
    return int(entries[-1]["seq"]) if entries else 0


def test_a_new_product_becomes_an_active_offer_with_one_status(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = pipeline.publish(upserted(sku, 1))

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "PUBLISHED"
    assert status["publication_status"] == "ACTIVE"
    assert (status["sku"], status["account"], status["version"]) == (sku, "default", 1)
    assert status["trace_id"] and status["attempts"] == 1 and status["errors"] == []
    [offer] = pipeline.offers_of(sku)
    assert offer["id"] == status["offer_id"]
    assert offer["stock"]["available"] == 5
    assert offer["sellingMode"]["price"]["amount"] in ("999.00", "999.0", "999")
    # The status message's AMQP side: routing key, persistence, id for deduplication.
    [(_body, properties, routing_key)] = pipeline.statuses.with_properties(event["event_id"])
    assert routing_key == "offer.published"
    assert properties.delivery_mode == pika.DeliveryMode.Persistent.value
    assert properties.content_type == "application/json"
    assert properties.message_id == f"{event['event_id']}:PUBLISHED"
    # The registry and the audit trail.
    record = pipeline.store.get_offer("default", sku)
    assert record is not None and record.offer_id == offer["id"]
    assert record.published_body is not None and record.fingerprint
    assert [s.status for s in pipeline.store.history("default", sku)] == ["PUBLISHED"]


def test_a_changed_product_updates_its_offer_with_one_patch(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    first = _published(pipeline, sku)
    since = _last_seq(pipeline)

    event = pipeline.publish(upserted(sku, 2, name="Sony WH-1000XM5 headphones in black colour"))
    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "UPDATED"
    assert status["offer_id"] == first["offer_id"]
    [offer] = pipeline.offers_of(sku)
    assert offer["name"] == "Sony WH-1000XM5 headphones in black colour"
    writes = [
        r for r in _api_calls(pipeline, since, "/sale/product-offers") if r["method"] != "GET"
    ]
    assert [(w["method"], w["status"]) for w in writes] == [("PATCH", 200)]


def test_the_same_content_again_is_unchanged_and_sends_nothing(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    _published(pipeline, sku)
    since = _last_seq(pipeline)

    event = pipeline.publish(upserted(sku, 2))
    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "UNCHANGED"
    assert not [
        r for r in _api_calls(pipeline, since, "/sale/product-offers") if r["method"] != "GET"
    ]


def test_stock_and_price_changes_take_the_fast_path(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    _published(pipeline, sku)
    since = _last_seq(pipeline)

    stock = pipeline.publish(stock_changed(sku, 2, 7))
    assert pipeline.status_of(stock["event_id"])["status"] == "UPDATED"
    price = pipeline.publish(price_changed(sku, 3, "949.50"))
    assert pipeline.status_of(price["event_id"])["status"] == "UPDATED"

    [offer] = pipeline.offers_of(sku)
    assert offer["stock"]["available"] == 7
    assert offer["sellingMode"]["price"]["amount"] in ("949.50", "949.5")
    calls = pipeline.sandbox.requests(since=since)
    # Straight to publish: no catalogue search, no category work for these events.
    assert not [
        c for c in calls if str(c["path"]).startswith(("/sale/products", "/sale/categories"))
    ]
    assert [c["method"] for c in calls if c["method"] != "GET"] == ["PATCH", "PATCH"]


def test_stock_zero_ends_the_offer_and_restock_brings_it_back(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    first = _published(pipeline, sku)

    empty = pipeline.publish(stock_changed(sku, 2, 0))
    ended = pipeline.status_of(empty["event_id"])
    assert ended["status"] == "ENDED"
    assert ended["offer_id"] == first["offer_id"]
    assert pipeline.offers_of(sku)[0]["publication"]["status"] == "ENDED"

    restock = pipeline.publish(stock_changed(sku, 3, 4))
    back = pipeline.status_of(restock["event_id"])
    assert back["status"] == "UPDATED"
    assert back["offer_id"] == first["offer_id"]
    [offer] = pipeline.offers_of(sku)
    assert offer["stock"]["available"] == 4
    assert offer["publication"]["status"] in ("ACTIVE", "ACTIVATING")


def test_a_deleted_product_ends_its_offer(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    first = _published(pipeline, sku)

    event = pipeline.publish(deleted(sku, 2))
    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "ENDED"
    assert status["offer_id"] == first["offer_id"]
    assert pipeline.offers_of(sku)[0]["publication"]["status"] == "ENDED"


def test_a_product_deleted_before_it_had_an_offer_is_unchanged(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = pipeline.publish(deleted(sku, 1))

    assert pipeline.status_of(event["event_id"])["status"] == "UNCHANGED"
    assert pipeline.offers_of(sku) == []


def test_an_asynchronous_creation_is_followed_to_its_end(pipeline: Pipeline) -> None:
    # Every POST answers 202; the operation finishes 0.3 s (sandbox time) later.
    pipeline.sandbox.configure(async_ratio=1.0, async_delay_s=0.3, retry_after_s=0)
    sku = pipeline.new_sku()
    since = _last_seq(pipeline)

    status = _published(pipeline, sku)

    [offer] = pipeline.offers_of(sku)
    assert status["offer_id"] == offer["id"]
    calls = _api_calls(pipeline, since, "/sale/product-offers")
    assert ("POST", 202) in [(c["method"], c["status"]) for c in calls]
    assert 303 in [c["status"] for c in calls if "/operations/" in str(c["path"])]
