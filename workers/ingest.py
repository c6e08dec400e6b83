"""The ingest bridge: upstream events from ``allegro.ingest`` into the pipeline.

For each delivery (manual acks, ``prefetch = ingest_prefetch``):

1. :func:`~schemas.events.parse_event`. A bad event (not UTF-8 or JSON, wrong types,
   missing fields, unknown type, too large, ...) is parked as it came in
   ``allegro.ingest.rejected`` (original properties and headers plus ``x-rejected-reason``,
   ``x-rejected-at``, ``x-original-routing-key``; publisher confirms) and reported
   ``REJECTED`` with every field error and its fix, then acked.
2. ``store.record_event``: SUPERSEDED → status ``SUPERSEDED``, ack. DUPLICATE already handed
   on → ack (no second API write, no second status). NEW, or DUPLICATE never handed on (a
   crash came between) → 3.
3. The first step is enqueued through the Dramatiq broker (confirmed), the event marked
   dispatched, then acked. Deletes go to ``publish``; a change of only stock and/or price
   of a SKU that has an offer goes to ``publish`` directly (the fast path, never behind
   content work); everything else to ``categorize``.

Nothing is acked before its outcome is durable, so a crash or a lost connection loses
nothing: RabbitMQ redelivers the unacked messages and steps 2-3 are idempotent. A store or
broker failure is not the event's fault: the message is nacked back to the queue after a
growing pause (the bridge never crashes on one message); one that keeps failing for
another reason (a bug) is parked after a few attempts and reported ``FAILED``. A lost
connection is re-opened with backoff; SIGTERM/SIGINT stop the bridge after the current
message.

Run it with ``python -m workers.ingest`` (``allegro-feed worker`` does).
"""

from __future__ import annotations

import hashlib
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from types import FrameType
from typing import Any

import pika
import pika.exceptions
import structlog
from dramatiq.errors import BrokerError

from schemas.errors import EventError
from schemas.events import ProductEvent, parse_event
from schemas.status import Status, StatusError, StatusMessage
from workers.broker import (
    Payload,
    connection_parameters,
    create_broker,
    event_parts,
    first_step,
    part_digests,
    send_step,
)
from workers.settings import Settings
from workers.status import ChannelPublisher, Publisher, StatusReporter
from workers.store import RecordOutcome, RecordResult, Store, StoreUnavailable, open_store
from workers.topology import Names, Step, declare

__all__ = [
    "IngestBridge",
    "IngestHandler",
    "Outcome",
    "main",
    "parked_properties",
]

# Named, not __name__: the module also runs as __main__ (python -m workers.ingest).
log = structlog.get_logger("workers.ingest")

#: Longest reason text put into the ``x-rejected-reason`` header, characters.
MAX_REASON_CHARS = 4_000
#: How often the consumer loop wakes up without messages to check for a stop, s.
IDLE_CHECK_S = 0.5
#: Pause before a failed message is nacked back: doubled per consecutive failure, s.
FAILURE_BACKOFF_S = (0.5, 10.0)
#: Pause before reconnecting after a lost connection: doubled per failed attempt, s.
RECONNECT_BACKOFF_S = (1.0, 30.0)
#: A delivery that fails this often with an error that is no outage (a bug) is parked.
MAX_INTERNAL_FAILURES = 5
#: Outages: the message is requeued for as long as they last.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (StoreUnavailable, BrokerError, OSError)


class Outcome(StrEnum):
    """What the bridge did with one delivery."""

    REJECTED = "rejected"  # unreadable: parked and reported
    SUPERSEDED = "superseded"  # older than what the store holds: reported
    DUPLICATE = "duplicate"  # handed on before: nothing to do
    DISPATCHED = "dispatched"  # handed on to the first step


def parked_properties(
    properties: pika.BasicProperties, routing_key: str, reason: str, *, now: datetime | None = None
) -> pika.BasicProperties:
    """The original properties and headers of a parked event plus ``x-rejected-reason``,
    ``x-rejected-at`` (RFC 3339, UTC) and ``x-original-routing-key``; persistent."""
    headers: dict[str, Any] = dict(properties.headers or {})
    headers["x-rejected-reason"] = reason[:MAX_REASON_CHARS]
    headers["x-rejected-at"] = (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    headers["x-original-routing-key"] = routing_key
    return pika.BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers,
        delivery_mode=pika.DeliveryMode.Persistent,
        priority=properties.priority,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        expiration=None,  # a parked event stays until it is replayed or purged
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.type,
        user_id=None,  # RabbitMQ checks user_id against the publishing connection's user
        app_id=properties.app_id,
    )


