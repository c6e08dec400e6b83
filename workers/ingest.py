"""The ingest bridge: upstream events from ``allegro.ingest`` into the pipeline.

Deliveries (manual acks, ``prefetch = ingest_prefetch``) are taken in batches of those
already received, handled in one store transaction, and acked together (one by one when
some failed). For each the
:class:`~workers.ingest_handler.IngestHandler` decides: park and report bad input, report a
superseded event, skip a duplicate, or hand the event on to its first step (see
:mod:`workers.ingest_handler`); then the delivery is acked.

Nothing is acked before its outcome is durable, so a crash or a lost connection loses
nothing: RabbitMQ redelivers the unacked messages and the handler is idempotent. A store or
broker failure is not the event's fault: the message is nacked back to the queue after a
growing pause (the bridge never crashes on one message); one that keeps failing for
another reason (a bug) is parked after a few attempts and reported ``FAILED`` (or
``REJECTED`` under its ``message_id`` when it cannot be read). A body the parser itself
breaks on is parked at once: parsing is pure, so a retry would only stall the queue. A lost
connection is re-opened with backoff; SIGTERM/SIGINT stop the bridge after the current
message.

The bridge also sweeps the status outbox (:meth:`workers.status.StatusReporter.sweep`)
when it starts consuming and every :data:`~workers.status.SWEEP_INTERVAL_S` after, so a
status whose publication a dead process never finished is published even when no message
of its event comes again.

Run it with ``python -m workers.ingest`` (``allegro-feed worker`` does, with the batcher
beside it). With batching on, the bridge stages stock and price changes of existing offers
for the batcher (:mod:`workers.batching`): a bridge run on its own needs one for the same
store, or those changes wait; with each sweep the bridge warns (``ingest.staged_waiting``)
when staged changes have waited unclaimed longer than :data:`STAGED_STALL_S`.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

import pika
import pika.exceptions
import structlog
from dramatiq.errors import BrokerError

from workers.batching.repo import BatchRepo
from workers.broker import connection_parameters, create_broker, send_step
from workers.ingest_handler import (
    MAX_REASON_CHARS,
    IngestHandler,
    Outcome,
    ParseFailed,
    parked_properties,
)
from workers.settings import Settings
from workers.status import SWEEP_INTERVAL_S, ChannelPublisher
from workers.store import Store, StoreUnavailable, open_store
from workers.topology import Names, declare

__all__ = [
    "MAX_REASON_CHARS",
    "IngestBridge",
    "IngestHandler",
    "Outcome",
    "main",
    "parked_properties",
]

# Named, not __name__: the module also runs as __main__ (python -m workers.ingest).
log = structlog.get_logger("workers.ingest")

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
#: A change staged for the batcher and not claimed for this long is reported
#: (``ingest.staged_waiting``), s: a batcher claims one within its batch window, or after a
#: rate-limit block (60 s) at worst.
STAGED_STALL_S = 120.0


class IngestBridge:
    """Consumes ``allegro.ingest`` until :meth:`stop`; reconnects when the connection is
    lost. ``broker`` is the Dramatiq broker used to enqueue the first steps."""

    def __init__(
        self, settings: Settings, store: Store, broker: Any, batch_repo: BatchRepo | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.broker = broker
        self.batch_repo = batch_repo
        self.names = Names.of(settings)
        self._stop = threading.Event()
        self._failures = 0
        self._internal: dict[str, int] = {}  # body digest -> failures that were no outage
        self._consuming = False
        self._next_sweep = 0.0  # time.monotonic() of the next outbox sweep: at once
        self._owner = f"{socket.gethostname()}:{os.getpid()}:ingest"
        self.delivered = 0  # deliveries handled (acked or nacked), for tests and logs
        self.swept = 0  # statuses the outbox sweeps published, for tests and logs

    def stop(self) -> None:
        """Ask the bridge to stop after the message it is handling (thread- and
        signal-safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def sweep_soon(self) -> None:
        """Sweep the status outbox at the next wake-up of the consumer loop (within
        :data:`IDLE_CHECK_S` when idle) instead of waiting for the interval."""
        self._next_sweep = 0.0

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
                self.batch_repo,
            )
            channel.basic_qos(prefetch_count=self.settings.ingest_prefetch)
            buffer: list[tuple[Any, pika.BasicProperties, bytes]] = []
            cancelled: list[object] = []
            tag = channel.basic_consume(
                self.names.ingest_queue,
                lambda _ch, method, properties, body: buffer.append((method, properties, body)),
            )
            channel.add_on_cancel_callback(cancelled.append)  # the queue was deleted
            self._consuming = True
            log.info(
                "ingest.consuming",
                queue=self.names.ingest_queue,
                prefetch=self.settings.ingest_prefetch,
            )
            while not self._stop.is_set() and not cancelled:
                self._sweep_when_due(handler)
                # Wait for deliveries, then take every one already here (up to the
                # prefetch): they are handled as one batch, with one store commit.
                connection.process_data_events(time_limit=0 if buffer else IDLE_CHECK_S)
                if not buffer:
                    continue
                connection.process_data_events(time_limit=0)
                batch = buffer[: self.settings.ingest_prefetch]
                del buffer[: len(batch)]
                self._deliver_batch(connection, channel, handler, batch)
            if not cancelled:
                # Messages prefetched but not handled go back to the queue, in order.
                channel.basic_cancel(tag)
        finally:
            if connection.is_open:
                connection.close()

    def _sweep_when_due(self, handler: IngestHandler) -> None:
        """Publish the outbox's forgotten statuses, every :data:`SWEEP_INTERVAL_S`. Another
        failure waits for the next sweep; a broken connection is the consumer's (raised)."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL_S
        try:
            self.swept += handler.reporter.sweep(self._owner)
        except pika.exceptions.AMQPError:
            raise
        except Exception:
            # Never the end of the bridge: the statuses wait in the outbox for the next one.
            log.warning("ingest.sweep_failed", exc_info=True)
        self._check_staged()

    def _check_staged(self) -> None:
        """Warn when changes staged for the batcher have waited unclaimed for longer than
        :data:`STAGED_STALL_S`: no batcher runs for this store (a bridge started on its
        own), or the one that runs is stuck. Their events have no status until one claims
        them."""
        if self.batch_repo is None:
            return
        try:
            count, oldest = self.batch_repo.unclaimed()
        except Exception:
            log.warning("ingest.staged_check_failed", exc_info=True)
            return
        age_s = time.time() - oldest if oldest is not None else 0.0
        if count and age_s > STAGED_STALL_S:
            log.warning(
                "ingest.staged_waiting",
                changes=count,
                oldest_age_s=round(age_s, 1),
                action=(
                    "no batcher has claimed these stock/price changes: check that one runs "
                    "for this store (allegro-feed worker starts it beside the bridge; alone: "
                    "python -m workers.batching) and read its log"
                ),
            )

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
        """Handle one delivery (a batch of one)."""
        self._deliver_batch(connection, channel, handler, [(method, properties, body)])

    def _deliver_batch(
        self,
        connection: Any,
        channel: Any,
        handler: IngestHandler,
        batch: list[tuple[Any, pika.BasicProperties, bytes]],
    ) -> None:
        """Handle deliveries as one batch (:meth:`IngestHandler.handle_batch`), then ack
        each handled one; a failed one is nacked back after a growing pause, or parked
        once it keeps failing for a reason that is no outage."""
        structlog.contextvars.clear_contextvars()
        try:
            results: list[Outcome | Exception] = handler.handle_batch(
                [(body, method.routing_key, properties) for method, properties, body in batch]
            )
        except pika.exceptions.AMQPError:
            # Our own connection failed (publishing a status or a parked event, or
            # enqueueing): nothing is acked, and the messages return to the queue when the
            # connection closes.
            log.warning("ingest.publish_failed", exc_info=True)
            raise
        except Exception as exc:
            # After the batch's commit (the broker refused an enqueue, the store failed):
            # every delivery is tried again.
            results = [exc] * len(batch)
        finally:
            structlog.contextvars.clear_contextvars()
        if len(batch) > 1 and not any(isinstance(r, Exception) for r in results):
            # Every one handled: one ack for all (the earlier tags were settled before).
            self.delivered += len(batch)
            self._failures = 0
            channel.basic_ack(batch[-1][0].delivery_tag, multiple=True)
            log.debug("ingest.acked", deliveries=len(batch))
            return
        retry: list[Any] = []
        for (method, properties, body), result in zip(batch, results, strict=True):
            structlog.contextvars.bind_contextvars(
                delivery_tag=method.delivery_tag, routing_key=method.routing_key
            )
            try:
                self.delivered += 1
                if not isinstance(result, Exception):
                    channel.basic_ack(method.delivery_tag)
                    log.debug("ingest.acked", outcome=str(result))
                elif isinstance(result, ParseFailed) or (
                    not isinstance(result, TRANSIENT_ERRORS) and self._internal_failure(body)
                ):
                    # A parser failure is parked at once: the same bytes fail it again.
                    handler.give_up(body, method.routing_key, properties, result)
                    channel.basic_ack(method.delivery_tag)
                else:
                    log.error(
                        "ingest.handle_failed",
                        exc_info=(type(result), result, result.__traceback__),
                    )
                    retry.append(method.delivery_tag)
            finally:
                structlog.contextvars.clear_contextvars()
        if not retry:
            self._failures = 0
            return
        # One growing pause per failed batch (not per delivery), then back to the queue.
        self._failures += 1
        pause_s = min(FAILURE_BACKOFF_S[0] * 2 ** (self._failures - 1), FAILURE_BACKOFF_S[1])
        log.warning("ingest.requeueing", deliveries=len(retry), requeue_in_s=pause_s)
        connection.sleep(pause_s)  # keeps the connection's heartbeats going
        for tag in retry:
            channel.basic_nack(tag, requeue=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m workers.ingest``: run the bridge of this host until SIGTERM/SIGINT."""
    from workers.logging import configure_logging

    # The handlers first: a stop asked for while the bridge starts is a clean stop too.
    requested = threading.Event()
    bridge: IngestBridge | None = None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("ingest.stopping", signal=signal.Signals(signum).name)
        requested.set()
        if bridge is not None:
            bridge.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings = Settings()
    configure_logging(settings, quiet_loggers=("httpx", "httpcore", "pika"))
    store = open_store(settings.database_url)  # migrates, the batching tables included
    broker = create_broker(settings)
    batch_repo = BatchRepo(settings.database_url, store=store) if settings.batching else None
    bridge = IngestBridge(settings, store, broker, batch_repo)
    if requested.is_set():
        bridge.stop()
    log.info("ingest.starting", queue=bridge.names.ingest_queue, pid_role="ingest bridge")
    try:
        bridge.run()
    finally:
        broker.close()
        if batch_repo is not None:
            batch_repo.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
