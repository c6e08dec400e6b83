"""The ingest bridge's decision for one delivery, independent of the consumer connection
(:class:`IngestHandler`; the connection, acks and reconnects are :mod:`workers.ingest`'s).

1. :func:`~schemas.events.parse_event`. A bad event (not UTF-8 or JSON, wrong types,
   missing fields, unknown type, too large, ...) is parked as it came in
   ``allegro.ingest.rejected`` (original properties and headers plus ``x-rejected-reason``,
   ``x-rejected-at``, ``x-original-routing-key``; publisher confirms) and reported
   ``REJECTED`` with every field error and its fix. A body the parser itself breaks on
   (a bug) is :class:`ParseFailed`, which the bridge parks at once.
2. An ``event_id`` with a terminal status (FAILED excepted: a replay) is not merged again:
   nothing more (no second API write, no second status), but a status the store holds
   unpublished is published now. One that ended ``REJECTED`` (a corrected event re-sent
   under the same id) is parked with the reason: publish it under a new ``event_id``.
3. ``store.record_event``: SUPERSEDED → status ``SUPERSEDED``. DUPLICATE handed on already
   → nothing more. NEW, or DUPLICATE never handed on (a crash came between) → 4.
4. The first step is enqueued through the Dramatiq broker (confirmed), then the event is
   marked dispatched. Deletes go to ``publish``; a change of only stock and/or price of a
   SKU that has an offer goes to ``publish`` directly (the fast path, never behind content
   work); everything else to ``categorize``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import Any

import pika
import structlog

from schemas.errors import EventError, FieldError
from schemas.events import ProductEvent, ProductPriceChanged, ProductStockChanged, parse_event
from schemas.status import Status, StatusError, StatusMessage
from workers.batching._unit import store_unit
from workers.batching.repo import BatchRepo
from workers.batching.stage import Stager
from workers.broker import Payload, event_parts, first_step, part_digests
from workers.ingest_parking import (
    MAX_REASON_CHARS,
    ParseFailed,
    message_id,
    parked_properties,
    with_property_errors,
)
from workers.settings import Settings
from workers.status import SWEEP_MIN_AGE_S, Publisher, StatusReporter
from workers.store import OfferRecord, RecordOutcome, RecordResult, Store, StoredStatus
from workers.topology import Names, Step

__all__ = [
    "MAX_REASON_CHARS",
    "Delivery",
    "IngestHandler",
    "Outcome",
    "ParseFailed",
    "parked_properties",
    "with_property_errors",
]

log = structlog.get_logger("workers.ingest")

#: One delivery as the bridge hands it over: body, routing key, properties.
Delivery = tuple[bytes, str, pika.BasicProperties]


class Outcome(StrEnum):
    """What the bridge did with one delivery."""

    REJECTED = "rejected"  # unreadable: parked and reported
    SUPERSEDED = "superseded"  # older than what the store holds: reported
    DUPLICATE = "duplicate"  # handed on before: nothing to do
    DISPATCHED = "dispatched"  # handed on to the first step


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
        # enqueueing first steps) and the events to mark dispatched after that; the staged
        # events, marked dispatched together before that commit.
        self._after_commit: list[Callable[[], object]] | None = None
        self._dispatched: list[str] = []
        self._staged: list[str] = []
        # Read before the batch's transaction (see handle_batch): registry entries, and
        # the terminal statuses of the batch's events.
        self._offers: dict[tuple[str, str], OfferRecord | None] = {}
        self._settled: dict[str, StoredStatus] | None = None
        # The events of this batch's deliveries handled so far (their writes stand), and
        # which of those were handed on: a later delivery of one of them is a duplicate.
        self._seen: set[str] = set()
        self._handed_on: set[str] = set()

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
        staged: list[str] = []
        # Parsed before the transaction: the store's writer lock is held for writing only.
        parsed = [self.parse(body, key, properties) for body, key, properties in deliveries]
        try:
            # The registry entries the fast path asks for, read before the lock too: only the
            # batcher and the publish actor change them, and both look again under the SKU's
            # lease, so an entry that changed meanwhile costs a detour, never a wrong change.
            self._offers = self._prefetch_offers(parsed)
            # The events' terminal statuses, read before the lock as well: only a step the
            # event was handed on to decides one, and a handed-on event is a DUPLICATE for
            # record_event anyway; an event that appears twice in the batch is looked up again.
            self._settled = self.store.terminal_entries(
                event.event_id for event in parsed if not isinstance(event, Exception)
            )
            with self.reporter.deferred():
                with self._unit():
                    for (body, key, properties), event in zip(deliveries, parsed, strict=True):
                        self._after_commit, self._dispatched, self._staged = [], [], []
                        try:
                            # A delivery's writes stand or fall together: no savepoint each.
                            with self.reporter.deferred(), self._unit(savepoints=False):
                                outcome = self.handle(body, key, properties, parsed=event)
                        except Exception as exc:
                            results.append(exc)
                            continue
                        finally:
                            actions, marks, taken = self._end_delivery()
                        results.append(outcome)
                        after_commit += actions
                        dispatched += marks
                        staged += taken
                        self._handed_on.update(marks, taken)
                        if not isinstance(event, Exception):
                            self._seen.add(event.event_id)
                    if staged:  # in the commit that staged them: one statement for all
                        self.store.mark_dispatched_many(staged)
                for action in after_commit:
                    action()
                if dispatched:
                    with self._unit(durable=False):  # marks only: see Store.mark_dispatched
                        self.store.mark_dispatched_many(dispatched)
        finally:
            self._offers, self._settled = {}, None
            self._seen, self._handed_on = set(), set()
        return results

    def _end_delivery(self) -> tuple[list[Callable[[], object]], list[str], list[str]]:
        """What one delivery of a batch left to do after the commit, the events it handed
        to the steps and those it staged; the delivery's state is cleared."""
        left = (self._after_commit or [], self._dispatched, self._staged)
        self._after_commit, self._dispatched, self._staged = None, [], []
        structlog.contextvars.clear_contextvars()
        return left

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

    def parse(
        self,
        body: bytes,
        routing_key: str,
        properties: pika.BasicProperties | None = None,
    ) -> ProductEvent | Exception:
        """The delivery's event, or why it is none: :class:`EventError` for bad input (with
        the message's content encoding or type named when they explain it), or
        :class:`ParseFailed` when the parser itself broke (a bug: the same bytes would
        break it again, so the bridge parks them at once instead of retrying)."""
        try:
            return parse_event(
                body, routing_key=routing_key, max_bytes=self.settings.max_event_bytes
            )
        except EventError as exc:
            return with_property_errors(exc, properties)
        except Exception as exc:  # handed to handle(), which raises it for the bridge
            return ParseFailed(exc)

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
        event = self.parse(body, routing_key, properties) if parsed is None else parsed
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
        # An event_id that has its terminal status already is never merged again: each
        # event ends in exactly one status (a FAILED one excepted: that is a replay).
        known = self._settled if event.event_id not in self._seen else None
        prior = self.reporter.settled(event.event_id, grace_s=SWEEP_MIN_AGE_S, known=known)
        if prior is not None and prior.status is Status.REJECTED:
            self.reused(body, routing_key, properties, prior)
            return Outcome.DUPLICATE
        if prior is not None and prior.status is not Status.FAILED:
            self._log("ingest.duplicate", version=event.version, status=str(prior.status))
            return Outcome.DUPLICATE
        # A stock or price change bound for the batcher needs no content: not read (a
        # seller's content is often many kilobytes, decoded under the writer lock).
        light = self.stager is not None and isinstance(
            event, ProductStockChanged | ProductPriceChanged
        )
        result = self.store.record_event(event, content=not light)
        if result.outcome is RecordOutcome.SUPERSEDED:
            self.reporter.report(StatusMessage.for_event(event, Status.SUPERSEDED))
            self._log("ingest.superseded", version=event.version)
            return Outcome.SUPERSEDED
        if result.outcome is RecordOutcome.DUPLICATE and (
            result.dispatched or event.event_id in self._handed_on
        ):
            self._log("ingest.duplicate", version=event.version)
            return Outcome.DUPLICATE
        self.dispatch(event, result, content=not light)
        return Outcome.DISPATCHED

    def dispatch(self, event: ProductEvent, result: RecordResult, *, content: bool = True) -> None:
        """Hand the event on to its first step, then mark it dispatched. ``content``:
        whether ``result`` holds the state with its content (``Store.record_event``)."""
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
            if self._after_commit is None:
                self.store.mark_dispatched(event.event_id)
            else:  # with the batch's other staged events, before its commit
                self._staged.append(event.event_id)
            self._log("ingest.staged", version=event.version, changed=sorted(changed))
            return
        if not content:  # the steps compare digests of every part: read it whole
            state = self.store.product_state(event.account, event.sku) or state
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
        status = StatusMessage.rejected(error, message_id=message_id(properties))
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

    def reused(
        self,
        body: bytes,
        routing_key: str,
        properties: pika.BasicProperties,
        prior: StatusMessage,
    ) -> None:
        """Park an event whose ``event_id`` ended ``REJECTED`` already (a corrected event
        re-sent under the same id): it is not merged, and gets no second status, since each
        event ends in exactly one. The reason in the parked message and the log says to
        publish it with a new ``event_id``."""
        reason = (
            f"event_id {prior.event_id} was already used by an event that ended REJECTED "
            f"at {prior.at.isoformat()}; this one was not applied: publish the corrected "
            "event with a new event_id (and a higher version)"
        )
        parked = parked_properties(properties, routing_key, reason)
        self._later(
            lambda: self.publisher.publish(
                "", self.names.rejected_queue, body, parked, mandatory=True
            )
        )
        log.warning(
            "ingest.event_id_reused",
            routing_key=routing_key,
            message_id=properties.message_id,
            prior_status=str(prior.status),
            reason=reason,
            parked_in=self.names.rejected_queue,
        )

    def give_up(
        self, body: bytes, routing_key: str, properties: pika.BasicProperties, error: Exception
    ) -> None:
        """Park a delivery that keeps failing on our side (a bug, not the event's fault) so
        that it stops blocking the queue, and report it: ``FAILED`` when the event can be
        read (it can be replayed from the parking queue once fixed), ``REJECTED`` under the
        AMQP ``message_id`` when it cannot. Never raises for the event's sake: a status that
        cannot be reported is logged with its content."""
        if isinstance(error, ParseFailed):
            error = error.error
        reason = f"internal error, replay once fixed: {error!r}"[:MAX_REASON_CHARS]
        self.publisher.publish(
            "",
            self.names.rejected_queue,
            body,
            parked_properties(properties, routing_key, reason),
            mandatory=True,
        )
        log.error("ingest.gave_up", error=repr(error), parked_in=self.names.rejected_queue)
        status = self._gave_up_status(body, routing_key, properties, error, reason)
        try:
            self.reporter.report(status)
        except Exception:
            log.exception("ingest.gave_up_unreported", status=status.model_dump(mode="json"))

    def _gave_up_status(
        self,
        body: bytes,
        routing_key: str,
        properties: pika.BasicProperties,
        error: Exception,
        reason: str,
    ) -> StatusMessage:
        """The status of a delivery given up on: see :meth:`give_up`."""
        item = StatusError(code=type(error).__name__, message=reason, user_message=reason)
        event = self.parse(body, routing_key, properties)
        if not isinstance(event, Exception):
            try:
                return StatusMessage.for_event(event, Status.FAILED, errors=[item])
            except Exception:  # the identity cannot be reported as it is: as unreadable
                log.exception("ingest.gave_up_identity")
        elif isinstance(event, EventError):
            return StatusMessage.rejected(event, message_id=message_id(properties))
        unreadable = FieldError(
            "",
            f"could not be read because of an internal error ({type(error).__name__}); "
            f"the message is parked in {self.names.rejected_queue}",
            "report it to the allegro-feed operators: they replay it once the bug is fixed",
            "INTERNAL_ERROR",
        )
        return StatusMessage.rejected(EventError([unreadable]), message_id=message_id(properties))
