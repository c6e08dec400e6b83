"""The Dramatiq broker, and the messages it carries between the pipeline's steps.

:func:`create_broker` builds the one ``RabbitmqBroker`` of a process: publisher confirms on
(an enqueue returns only once RabbitMQ has taken the message), explicit heartbeat and
blocked-connection timeout, connection retries, the dead-letter retention from the settings
and the middleware of :mod:`workers.middleware`.

Between the steps travels a :class:`Payload`, a small JSON object::

    {"event_id", "account", "sku", "version",      the event it is about
     "changed": ["content", "stock", ...],          the parts of the SKU this event changed
     "digests": {"content": "…", "stock": …},       those parts as recorded (see below)
     "mode": "content" | "fast" | "delete",         which path it is on
     "category_id": "165", "category_source": …,    added by categorize
     "enriched": {...},                             added by enrich (workers.domain Enriched)
     "body": {...}, "fingerprint": "…"}             added by validate: the offer body

The actors always read the SKU's desired state from the store, never from the message; the
``digests`` (short hashes of each part of the state when the event was handed on, taken by
the ingest bridge) let a later step tell whether newer events have replaced what this event
brought (:func:`is_superseded`), without per-part versions in the message. Which step an
event starts with is decided here too (:func:`first_step`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import pika
from dramatiq.brokers import rabbitmq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import (
    AgeLimit,
    CurrentMessage,
    Middleware,
    ShutdownNotifications,
    TimeLimit,
)

from schemas.events import EventType, ProductEvent
from workers._json import DramatiqEncoder
from workers.domain.model import ProductState
from workers.middleware import LogContext, PipelineRetries, metrics_middleware
from workers.settings import Settings
from workers.topology import Step

__all__ = [
    "CONNECTION_ATTEMPTS",
    "CONNECTION_RETRY_DELAY_S",
    "MODES",
    "Payload",
    "connection_parameters",
    "create_broker",
    "event_parts",
    "first_step",
    "is_superseded",
    "part_digests",
    "send_step",
    "step_message",
]

#: Connection attempts of one connect (pika retries them itself), and the pause between.
CONNECTION_ATTEMPTS = 5
CONNECTION_RETRY_DELAY_S = 1.0
#: The paths a payload can be on: the content pipeline, the stock/price fast path, a delete.
MODES = ("content", "fast", "delete")


def connection_parameters(settings: Settings, *, name: str = "allegro-feed") -> pika.URLParameters:
    """pika parameters of ``settings.amqp_url`` with the heartbeat, blocked-connection
    timeout and connection retries of the settings (they win over the URL's query)."""
    params = pika.URLParameters(settings.amqp_url)
    params.heartbeat = settings.amqp_heartbeat_s
    params.blocked_connection_timeout = settings.amqp_blocked_timeout_s
    params.connection_attempts = CONNECTION_ATTEMPTS
    params.retry_delay = CONNECTION_RETRY_DELAY_S
    params.client_properties = {"connection_name": name}
    return params


def create_broker(
    settings: Settings, *, extra_middleware: list[Middleware] | None = None
) -> RabbitmqBroker:
    """The Dramatiq broker of this process; opens no connection until first used.

    ``extra_middleware`` is placed before ``Retries`` (so its ``after_*`` hooks run after
    Retries has decided; see :mod:`workers.middleware`).
    """
    # Dramatiq declares every .XQ with x-message-ttl = this module global, read when the
    # queue is declared. RabbitMQ cannot change the arguments of an existing queue: when an
    # .XQ already exists with another TTL, the declaration fails with PRECONDITION_FAILED
    # (406), Dramatiq's declare gives up with ConnectionClosed and nothing can be enqueued
    # to that step. To change the retention, drain (replay) the .XQ queues, delete them and
    # restart, or leave them and set a `message-ttl` policy (RabbitMQ applies the lower of
    # policy and argument, so a policy can shorten the retention but never lengthen it).
    rabbitmq.DEAD_MESSAGE_TTL = settings.dead_letter_ttl_ms
    # Payloads are encoded and decoded at every hop (the content path carries the product,
    # the enriched data and the offer body): orjson does it several times faster, and reads
    # and writes the same JSON as Dramatiq's own encoder.
    dramatiq.set_encoder(DramatiqEncoder())
    middleware: list[Middleware] = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        CurrentMessage(),
        LogContext(),
        *(extra_middleware or []),
        PipelineRetries(
            max_retries=settings.actor_max_retries,
            min_backoff=settings.actor_min_backoff_ms,
            max_backoff=settings.actor_max_backoff_ms,
        ),
        *metrics_middleware(settings),
    ]
    broker = RabbitmqBroker(confirm_delivery=True, url=settings.amqp_url, middleware=middleware)
    # The URL form cannot carry our heartbeat and timeouts from the settings; the broker
    # connects lazily with whatever `parameters` holds at that moment.
    broker.parameters = connection_parameters(settings, name="allegro-feed dramatiq")
    return broker


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def part_digests(state: ProductState) -> dict[str, str]:
    """A short hash of each part of the SKU's desired state (``content``: every product
    field but stock and price; ``stock``; ``price``; ``deleted``)."""
    product = state.product
    content = {key: value for key, value in product.items() if key not in ("stock", "price")}
    return {
        "content": _digest(content),
        "stock": _digest(product.get("stock")),
        "price": _digest(product.get("price")),
        "deleted": "1" if state.deleted else "0",
    }


