"""The RabbitMQ topology of allegro-feed: every exchange, queue and binding, by name.

The names are a fixed contract (DESIGN.md, "Message flow"); each gets the configured
``name_prefix`` in front (``Settings.name``)::

    exchange allegro.products (topic) ──product.upserted|stock|price|deleted──▶ allegro.ingest
    queue    allegro.ingest.rejected          raw bytes of events the bridge could not read
    exchange allegro.status (topic) ──#──▶ allegro.status     one terminal status per event
    Dramatiq queues categorize, enrich, validate, publish, each with its .DQ and .XQ

Two ways to create them, both idempotent and producing the same arguments:

- :func:`declare` on a pika channel, run at start by every process that needs them (the
  ingest bridge, ``allegro-feed worker``, the tests);
- :func:`definitions`, a RabbitMQ definitions document (``rabbitmqctl import_definitions``
  or the management plugin's ``load_definitions``) used by ``deploy/``.

A queue that already exists with other arguments makes RabbitMQ refuse the declaration
(``PRECONDITION_FAILED``, channel closed). The Dramatiq queues are therefore declared with
exactly the arguments Dramatiq itself uses (:func:`step_queue_arguments`), including the
dead-letter TTL of the ``.XQ`` queues (see ``workers.broker`` on changing it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from workers.settings import Settings

__all__ = [
    "EVENT_ROUTING_KEYS",
    "INGEST_BINDING_KEYS",
    "INGEST_QUEUE",
    "ORIGINAL_ROUTING_KEY_HEADER",
    "PRODUCTS_EXCHANGE",
    "REJECTED_AT_HEADER",
    "REJECTED_QUEUE",
    "REJECTED_REASON_HEADER",
    "STATUS_BINDING_KEY",
    "STATUS_EXCHANGE",
    "STATUS_QUEUE",
    "STATUS_QUEUE_MAX_LENGTH",
    "Names",
    "Step",
    "dead_letter_queue",
    "declare",
    "declare_on_own_connection",
    "definitions",
    "delay_queue",
    "step_queue_arguments",
]

#: Headers the ingest bridge adds to an event it parks in the rejected queue (read back by
#: ``allegro-feed deadletters``): why, when (RFC 3339, UTC), and the routing key it came with.
REJECTED_REASON_HEADER = "x-rejected-reason"
REJECTED_AT_HEADER = "x-rejected-at"
ORIGINAL_ROUTING_KEY_HEADER = "x-original-routing-key"

PRODUCTS_EXCHANGE = "allegro.products"
INGEST_QUEUE = "allegro.ingest"
REJECTED_QUEUE = "allegro.ingest.rejected"
STATUS_EXCHANGE = "allegro.status"
STATUS_QUEUE = "allegro.status"
#: The default status queue's cap in the deploy definitions (a policy): with nobody
#: consuming it, the oldest statuses give way instead of RabbitMQ filling its disk. Every
#: status stays in the store's history (``allegro-feed status SKU``); a consumer that must
#: see them all binds a queue of its own to the ``allegro.status`` exchange.
STATUS_QUEUE_MAX_LENGTH = 1_000_000
STATUS_BINDING_KEY = "#"
#: The routing keys upstream publishes with (an event's ``type``).
EVENT_ROUTING_KEYS = ("product.upserted", "product.stock", "product.price", "product.deleted")
#: Bindings of the ingest queue: the four event types, and ``#`` so that an event published
#: with any other key reaches the bridge and is reported REJECTED (and parked) instead of
#: being dropped by RabbitMQ as unroutable, which nobody would notice.
INGEST_BINDING_KEYS = (*EVENT_ROUTING_KEYS, "#")


class Step(StrEnum):
    """The pipeline's steps: each is a Dramatiq actor of this name on a queue of this name."""

    CATEGORIZE = "categorize"
    ENRICH = "enrich"
    VALIDATE = "validate"
    PUBLISH = "publish"


def delay_queue(queue: str) -> str:
    """Dramatiq's retry-delay queue of ``queue`` (``<queue>.DQ``)."""
    return f"{queue}.DQ"


def dead_letter_queue(queue: str) -> str:
    """Dramatiq's dead-letter queue of ``queue`` (``<queue>.XQ``)."""
    return f"{queue}.XQ"


