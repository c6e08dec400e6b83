"""The README's publisher example really publishes an event the contract accepts.

The example is taken from the README as written and run against the local RabbitMQ, with
only the exchange name swapped for a private one (so the test cannot feed a real pipeline).
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pika
import pytest

from schemas.events import ProductStockChanged, parse_event

README = Path(__file__).resolve().parents[2] / "README.md"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"

pytestmark = pytest.mark.integration


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"```python\n(.*?)```", text, re.S)
    assert found, "the README has no python example"
    return found.group(1)


def _channel() -> pika.adapters.blocking_connection.BlockingChannel:
    try:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except pika.exceptions.AMQPConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"RabbitMQ is not reachable at 127.0.0.1:5672 in CI: {exc}")
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")
    return connection.channel()


def test_readme_example_publishes_a_valid_persistent_event() -> None:
    code = _example()
    assert len(code.strip().splitlines()) <= 15
    exchange = f"test-readme-{uuid.uuid4().hex[:8]}.allegro.products"
    channel = _channel()
    channel.exchange_declare(exchange, "topic", durable=False, auto_delete=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, "product.#")
    try:
        exec(compile(code.replace('"allegro.products"', repr(exchange)), "README", "exec"), {})  # noqa: S102
        method, props, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None, "nothing arrived"
        event = parse_event(body, routing_key=method.routing_key)
        assert isinstance(event, ProductStockChanged)
        assert props.delivery_mode == 2
        assert props.content_type == "application/json"
        assert props.message_id == event.event_id
    finally:
        channel.exchange_delete(exchange)
        channel.connection.close()
