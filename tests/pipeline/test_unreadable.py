"""Through the real bridge, RabbitMQ and PostgreSQL: bodies the parser chokes on, or whose
values PostgreSQL refuses, end REJECTED once, parked once, without stalling the events
behind them; a corrected event re-sent under a REJECTED event_id is parked, not merged."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pika
import pytest

from tests.pipeline.conftest import Pipeline, upserted


@pytest.fixture(scope="module")
def store_url(postgres_store_url: str) -> str:
    return postgres_store_url


def _properties(message_id: str, **extra: Any) -> pika.BasicProperties:
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type=extra.pop("content_type", "application/json"),
        message_id=message_id,
        **extra,
    )


def _marker(pipeline: Pipeline) -> str:
    """Publish an event queued behind the others that needs no Allegro call (it is
    rejected at ingest) and wait for its status: everything before it was handled."""
    message_id = f"marker-{uuid.uuid4()}"
    pipeline.publish(b"[1]", routing_key="product.stock", properties=_properties(message_id))
    assert pipeline.status_of(message_id)["status"] == "REJECTED"
    return message_id


def _parked_with(pipeline: Pipeline, message_id: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Every message parked so far under ``message_id`` (the queue is drained)."""
    found = []
    while (message := pipeline.get_one(pipeline.names.rejected_queue)) is not None:
        if message[1].message_id == message_id:
            found.append((message[1], message[2]))
    return found


def _bad_bodies(sku: str) -> list[tuple[str, bytes, str | None, str]]:
    """(case, body, the event_id its status names or None for the message_id, text)."""
    good = upserted(sku, 1)
    text = json.dumps(good)
    deep = text[:-1] + ', "extra": ' + "[" * 50_000 + "]" * 50_000 + "}"
    big = text.replace('"version": 1,', '"version": 1' + "0" * 5_000 + ",")
    infinite = text.replace('"attributes": {}', '"attributes": {"weight_kg": 1e400}')
    nul_name = json.dumps({**good, "name": "Head\u0000phones X200 wireless black"})
    nul_sku = json.dumps({**good, "sku": "AB\u0000C"})
    return [
        ("deep nesting", deep.encode(), None, "deeper than"),  # unreadable: message_id
        ("huge integer", big.encode(), good["event_id"], "digits"),
        ("1e400", infinite.encode(), good["event_id"], "finite"),
        ("NUL in name", nul_name.encode(), good["event_id"], "NUL"),
        ("NUL in sku", nul_sku.encode(), good["event_id"], "NUL"),
    ]


@pytest.mark.parametrize("case", range(5), ids=[c[0] for c in _bad_bodies("x")])
def test_a_body_the_parser_or_the_store_cannot_take_is_rejected_once(
    pipeline: Pipeline, case: int
) -> None:
    sku = pipeline.new_sku()
    _name, body, event_id, text = _bad_bodies(sku)[case]
    message_id = f"msg-{uuid.uuid4()}"
    delivered_before = pipeline.bridge.delivered
    pipeline.publish(body, routing_key="product.upserted", properties=_properties(message_id))
    _marker(pipeline)  # queued behind it
    status = pipeline.status_of(event_id or message_id)

    assert status["status"] == "REJECTED"
    assert any(text in e["message"] for e in status["errors"]), status["errors"]
    assert all(e["userMessage"] for e in status["errors"])
    assert len(pipeline.statuses.of(event_id or message_id)) == 1
    # Handled once each: no requeue of the bad body (that stalled the queue behind it).
    pipeline.wait_until(
        lambda: pipeline.bridge.delivered - delivered_before >= 2, "both deliveries settled"
    )
    assert pipeline.bridge.delivered - delivered_before == 2
    [(properties, parked)] = _parked_with(pipeline, message_id)
    assert parked == body
    assert "internal error" not in properties.headers["x-rejected-reason"]
    assert pipeline.offers_of(sku) == []


def test_a_compressed_body_names_its_content_encoding(pipeline: Pipeline) -> None:
    event = upserted(pipeline.new_sku(), 1)
    message_id = event["event_id"]
    body = gzip.compress(json.dumps(event).encode())
    pipeline.publish(
        body,
        routing_key="product.upserted",
        properties=_properties(message_id, content_encoding="gzip"),
    )

    status = pipeline.status_of(message_id)

    assert status["status"] == "REJECTED"
    assert status["errors"][0]["path"] == "content_encoding"
    assert "uncompressed UTF-8 JSON" in status["errors"][0]["userMessage"]
    assert [b for _p, b in _parked_with(pipeline, message_id)] == [body]


def test_a_corrected_event_under_a_rejected_event_id_is_parked_not_merged(
    pipeline: Pipeline,
) -> None:
    sku = pipeline.new_sku()
    bad = upserted(sku, 1, stock={"available": "3", "unit": "UNIT"})
    pipeline.publish(bad)
    assert pipeline.status_of(bad["event_id"])["status"] == "REJECTED"

    corrected = {**bad, "stock": {"available": 3, "unit": "UNIT"}}
    pipeline.publish(corrected)
    _marker(pipeline)

    assert len(pipeline.statuses.of(bad["event_id"])) == 1  # exactly one terminal status
    assert pipeline.store.product_state("default", sku) is None  # not merged
    assert pipeline.offers_of(sku) == []
    parked = _parked_with(pipeline, bad["event_id"])
    assert [json.loads(b)["stock"]["available"] for _p, b in parked] == ["3", 3]
    reason = parked[-1][0].headers["x-rejected-reason"]
    assert "already used" in reason and "new event_id" in reason
