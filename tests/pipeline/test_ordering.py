"""Versions out of order, and the same event twice: one API write and one status each."""

from __future__ import annotations

import pika

from tests.pipeline.conftest import Pipeline, stock_changed, upserted


def _writes(pipeline: Pipeline, sku: str) -> list[str]:
    """POST/PATCH calls of the test for ``sku`` (by the body's external.id or offer id)."""
    offer_ids = {o["id"] for o in pipeline.offers_of(sku)}
    calls = []
    for r in pipeline.sandbox.requests():
        path = str(r["path"])
        if r["method"] not in ("POST", "PATCH") or not path.startswith("/sale/product-offers"):
            continue
        body = r.get("body") if isinstance(r.get("body"), dict) else {}
        if (body.get("external") or {}).get("id") == sku or path.rsplit("/", 1)[-1] in offer_ids:
            calls.append(str(r["method"]))
    return calls


def test_an_older_version_arriving_late_is_superseded(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    newer = pipeline.publish(upserted(sku, 20, name="Sony WH-1000XM5 headphones newest name"))
    assert pipeline.status_of(newer["event_id"])["status"] == "PUBLISHED"

    older = pipeline.publish(upserted(sku, 10, name="Sony WH-1000XM5 headphones old name"))
    late_stock = pipeline.publish(stock_changed(sku, 15, 1))

    assert pipeline.status_of(older["event_id"])["status"] == "SUPERSEDED"
    assert pipeline.status_of(late_stock["event_id"])["status"] == "SUPERSEDED"
    [offer] = pipeline.offers_of(sku)
    assert offer["name"] == "Sony WH-1000XM5 headphones newest name"
    assert offer["stock"]["available"] == 5
    assert _writes(pipeline, sku) == ["POST"]


def test_a_stock_event_newer_than_the_product_is_merged_into_it(pipeline: Pipeline) -> None:
    # The stock event (version 20) arrives before the product (version 10): the product
    # is published with the newer stock, and neither event is lost.
    sku = pipeline.new_sku()
    stock = pipeline.publish(stock_changed(sku, 20, 2))
    waiting = pipeline.status_of(stock["event_id"])
    assert waiting["status"] == "UNCHANGED"
    assert waiting["errors"][0]["code"] == "WAITING_FOR_PRODUCT"

    product = pipeline.publish(upserted(sku, 10))

    assert pipeline.status_of(product["event_id"])["status"] == "PUBLISHED"
    assert pipeline.offers_of(sku)[0]["stock"]["available"] == 2


def test_the_same_event_twice_makes_one_write_and_one_status(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = upserted(sku, 1)
    pipeline.publish(event)
    assert pipeline.status_of(event["event_id"])["status"] == "PUBLISHED"

    pipeline.publish(event)  # a producer's retry: same event_id
    # The bridge handles deliveries in order: once a later event has its status, the
    # duplicate has been handled too.
    marker = pipeline.publish(upserted(pipeline.new_sku(), 1))
    pipeline.status_of(marker["event_id"])

    assert len(pipeline.statuses.of(event["event_id"])) == 1
    assert len(pipeline.offers_of(sku)) == 1
    assert _writes(pipeline, sku) == ["POST"]


def test_a_duplicate_delivered_while_the_first_is_in_flight_is_not_written_twice(
    pipeline: Pipeline,
) -> None:
    sku = pipeline.new_sku()
    event = upserted(sku, 1)
    properties = pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type="application/json",
        message_id=event["event_id"],
    )
    pipeline.publish(event, properties=properties)
    pipeline.publish(event, properties=properties)

    status = pipeline.status_of(event["event_id"])
    marker = pipeline.publish(upserted(pipeline.new_sku(), 1))
    pipeline.status_of(marker["event_id"])

    assert status["status"] == "PUBLISHED"
    assert len(pipeline.statuses.of(event["event_id"])) == 1
    assert len(pipeline.offers_of(sku)) == 1
    assert _writes(pipeline, sku) == ["POST"]


def test_the_bridge_consumes_again_after_its_queue_was_deleted(pipeline: Pipeline) -> None:
    queue = pipeline.names.ingest_queue
    pipeline.delete_queue(queue)  # RabbitMQ cancels the bridge's consumer

    pipeline.wait_until(
        lambda: bool(pipeline.consumers(queue)), "the bridge to declare and consume it again"
    )
    event = pipeline.publish(upserted(pipeline.new_sku(), 1))

    assert pipeline.status_of(event["event_id"])["status"] == "PUBLISHED"