@dataclass(frozen=True)
class Payload:
    """The message between the steps (see the module docstring for the JSON shape)."""

    event_id: str
    account: str
    sku: str
    version: int
    changed: tuple[str, ...]
    digests: dict[str, str] = field(default_factory=dict)
    mode: str = "content"
    category_id: str | None = None
    category_source: str | None = None
    enriched: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"payload mode must be one of {MODES}, not {self.mode!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object sent to the next actor (fields that are None left out).

        Its nested objects (``digests``, ``enriched``, ``body``) are the payload's own, not
        copies: the message is encoded when it is enqueued, and nobody changes them."""
        data = {name: getattr(self, name) for name in _PAYLOAD_FIELDS}
        data["changed"] = list(self.changed)
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Payload:
        """Read a payload; unknown keys are ignored (a newer sender may add some)."""
        values = {key: value for key, value in data.items() if key in _PAYLOAD_FIELD_SET}
        values["changed"] = tuple(values.get("changed") or ())
        values["digests"] = dict(values.get("digests") or {})
        return cls(**values)

    def replace(self, **changes: Any) -> Payload:
        return dataclasses.replace(self, **changes)

    def identity(self) -> dict[str, Any]:
        """``event_id``, ``sku``, ``account``, ``version``: what a status message names."""
        return {
            "event_id": self.event_id,
            "sku": self.sku,
            "account": self.account,
            "version": self.version,
        }


#: The payload's field names, in order (read once, not per message).
_PAYLOAD_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Payload))
_PAYLOAD_FIELD_SET = frozenset(_PAYLOAD_FIELDS)


def is_superseded(state: ProductState, payload: Payload, *, content_path: bool) -> bool:
    """Whether newer events have taken over everything ``payload`` would publish.

    Only an event older than the state's version can be superseded: when a newer delete
    ended the SKU, when every part it changed differs now from what was recorded with it,
    or (``content_path``) when the content changed after it was handed on.
    """
    if state.version <= payload.version:
        return False
    if state.deleted and payload.mode != "delete":
        return True
    now = part_digests(state)
    if content_path and payload.digests.get("content") not in (None, now["content"]):
        return True
    parts = [part for part in payload.changed if part in now]
    return bool(parts) and all(payload.digests.get(part) != now[part] for part in parts)


_PRICE_STOCK = frozenset({"stock", "price"})


def event_parts(event: ProductEvent) -> frozenset[str]:
    """The parts of a SKU's state an event carries (its ``changed`` when it changed all)."""
    if event.type is EventType.UPSERTED:
        return frozenset({"content", "stock", "price"})
    if event.type is EventType.DELETED:
        return frozenset({"deleted"})
    return frozenset({"stock"} if event.type is EventType.STOCK else {"price"})


def first_step(
    event_type: EventType, changed: frozenset[str], has_offer: Callable[[], bool]
) -> tuple[Step, str]:
    """The first step and payload mode of an event: ``(publish, "delete")`` for a delete,
    ``(publish, "fast")`` when only stock and/or price changed and the SKU has an offer
    (``has_offer`` is asked only then), else ``(categorize, "content")``."""
    if event_type is EventType.DELETED:
        return Step.PUBLISH, "delete"
    if changed and changed <= _PRICE_STOCK and has_offer():
        return Step.PUBLISH, "fast"
    return Step.CATEGORIZE, "content"


def step_message(settings: Settings, step: Step, payload: Payload) -> dramatiq.Message[Any]:
    """The Dramatiq message that runs ``step`` on ``payload`` (queue name prefixed)."""
    return dramatiq.Message(
        queue_name=settings.name(step.value),
        actor_name=step.value,
        args=(payload.to_dict(),),
        kwargs={},
        options={},
    )


def send_step(
    broker: dramatiq.Broker,
    settings: Settings,
    step: Step,
    payload: Payload,
    *,
    delay_ms: int | None = None,
) -> dramatiq.Message[Any]:
    """Enqueue ``step`` for ``payload``; returns once RabbitMQ confirmed the message.

    Raises ``dramatiq.errors.ConnectionClosed`` when RabbitMQ stays unreachable after
    Dramatiq's own reconnect attempts.
    """
    return broker.enqueue(step_message(settings, step, payload), delay=delay_ms)
