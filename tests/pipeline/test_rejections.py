"""Bad input is parked with its bytes and headers and reported REJECTED with the field and
the fix; an offer Allegro refuses (422) is REJECTED with Allegro's own error items."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pika
import pytest

from tests.pipeline.conftest import Pipeline, upserted


def _properties(message_id: str, **headers: Any) -> pika.BasicProperties:
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type="application/json",
        message_id=message_id,
        headers=headers or None,
    )


def _readable_event_id(body: bytes) -> str | None:
    """The event_id a REJECTED status names: the body's, when it can be read."""
    if len(body) > 1_000_000:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("event_id") if isinstance(data, dict) else None


def _parked(pipeline: Pipeline, message_id: str) -> tuple[pika.BasicProperties, bytes]:
    """The parked message with ``message_id`` (others parked meanwhile are dropped)."""
    found: list[tuple[pika.BasicProperties, bytes]] = []

    def take() -> bool:
        message = pipeline.get_one(pipeline.names.rejected_queue)
        if message is not None and message[1].message_id == message_id:
            found.append((message[1], message[2]))
        return bool(found)

    pipeline.wait_until(take, f"the parked message {message_id}")
    return found[0]


def _bad_events(sku: str) -> list[tuple[str, bytes, str, str]]:
    """(case, body, routing key, the field the REJECTED status must name)."""
    good = upserted(sku, 1)
    wrong_type = {**good, "version": "12"}
    unknown_type = {**good, "type": "product.renamed"}
    valid_upsert = good
    missing = {k: v for k, v in good.items() if k != "price"}
    long_sku = {**good, "sku": "S" * 101}
    too_big = {**good, "description": "x" * 1_100_000}
    return [
        ("not utf-8", b"\xff\xfe{not text", "product.upserted", ""),
        ("not json", b"{this is not json", "product.upserted", ""),
        ("wrong type", json.dumps(wrong_type).encode(), "product.upserted", "version"),
        ("unknown type", json.dumps(unknown_type).encode(), "product.renamed", "type"),
        ("missing field", json.dumps(missing).encode(), "product.upserted", "price"),
        ("sku too long", json.dumps(long_sku).encode(), "product.upserted", "sku"),
        ("too large", json.dumps(too_big).encode(), "product.upserted", ""),
        # A valid body under a key that is no event type: reaches the bridge through the
        # queue's "#" binding instead of being dropped unroutable.
        ("unknown routing key", json.dumps(valid_upsert).encode(), "product.update", "routing_key"),
    ]


@pytest.mark.parametrize("case", range(8), ids=[c[0] for c in _bad_events("x")])
def test_bad_input_is_parked_and_rejected(pipeline: Pipeline, case: int) -> None:
    sku = pipeline.new_sku()
    _name, body, routing_key, field = _bad_events(sku)[case]
    message_id = f"msg-{uuid.uuid4()}"
    key = routing_key
    pipeline.publish(body, routing_key=key, properties=_properties(message_id, source="erp"))

    status = pipeline.status_of(_readable_event_id(body) or message_id)

    assert status["status"] == "REJECTED"
    assert status["errors"], status
    if field:
        assert any(e["path"] == field for e in status["errors"]), status["errors"]
    assert all(e["userMessage"] for e in status["errors"])
    # The raw bytes are parked, with the original properties and the reason.
    properties, parked_body = _parked(pipeline, message_id)
    assert parked_body == body
    assert properties.message_id == message_id
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == pika.DeliveryMode.Persistent.value
    headers = properties.headers
    assert headers["source"] == "erp"
    assert headers["x-original-routing-key"] == key
    assert headers["x-rejected-reason"]
    assert datetime.fromisoformat(headers["x-rejected-at"].replace("Z", "+00:00"))
    assert pipeline.offers_of(sku) == []


def test_an_unreadable_event_is_reported_under_its_message_id(pipeline: Pipeline) -> None:
    message_id = f"msg-{uuid.uuid4()}"
    pipeline.publish(b"[1, 2]", routing_key="product.stock", properties=_properties(message_id))

    status = pipeline.status_of(message_id)

    assert status["status"] == "REJECTED"
    assert status["sku"] is None and status["version"] is None
    assert status["errors"][0]["code"] == "EVENT_NOT_OBJECT"
    assert _parked(pipeline, message_id)[1] == b"[1, 2]"


def test_an_offer_allegro_refuses_is_rejected_with_allegros_errors(pipeline: Pipeline) -> None:
    sku = pipeline.new_sku()
    event = upserted(sku, 1)
    # A catalogue product that does not exist: our rules cannot know, Allegro answers 422.
    event["allegro"] = {**event["allegro"], "product_id": "00000000-0000-4000-8000-000000000000"}
    pipeline.publish(event)

    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "REJECTED"
    codes = [e["code"] for e in status["errors"]]
    assert "ProductNotFoundException" in codes
    assert status["trace_id"]
    assert pipeline.offers_of(sku) == []
    assert pipeline.store.get_offer("default", sku) is None


def test_a_product_that_breaks_allegros_rules_is_rejected_before_any_write(
    pipeline: Pipeline,
) -> None:
    sku = pipeline.new_sku()
    event = upserted(sku, 1, allegro={"category_id": "66887"})  # not a leaf category

    pipeline.publish(event)
    status = pipeline.status_of(event["event_id"])

    assert status["status"] == "REJECTED"
    assert status["errors"][0]["code"]
    assert pipeline.offers_of(sku) == []