class IngestHandler:
    """The bridge's decision for one delivery, independent of the consumer connection.

    ``publisher`` publishes statuses and parked events (confirmed); ``enqueue`` hands a
    payload to a step and returns once the broker confirmed it.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        publisher: Publisher,
        enqueue: Callable[[Step, Payload], object],
    ) -> None:
        self.settings = settings
        self.store = store
        self.names = Names.of(settings)
        self.publisher = publisher
        self.reporter = StatusReporter(store, publisher, self.names.status_exchange)
        self.enqueue = enqueue

    def handle(self, body: bytes, routing_key: str, properties: pika.BasicProperties) -> Outcome:
        """Decide and act on one delivery; the caller acks when this returns. Raises only
        for store and broker failures (the caller nacks the message back then)."""
        try:
            event = parse_event(
                body, routing_key=routing_key, max_bytes=self.settings.max_event_bytes
            )
        except EventError as error:
            self.reject(body, routing_key, properties, error)
            return Outcome.REJECTED
        structlog.contextvars.bind_contextvars(
            event_id=event.event_id, sku=event.sku, account=event.account
        )
        for note in event.notes:
            log.warning("ingest.event_note", note=str(note), routing_key=routing_key)
        result = self.store.record_event(event)
        if result.outcome is RecordOutcome.SUPERSEDED:
            self.reporter.report(StatusMessage.for_event(event, Status.SUPERSEDED))
            log.info("ingest.superseded", version=event.version)
            return Outcome.SUPERSEDED
        if result.outcome is RecordOutcome.DUPLICATE and result.dispatched:
            log.info("ingest.duplicate", version=event.version)
            return Outcome.DUPLICATE
        self.dispatch(event, result)
        return Outcome.DISPATCHED

    def dispatch(self, event: ProductEvent, result: RecordResult) -> None:
        """Hand the event on to its first step, then mark it dispatched."""
        changed = result.changed or event_parts(event)
        state = result.state or self.store.product_state(event.account, event.sku)
        if state is None:
            raise LookupError(f"the store holds no state for {event.account}/{event.sku}")
        step, mode = first_step(
            event.type,
            changed,
            lambda: self.store.get_offer(event.account, event.sku) is not None,
        )
        payload = Payload(
            event_id=event.event_id,
            account=event.account,
            sku=event.sku,
            version=event.version,
            changed=tuple(sorted(changed)),
            digests=part_digests(state),
            mode=mode,
        )
        self.enqueue(step, payload)
        self.store.mark_dispatched(event.event_id)
        log.info(
            "ingest.dispatched",
            to=step.value,
            mode=mode,
            version=event.version,
            changed=list(payload.changed),
            redispatch=result.outcome is RecordOutcome.DUPLICATE,
        )

    def reject(
        self,
        body: bytes,
        routing_key: str,
        properties: pika.BasicProperties,
        error: EventError,
    ) -> None:
        """Park the raw bytes, then report REJECTED (a crash between parks twice at worst)."""
        status = StatusMessage.rejected(error, message_id=properties.message_id)
        structlog.contextvars.bind_contextvars(
            event_id=status.event_id, sku=status.sku, account=status.account
        )
        reason = "; ".join(str(e) for e in error.field_errors)
        self.publisher.publish(
            "",
            self.names.rejected_queue,
            body,
            parked_properties(properties, routing_key, reason),
            mandatory=True,
        )
        self.reporter.report(status)
        log.warning(
            "ingest.rejected",
            routing_key=routing_key,
            message_id=properties.message_id,
            errors=[str(e) for e in error.field_errors][:10],
            parked_in=self.names.rejected_queue,
        )

    def give_up(
        self, body: bytes, routing_key: str, properties: pika.BasicProperties, error: Exception
    ) -> None:
        """Park a delivery that keeps failing on our side (a bug, not the event's fault) so
        that it stops blocking the queue; report it FAILED when the event can be read. It
        can be replayed from the parking queue once fixed."""
        reason = f"internal error, replay once fixed: {error!r}"[:MAX_REASON_CHARS]
        self.publisher.publish(
            "",
            self.names.rejected_queue,
            body,
            parked_properties(properties, routing_key, reason),
            mandatory=True,
        )
        log.error("ingest.gave_up", error=repr(error), parked_in=self.names.rejected_queue)
        try:
            event = parse_event(body, max_bytes=self.settings.max_event_bytes)
            item = StatusError(code=type(error).__name__, message=reason, user_message=reason)
            self.reporter.report(StatusMessage.for_event(event, Status.FAILED, errors=[item]))
        except Exception:
            log.exception("ingest.gave_up_unreported")


class IngestBridge:
    """Consumes ``allegro.ingest`` until :meth:`stop`; reconnects when the connection is
    lost. ``broker`` is the Dramatiq broker used to enqueue the first steps."""

    def __init__(self, settings: Settings, store: Store, broker: Any) -> None:
        self.settings = settings
        self.store = store
        self.broker = broker
        self.names = Names.of(settings)
        self._stop = threading.Event()
        self._failures = 0
        self._internal: dict[str, int] = {}  # body digest -> failures that were no outage
        self._consuming = False
        self.delivered = 0  # deliveries handled (acked or nacked), for tests and logs

    def stop(self) -> None:
        """Ask the bridge to stop after the message it is handling (thread- and
        signal-safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Consume until stopped; connection losses are retried forever with backoff."""
        pause_s = RECONNECT_BACKOFF_S[0]
        while not self._stop.is_set():
            try:
                self._consume()
                pause_s = RECONNECT_BACKOFF_S[0]
                if not self._stop.is_set():
                    # RabbitMQ cancelled the consumer (the queue was deleted): declare and
                    # consume again, after a pause.
                    log.warning("ingest.consumer_cancelled", reconnect_in_s=pause_s)
                    self._stop.wait(pause_s)
            except (pika.exceptions.AMQPError, OSError) as exc:
                if self._stop.is_set():
                    break
                if self._consuming:  # a connection that worked: start the backoff again
                    pause_s = RECONNECT_BACKOFF_S[0]
                log.warning(
                    "ingest.connection_lost", error=repr(exc), reconnect_in_s=round(pause_s, 1)
                )
                self._stop.wait(pause_s)
                pause_s = min(pause_s * 2, RECONNECT_BACKOFF_S[1])
        log.info("ingest.stopped", delivered=self.delivered)

    def _consume(self) -> None:
        self._consuming = False
        params = connection_parameters(self.settings, name="allegro-feed ingest")
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            declare(channel, self.settings)
            handler = IngestHandler(
                self.settings,
                self.store,
                ChannelPublisher(connection.channel()),
                lambda step, payload: send_step(self.broker, self.settings, step, payload),
            )
            channel.basic_qos(prefetch_count=self.settings.ingest_prefetch)
            self._consuming = True
            log.info(
                "ingest.consuming",
                queue=self.names.ingest_queue,
                prefetch=self.settings.ingest_prefetch,
            )
            for method, properties, body in channel.consume(
                self.names.ingest_queue, inactivity_timeout=IDLE_CHECK_S
            ):
                if self._stop.is_set():
                    break
                if method is None:
                    continue
                self._deliver(connection, channel, handler, method, properties, body)
            # Messages prefetched but not handled go back to the queue, in order.
            channel.cancel()
        finally:
            if connection.is_open:
                connection.close()

    def _internal_failure(self, body: bytes) -> bool:
        """Count a failure of ``body`` that is no outage; True once it is to be given up."""
        if len(self._internal) > 1_000:
            self._internal.clear()
        key = hashlib.sha256(body).hexdigest()
        self._internal[key] = self._internal.get(key, 0) + 1
        if self._internal[key] < MAX_INTERNAL_FAILURES:
            return False
        del self._internal[key]
        return True

    def _deliver(
        self,
        connection: Any,
        channel: Any,
        handler: IngestHandler,
        method: Any,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            delivery_tag=method.delivery_tag, routing_key=method.routing_key
        )
        try:
            outcome = handler.handle(body, method.routing_key, properties)
        except pika.exceptions.AMQPError:
            # Our own connection failed (publishing a status or a parked event): the
            # message is not acked and returns to the queue when the connection closes.
            log.warning("ingest.publish_failed", exc_info=True)
            raise
        except Exception as exc:
            self.delivered += 1
            if not isinstance(exc, TRANSIENT_ERRORS) and self._internal_failure(body):
                handler.give_up(body, method.routing_key, properties, exc)
                channel.basic_ack(method.delivery_tag)
                return
            self._failures += 1
            pause_s = min(FAILURE_BACKOFF_S[0] * 2 ** (self._failures - 1), FAILURE_BACKOFF_S[1])
            log.exception("ingest.handle_failed", requeue_in_s=pause_s)
            connection.sleep(pause_s)  # keeps the connection's heartbeats going
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        else:
            self._failures = 0
            channel.basic_ack(method.delivery_tag)
            self.delivered += 1
            log.debug("ingest.acked", outcome=str(outcome))
        finally:
            structlog.contextvars.clear_contextvars()


def main(argv: list[str] | None = None) -> int:
    """``python -m workers.ingest``: run the bridge of this host until SIGTERM/SIGINT."""
    from workers.logging import configure_logging

    settings = Settings()
    configure_logging(settings, quiet_loggers=("httpx", "httpcore", "pika"))
    store = open_store(settings.database_url)
    broker = create_broker(settings)
    bridge = IngestBridge(settings, store, broker)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("ingest.stopping", signal=signal.Signals(signum).name)
        bridge.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("ingest.starting", queue=bridge.names.ingest_queue, pid_role="ingest bridge")
    try:
        bridge.run()
    finally:
        broker.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
