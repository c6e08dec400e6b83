"""The ingest bridge's decision for one delivery, independent of the consumer connection
(:class:`IngestHandler`; the connection, acks and reconnects are :mod:`workers.ingest`'s).

1. :func:`~schemas.events.parse_event`. A bad event (not UTF-8 or JSON, wrong types,
   missing fields, unknown type, too large, ...) is parked as it came in
   ``allegro.ingest.rejected`` (original properties and headers plus ``x-rejected-reason``,
   ``x-rejected-at``, ``x-original-routing-key``; publisher confirms) and reported
   ``REJECTED`` with every field error and its fix.
2. ``store.record_event``: SUPERSEDED → status ``SUPERSEDED``. DUPLICATE whose event has
   its terminal status (FAILED excepted) or was handed on already → nothing more (no second
   API write, no second status), but a status the store holds unpublished is published
   now. NEW, or DUPLICATE never handed on (a crash came between) → 3.
3. The first step is enqueued through the Dramatiq broker (confirmed), then the event is
   marked dispatched. Deletes go to ``publish``; a change of only stock and/or price of a
   SKU that has an offer goes to ``publish`` directly (the fast path, never behind content
   work); everything else to ``categorize``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pika
import structlog

from schemas.errors import EventError
from schemas.events import ProductEvent, ProductPriceChanged, ProductStockChanged, parse_event
from schemas.status import Status, StatusError, StatusMessage
from workers.batching._unit import store_unit
from workers.batching.repo import BatchRepo
from workers.batching.stage import Stager
from workers.broker import Payload, event_parts, first_step, part_digests
from workers.settings import Settings
from workers.status import SWEEP_MIN_AGE_S, Publisher, StatusReporter
from workers.store import OfferRecord, RecordOutcome, RecordResult, Store
from workers.topology import (
    ORIGINAL_ROUTING_KEY_HEADER,
    REJECTED_AT_HEADER,
    REJECTED_REASON_HEADER,
    Names,
    Step,
)

__all__ = ["MAX_REASON_CHARS", "Delivery", "IngestHandler", "Outcome", "parked_properties"]

log = structlog.get_logger("workers.ingest")

#: One delivery as the bridge hands it over: body, routing key, properties.
Delivery = tuple[bytes, str, pika.BasicProperties]
#: Longest reason text put into the ``x-rejected-reason`` header, characters.
MAX_REASON_CHARS = 4_000


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
    headers[REJECTED_REASON_HEADER] = reason[:MAX_REASON_CHARS]
    headers[REJECTED_AT_HEADER] = (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    headers[ORIGINAL_ROUTING_KEY_HEADER] = routing_key
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
        batch_repo: BatchRepo | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.names = Names.of(settings)
        self.publisher = publisher
        self.reporter = StatusReporter(store, publisher, self.names.status_exchange)
        self.enqueue = enqueue
        # With a batch repository, stock/price changes of existing offers are staged for the
        # batcher (coalesced, sent as batch commands) instead of one PATCH each.
        self.stager = Stager(batch_repo, self.reporter) if batch_repo else None
        # Inside handle_batch: what waits for the batch's commit (publishing parked events,
        # enqueueing first steps) and the events to mark dispatched after that.
        self._after_commit: list[Callable[[], object]] | None = None
        self._dispatched: list[str] = []
        self._offers: dict[tuple[str, str], OfferRecord | None] = {}  # see handle_batch

    def _unit(
        self, *, durable: bool = True, savepoints: bool = True
    ) -> AbstractContextManager[None]:
        """The store's unit of work, unless the batching repository writes on a connection
        of its own (it would wait for the unit's lock)."""
        repo = self.stager.repo if self.stager else None
        return store_unit(self.store, repo, durable=durable, savepoints=savepoints)

    def handle_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome | Exception]:
        """:meth:`handle` for several deliveries at once, with one store transaction for
        all of them (one commit: the bridge's cost per event is mostly the commit's
        ``fsync``), each delivery in a savepoint of its own. Publishing (statuses, parked
        events) and enqueueing happen only after the commit, so that no step ever sees an
        event before the store has it; the dispatched marks follow in one more commit.

        Returns, per delivery in order, its outcome or the exception that failed it (its
        writes were rolled back; the caller nacks or parks it as for :meth:`handle`).
        Raises when a step after the commit fails (RabbitMQ, or the store): then no
        delivery is to be acked; each is handled again on redelivery (idempotent)."""
        results: list[Outcome | Exception] = []
        after_commit: list[Callable[[], object]] = []
        dispatched: list[str] = []
        # Parsed before the transaction: the store's writer lock is held for writing only.
        parsed = [self.parse(body, routing_key) for body, routing_key, _ in deliveries]
        # The registry entries the fast path asks for, read before the lock too: only the
        # batcher and the publish actor change them, and both look again under the SKU's
        # lease, so an entry that changed meanwhile costs a detour, never a wrong change.
        self._offers = self._prefetch_offers(parsed)
        with self.reporter.deferred():
            with self._unit():
                for (body, routing_key, properties), event in zip(deliveries, parsed, strict=True):
                    self._after_commit, self._dispatched = [], []
                    try:
                        # A delivery's writes stand or fall together: no savepoint each.
                        with self.reporter.deferred(), self._unit(savepoints=False):
                            outcome = self.handle(body, routing_key, properties, parsed=event)
                    except Exception as exc:
                        results.append(exc)
                        continue
                    finally:
                        actions, marks = self._after_commit, self._dispatched
                        self._after_commit, self._dispatched = None, []
                        structlog.contextvars.clear_contextvars()
                    results.append(outcome)
                    after_commit += actions
                    dispatched += marks
            for action in after_commit:
                action()
            if dispatched:
                with self._unit(durable=False):  # marks only: see Store.mark_dispatched
                    for event_id in dispatched:
                        self.store.mark_dispatched(event_id)
        self._offers = {}
        return results

    def _first_time(self, result: RecordResult) -> bool:
        """Whether the event being dispatched cannot have been staged before: it was
        recorded just now, in the transaction its staging joins (a batch's, with the
        batching tables in the store's transaction). Its staged-id row is then not needed:
        a redelivery finds the event recorded, and marked dispatched in that same commit."""
        return (
            result.outcome is RecordOutcome.NEW
            and self._after_commit is not None
            and self.stager is not None
            and self.stager.repo.joins_store_units
        )

    def _prefetch_offers(
        self, parsed: Sequence[ProductEvent | Exception]
    ) -> dict[tuple[str, str], OfferRecord | None]:
        """The registry entries (None: none) of the SKUs of the stock and price events
        among ``parsed``, read in one query per account."""
        by_account: dict[str, set[str]] = {}
        for event in parsed:
            if isinstance(event, ProductStockChanged | ProductPriceChanged):
                by_account.setdefault(event.account, set()).add(event.sku)
        found: dict[tuple[str, str], OfferRecord | None] = {}
        for account, skus in by_account.items():
            records = self.store.get_offers(account, skus)
            found.update(((account, sku), records.get(sku)) for sku in skus)
        return found

    def _later(self, action: Callable[[], object]) -> None:
        """Run ``action`` now, or after the commit of the batch being handled."""
        if self._after_commit is None:
            action()
        else:
            self._after_commit.append(action)

    def _log(self, event: str, **fields: Any) -> None:
        """``log.info`` now, or after the commit of the batch being handled, bound to the
        delivery's context as it is now: a rendered line costs tens of microseconds, and
        the batch holds the store's writer lock until its commit."""
        if self._after_commit is None:
            log.info(event, **fields)
            return
        bound = structlog.contextvars.get_contextvars()
        self._after_commit.append(lambda: log.info(event, **{**bound, **fields}))

    def parse(self, body: bytes, routing_key: str) -> ProductEvent | Exception:
        """The delivery's event, or why it is none (:class:`EventError`: bad input; any
        other exception: a bug, raised again by :meth:`handle`)."""
        try:
            return parse_event(
                body, routing_key=routing_key, max_bytes=self.settings.max_event_bytes
            )
        except Exception as exc:  # handed to handle(), which rejects or raises it
            return exc

    def handle(
        self,
        body: bytes,
        routing_key: str,
        properties: pika.BasicProperties,
        *,
        parsed: ProductEvent | Exception | None = None,
    ) -> Outcome:
        """Decide and act on one delivery; the caller acks when this returns. Raises only
        for store and broker failures (the caller nacks the message back then).
        ``parsed``: what :meth:`parse` gave for it, when the caller parsed it already."""
        event = self.parse(body, routing_key) if parsed is None else parsed
        if isinstance(event, EventError):
            self.reject(body, routing_key, properties, event)
            return Outcome.REJECTED
        if isinstance(event, Exception):
            raise event
        structlog.contextvars.bind_contextvars(
            event_id=event.event_id, sku=event.sku, account=event.account
        )
        for note in event.notes:
            log.warning("ingest.event_note", note=str(note), routing_key=routing_key)
        result = self.store.record_event(event)
        if result.outcome is RecordOutcome.SUPERSEDED:
            self.reporter.report(StatusMessage.for_event(event, Status.SUPERSEDED))
            self._log("ingest.superseded", version=event.version)
            return Outcome.SUPERSEDED
        if result.outcome is RecordOutcome.DUPLICATE and self.finished(event, result):
            self._log("ingest.duplicate", version=event.version)
            return Outcome.DUPLICATE
        self.dispatch(event, result)
        return Outcome.DISPATCHED

    def finished(self, event: ProductEvent, result: RecordResult) -> bool:
        """Whether a redelivered event needs nothing more: it was handed on, or it has its
        terminal status (FAILED excepted: a replay). Its status is published first when the
        store holds it unpublished (the bridge died between recording and publishing) and
        was decided at least :data:`~workers.status.SWEEP_MIN_AGE_S` ago."""
        # A duplicate of an event that finished a moment ago (a producer's retry): its
        # status is on its way from the step that decided it; publishing it here too would
        # only send it twice. One left unpublished is the outbox sweep's.
        prior = self.reporter.settled(event.event_id, grace_s=SWEEP_MIN_AGE_S)
        return result.dispatched or (prior is not None and prior.status is not Status.FAILED)

    def dispatch(self, event: ProductEvent, result: RecordResult) -> None:
        """Hand the event on to its first step, then mark it dispatched."""
        changed = result.changed or event_parts(event)
        state = result.state or self.store.product_state(event.account, event.sku)
        if state is None:
            raise LookupError(f"the store holds no state for {event.account}/{event.sku}")
        offers: list[OfferRecord | None] = []

        def has_offer() -> bool:
            key = (event.account, event.sku)
            known = key in self._offers
            offers.append(self._offers[key] if known else self.store.get_offer(*key))
            return offers[-1] is not None

        step, mode = first_step(event.type, changed, has_offer)
        staged = (
            mode == "fast"
            and self.stager is not None
            and bool(offers)
            and self.stager.stage(event, state, offers[-1], first_time=self._first_time(result))
        )
        if staged:
            self.store.mark_dispatched(event.event_id)
            self._log("ingest.staged", version=event.version, changed=sorted(changed))
            return
        payload = Payload(
            event_id=event.event_id,
            account=event.account,
            sku=event.sku,
            version=event.version,
            changed=tuple(sorted(changed)),
            digests=part_digests(state),
            mode=mode,
        )
        if self._after_commit is None:
            self.enqueue(step, payload)
            self.store.mark_dispatched(event.event_id)
        else:
            self._after_commit.append(lambda: self.enqueue(step, payload))
            self._dispatched.append(event.event_id)
        self._log(
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
        parked = parked_properties(properties, routing_key, reason)
        self._later(
            lambda: self.publisher.publish(
                "", self.names.rejected_queue, body, parked, mandatory=True
            )
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