@dataclass(frozen=True)
class Names:
    """Every name of the topology with the prefix applied."""

    products_exchange: str
    ingest_queue: str
    rejected_queue: str
    status_exchange: str
    status_queue: str
    steps: dict[Step, str]

    @classmethod
    def of(cls, settings: Settings) -> Names:
        return cls(
            products_exchange=settings.name(PRODUCTS_EXCHANGE),
            ingest_queue=settings.name(INGEST_QUEUE),
            rejected_queue=settings.name(REJECTED_QUEUE),
            status_exchange=settings.name(STATUS_EXCHANGE),
            status_queue=settings.name(STATUS_QUEUE),
            steps={step: settings.name(step.value) for step in Step},
        )

    def all_queues(self) -> list[str]:
        """Every queue name, the Dramatiq ``.DQ`` and ``.XQ`` queues included."""
        queues = [self.ingest_queue, self.rejected_queue, self.status_queue]
        for queue in self.steps.values():
            queues += [queue, delay_queue(queue), dead_letter_queue(queue)]
        return queues


def step_queue_arguments(queue: str, dead_letter_ttl_ms: int) -> dict[str, dict[str, Any]]:
    """The arguments of a step queue, its ``.DQ`` and ``.XQ``, exactly as Dramatiq's
    ``RabbitmqBroker`` declares them (without ``max_priority``): a rejected (failed)
    message of the queue or its delay queue is dead-lettered to the ``.XQ``, which keeps it
    ``dead_letter_ttl_ms`` milliseconds."""
    dead_letter = {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue(queue),
    }
    return {
        queue: dict(dead_letter),
        delay_queue(queue): dict(dead_letter),
        dead_letter_queue(queue): {"x-message-ttl": dead_letter_ttl_ms},
    }


@dataclass(frozen=True)
class _Plan:
    """Everything of the topology, derived once for :func:`declare` and :func:`definitions`."""

    names: Names
    exchanges: tuple[str, ...]  # all topic, durable
    queues: dict[str, dict[str, Any]]  # name -> arguments; all durable
    bindings: list[tuple[str, str, str]]  # (exchange, queue, routing key)

    @classmethod
    def of(cls, settings: Settings) -> _Plan:
        names = Names.of(settings)
        queues: dict[str, dict[str, Any]] = {
            names.ingest_queue: {},
            names.rejected_queue: {},
            names.status_queue: {},
        }
        for queue in names.steps.values():
            queues.update(step_queue_arguments(queue, settings.dead_letter_ttl_ms))
        bindings = [(names.products_exchange, names.ingest_queue, k) for k in INGEST_BINDING_KEYS]
        bindings.append((names.status_exchange, names.status_queue, STATUS_BINDING_KEY))
        return cls(names, (names.products_exchange, names.status_exchange), queues, bindings)


def declare(channel: Any, settings: Settings) -> Names:
    """Declare the whole topology on ``channel`` (a pika ``BlockingChannel``); idempotent.

    Raises pika's ``ChannelClosedByBroker`` (406 PRECONDITION_FAILED) when a queue exists
    with other arguments, e.g. an ``.XQ`` declared with another dead-letter TTL.
    """
    plan = _Plan.of(settings)
    for exchange in plan.exchanges:
        channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
    for queue, arguments in plan.queues.items():
        channel.queue_declare(queue=queue, durable=True, arguments=arguments or None)
    for exchange, queue, key in plan.bindings:
        channel.queue_bind(queue=queue, exchange=exchange, routing_key=key)
    return plan.names


def declare_on_own_connection(parameters: Any, settings: Settings) -> Names:
    """:func:`declare` on a connection of its own to ``parameters`` (pika connection
    parameters), closed at once. Raises pika's errors (RabbitMQ unreachable, 406)."""
    import pika

    connection = pika.BlockingConnection(parameters)
    try:
        return declare(connection.channel(), settings)
    finally:
        connection.close()


def definitions(
    settings: Settings, *, vhost: str = "/", status_max_length: int = STATUS_QUEUE_MAX_LENGTH
) -> dict[str, Any]:
    """The topology as a RabbitMQ definitions document (exchanges, queues, bindings, and
    the policy that caps the default status queue: :data:`STATUS_QUEUE_MAX_LENGTH`).

    Load it with ``rabbitmqctl import_definitions FILE`` or the management plugin's
    ``load_definitions``; it creates what :func:`declare` creates, with the same arguments.
    """
    plan = _Plan.of(settings)
    exchanges = [
        {
            "name": name,
            "vhost": vhost,
            "type": "topic",
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        }
        for name in plan.exchanges
    ]
    queues = [
        {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": args}
        for name, args in plan.queues.items()
    ]
    bindings = [
        {
            "source": exchange,
            "vhost": vhost,
            "destination": queue,
            "destination_type": "queue",
            "routing_key": key,
            "arguments": {},
        }
        for exchange, queue, key in plan.bindings
    ]
    policies = [
        {
            "vhost": vhost,
            "name": f"{plan.names.status_queue}-cap",
            "pattern": f"^{re.escape(plan.names.status_queue)}$",
            "apply-to": "queues",
            "priority": 0,
            "definition": {"max-length": status_max_length, "overflow": "drop-head"},
        }
    ]
    return {
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
        "policies": policies,
    }
