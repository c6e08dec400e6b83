"""Statuses published in batches: one AMQP transaction, on a real RabbitMQ."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pika
import pytest

from schemas.status import Status
from workers.status import ChannelPublisher, StatusReporter, status_for


class RecordingStore:
    """The reporter's store part: statuses kept in memory, marks counted."""

    def __init__(self) -> None:
        self.added: list[str] = []
        self.marked: list[str] = []

    def add_status(self, message: object) -> bool:
        self.added.append(str(message.event_id))  # type: ignore[attr-defined]
        return True

    def add_statuses(self, messages: Sequence[object]) -> list[bool]:
        return [self.add_status(message) for message in messages]

    def mark_status_published(self, event_id: str, status: Status) -> None:
        self.marked.append(event_id)

    def mark_statuses_published(self, published: Sequence[tuple[str, Status]]) -> None:
        for event_id, status in published:
            self.mark_status_published(event_id, status)


@pytest.fixture
def queue(amqp_url: str) -> Iterator[tuple[Any, Any, str]]:
    """A fresh durable queue bound to a topic exchange of the same name (``offer.#``)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    name = f"test.status-batch.{uuid.uuid4().hex[:8]}"
    channel.exchange_declare(name, "topic", auto_delete=True)
    channel.queue_declare(name, durable=True)
    channel.queue_bind(name, name, routing_key="offer.#")
    yield connection, channel, name
    channel.queue_delete(name)
    channel.exchange_delete(name)
    connection.close()


def _count(channel: Any, name: str) -> int:
    return int(channel.queue_declare(name, durable=True, passive=True).method.message_count)


def test_a_deferred_block_publishes_its_statuses_in_one_transaction(
    queue: tuple[Any, Any, str],
) -> None:
    connection, channel, name = queue
    store = RecordingStore()
    reporter = StatusReporter(store, ChannelPublisher(connection.channel()), name)  # type: ignore[arg-type]
    identity = {"sku": "S-1", "account": "default", "version": 2}

    with reporter.deferred():
        for n in range(3):
            reporter.report(
                status_for({**identity, "event_id": f"ev-{n}"}, Status.UPDATED, offer_id="77")
            )
        assert _count(channel, name) == 0  # recorded, not published
        assert store.marked == []

    got = []
    for _ in range(3):
        method, properties, _body = channel.basic_get(name, auto_ack=True)
        assert method is not None and method.routing_key == "offer.updated"
        got.append(properties.message_id)
    assert got == ["ev-0:UPDATED", "ev-1:UPDATED", "ev-2:UPDATED"]
    assert store.marked == ["ev-0", "ev-1", "ev-2"]  # marked once RabbitMQ committed them


def test_publish_batch_commits_every_message_at_once(queue: tuple[Any, Any, str]) -> None:
    connection, channel, name = queue
    publisher = ChannelPublisher(connection.channel())
    props = pika.BasicProperties(delivery_mode=2, message_id="m")
    publisher.publish_batch([("", name, f"{n}".encode(), props) for n in range(5)])

    bodies = []
    for _ in range(5):
        method, _props, body = channel.basic_get(name, auto_ack=True)
        assert method is not None
        bodies.append(body)
    assert bodies == [b"0", b"1", b"2", b"3", b"4"]
    publisher.publish_batch([("", name, b"again", props), ("", name, b"and again", props)])
    assert _count(channel, name) == 2
