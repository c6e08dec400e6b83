"""The topology: names with the prefix, declare() and definitions() agree with each other and
with the arguments Dramatiq itself declares its queues with."""

from __future__ import annotations

from typing import Any

from dramatiq.brokers.rabbitmq import RabbitmqBroker

from workers.settings import Settings
from workers.topology import (
    EVENT_ROUTING_KEYS,
    Names,
    Step,
    declare,
    definitions,
    step_queue_arguments,
)


class RecordingChannel:
    def __init__(self) -> None:
        self.exchanges: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.bindings: list[tuple[str, str, str]] = []

    def exchange_declare(self, exchange: str, exchange_type: str, durable: bool) -> None:
        self.exchanges[exchange] = {"type": exchange_type, "durable": durable}

    def queue_declare(self, queue: str, durable: bool, arguments: dict[str, Any] | None) -> None:
        self.queues[queue] = {"durable": durable, "arguments": arguments or {}}

    def queue_bind(self, queue: str, exchange: str, routing_key: str) -> None:
        self.bindings.append((exchange, queue, routing_key))


def test_every_name_gets_the_prefix() -> None:
    names = Names.of(Settings(name_prefix="staging."))

    assert names.products_exchange == "staging.allegro.products"
    assert names.ingest_queue == "staging.allegro.ingest"
    assert names.rejected_queue == "staging.allegro.ingest.rejected"
    assert names.status_exchange == names.status_queue == "staging.allegro.status"
    assert names.steps[Step.PUBLISH] == "staging.publish"
    assert len(names.all_queues()) == 3 + 4 * 3
    assert "staging.categorize.DQ" in names.all_queues()
    assert "staging.categorize.XQ" in names.all_queues()


def test_declare_creates_what_the_definitions_describe() -> None:
    settings = Settings(name_prefix="p.", dead_letter_ttl_ms=3_600_000)
    channel = RecordingChannel()

    declare(channel, settings)
    document = definitions(settings)

    assert {e["name"]: e["type"] for e in document["exchanges"]} == {
        name: spec["type"] for name, spec in channel.exchanges.items()
    }
    assert all(spec["durable"] for spec in channel.exchanges.values())
    assert {q["name"]: q["arguments"] for q in document["queues"]} == {
        name: spec["arguments"] for name, spec in channel.queues.items()
    }
    assert all(q["durable"] and not q["auto_delete"] for q in document["queues"])
    assert sorted(
        (b["source"], b["destination"], b["routing_key"]) for b in document["bindings"]
    ) == sorted(channel.bindings)
    assert {key for _ex, queue, key in channel.bindings if queue == "p.allegro.ingest"} == {
        *EVENT_ROUTING_KEYS,
        "#",  # unknown keys reach the bridge and are rejected, not lost unroutable
    }
    assert ("p.allegro.status", "p.allegro.status", "#") in channel.bindings
    assert channel.queues["p.publish.XQ"]["arguments"] == {"x-message-ttl": 3_600_000}


def test_step_queues_carry_exactly_dramatiqs_arguments() -> None:
    # A different argument would make RabbitMQ refuse Dramatiq's own declaration.
    broker = RabbitmqBroker(url="amqp://127.0.0.1:1")
    arguments = step_queue_arguments("x.publish", 123)

    assert arguments["x.publish"] == broker._build_queue_arguments("x.publish")
    assert arguments["x.publish.DQ"] == broker._build_queue_arguments("x.publish")
    assert arguments["x.publish.XQ"] == {"x-message-ttl": 123}
