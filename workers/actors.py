"""The pipeline's Dramatiq actors: thin adapters around the pure domain steps.

``categorize → enrich → validate → publish``; the stock/price fast path and deletes enter
at ``publish``. Every actor takes one :class:`~workers.broker.Payload` (a JSON object),
reads the SKU's *current* desired state from the store, does its I/O (Allegro, store), calls
its domain function, and then either hands a richer payload to the next step or reports
the event's one terminal status (never both, and never twice: see ``workers.status``).

Failure policy, decided by exception class:

- :class:`~workers.domain.model.Rejected`, Allegro's 422 and a failed async operation are
  reported ``REJECTED`` (not retried);
- other :class:`~workers.allegro.PermanentError` are ``throws``: not retried, reported
  ``FAILED`` by :class:`~workers.middleware.StatusOnFailure` and dead-lettered into the
  ``.XQ`` (replayable once the cause is fixed, e.g. an account connected);
- everything else is retried with backoff; when the retries run out: ``FAILED`` + ``.XQ``;
- waits that are no failure raise :class:`~workers.middleware.Deferred` (SKU lease busy,
  a long rate-limit block, an offer operation still running or the offer busy with a
  previous change), so no thread sleeps and no retry is used up.

Superseding (:func:`is_superseded`): a message is dropped with ``SUPERSEDED`` when newer
events replaced all it brought, or, on the content path, when the product's content changed
after it was handed on: the newer content event is then on its way through the same path
and will publish the whole current state.

The publish step, under the SKU's lease: skip a redelivery whose event already has its
status; find the offer (registry, else ``GET /sale/offers?external.id=`` so that a retry or
a lost answer never creates a second one); plan with ``workers.domain.plan``; make at most
the planned calls; save the registry entry; report.
"""

from __future__ import annotations

import dataclasses
import random
from typing import TYPE_CHECKING, Any

import dramatiq
import structlog
from dramatiq.middleware import CurrentMessage

from schemas.status import PublicationStatus, Status, StatusError
from workers.allegro import (
    AllegroClient,
    OfferResult,
    OperationFailed,
    PermanentError,
    ValidationFailed,
)
from workers.broker import Payload, is_superseded, send_step
from workers.domain.categorize import categorize, check_leaf
from workers.domain.enrich import enrich
from workers.domain.model import CategoryChoice, Enriched, ProductState, Rejected, problem
from workers.domain.offer import build_offer, stock_price_overlay
from workers.domain.plan import PublishAction, PublishPlan, fingerprint, plan_publish
from workers.domain.validate import validate_offer
from workers.middleware import Deferred, attempts_of, deferring
from workers.status import allegro_errors, status_for
from workers.store import OfferRecord
from workers.topology import Step

if TYPE_CHECKING:
    from workers.services import Services

__all__ = ["PERMANENT", "Steps", "declare_actors"]

log = structlog.get_logger(__name__)

#: Exceptions no retry can fix (Dramatiq's ``throws``).
PERMANENT: tuple[type[BaseException], ...] = (PermanentError, Rejected)
#: Status item of a stock or price event for a SKU whose product was never sent.
WAITING_FOR_PRODUCT = "WAITING_FOR_PRODUCT"
#: Wait for a SKU lease held by another worker: a random pause in this range, ms.
LEASE_WAIT_MS = (200, 1_000)


def current_attempts() -> int:
    """Runs of the current message so far, this one included (1 outside an actor)."""
    message = CurrentMessage.get_current_message()
    return attempts_of(message) if message is not None else 1


def _publication_status(value: str | None) -> str | None:
    """Allegro's publication status when it is one the status message knows."""
    return value if value in {s.value for s in PublicationStatus} else None


class Steps:
    """The actor functions of one process, bound to its :class:`Services`."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings

    # --- shared -----------------------------------------------------------------------------

    def report(
        self,
        payload: Payload,
        status: Status,
        errors: list[StatusError] | None = None,
        **fields: Any,
    ) -> None:
        """Report ``payload``'s terminal status (recorded and published once)."""
        message = status_for(
            payload.identity(), status, errors=errors or [], attempts=current_attempts(), **fields
        )
        self.services.reporter.report(message)

    def forward(self, step: Step, payload: Payload) -> None:
        """Hand ``payload`` to ``step``; RabbitMQ confirms it before this message is acked."""
        send_step(self.services.broker, self.settings, step, payload)
        log.info("step.forwarded", to=step.value, mode=payload.mode)

    def load_state(self, payload: Payload) -> ProductState:
        state = self.services.store.product_state(payload.account, payload.sku)
        if state is None:
            # The bridge records an event before handing it on: a store fault, retry.
            raise LookupError(f"no desired state stored for {payload.account}/{payload.sku}")
        return state

    def settled_before_content(self, payload: Payload, state: ProductState) -> bool:
        """Report or re-route a content-path message that needs no content work (True)."""
        if is_superseded(state, payload, content_path=True):
            log.info("event.superseded", state_version=state.version)
            self.report(payload, Status.SUPERSEDED)
            return True
        if state.deleted:
            # A stock or price event of a deleted SKU: the offer stays ended.
            self.forward(Step.PUBLISH, payload.replace(mode="delete"))
            return True
        if not state.complete:
            text = (
                f"SKU {payload.sku} has no product.upserted yet; its stock and price are "
                "kept and published when the product arrives"
            )
            self.report(payload, Status.UNCHANGED, [problem(WAITING_FOR_PRODUCT, text, path="sku")])
            return True
        return False

    # --- categorize → enrich → validate ------------------------------------------------------

    def categorize(self, data: dict[str, Any]) -> None:
        """Choose the Allegro leaf category; → enrich."""
        payload = Payload.from_dict(data)
        state = self.load_state(payload)
        if self.settled_before_content(payload, state):
            return
        try:
            choice = categorize(state.product, self.services.mapping)
            client = self.services.client(payload.account)
            check_leaf(self.services.category(client, choice.category_id), choice)
        except Rejected as exc:
            self.report(payload, Status.REJECTED, exc.errors)
            return
        log.info("event.categorized", category_id=choice.category_id, source=choice.source)
        self.forward(
            Step.ENRICH,
            payload.replace(category_id=choice.category_id, category_source=choice.source),
        )

    def enrich(self, data: dict[str, Any]) -> None:
        """Category parameters and catalogue matches; → validate."""
        payload = Payload.from_dict(data)
        state = self.load_state(payload)
        if self.settled_before_content(payload, state):
            return
        if payload.category_id is None:
            raise ValueError("enrich needs the category_id that categorize adds")
        client = self.services.client(payload.account)
        choice = CategoryChoice(
            category_id=payload.category_id,
            source=payload.category_source or "override",
            store_category=state.product.get("category"),
        )
        try:
            parameters = self.services.parameters(client, payload.category_id)
            catalogue = self.services.catalogue(client, state.product)
            enriched = enrich(state, choice, parameters, catalogue, self.services.mapping)
        except Rejected as exc:
            self.report(payload, Status.REJECTED, exc.errors)
            return
        for note in enriched.notes:
            log.info("event.enrich_note", note=note)
        self.forward(Step.VALIDATE, payload.replace(enriched=dataclasses.asdict(enriched)))

    def validate(self, data: dict[str, Any]) -> None:
        """Build the offer body and check it against Allegro's rules; → publish."""
        payload = Payload.from_dict(data)
        state = self.load_state(payload)
        if self.settled_before_content(payload, state):
            return
        if payload.enriched is None:
            raise ValueError("validate needs the enriched data that enrich adds")
        enriched = Enriched(**payload.enriched)
        client = self.services.client(payload.account)
        mapping = self.services.mapping
        try:
            parameters = self.services.parameters(client, enriched.category_id)
            body = build_offer(
                state,
                enriched,
                currency=self.settings.currency,
                defaults=mapping.defaults if mapping is not None else None,
            )
            body.setdefault("external", {"id": payload.sku})
            errors = validate_offer(
                body,
                parameters,
                currency=self.settings.currency,
                catalogue_linked=enriched.product_id is not None,
            )
        except Rejected as exc:
            errors = list(exc.errors)
        if errors:
            self.report(payload, Status.REJECTED, errors)
            return
        self.forward(
            Step.PUBLISH, payload.replace(body=body, fingerprint=fingerprint(body), mode="content")
        )

    # --- publish ------------------------------------------------------------------------------

    def publish(self, data: dict[str, Any]) -> None:
        """Create, change or end the SKU's offer under its lease (see the module doc)."""
        payload = Payload.from_dict(data)
        if self.already_reported(payload):
            return
        state = self.load_state(payload)
        if is_superseded(state, payload, content_path=payload.mode == "content"):
            self.report(payload, Status.SUPERSEDED)
            return
        store = self.services.store
        owner = self.services.owner()
        if not store.acquire_lease(payload.account, payload.sku, owner, self.settings.sku_lease_s):
            raise Deferred(
                f"SKU {payload.sku} is being published by another worker",
                delay_ms=random.randint(*LEASE_WAIT_MS),
            )
        try:
            self.publish_leased(payload)
        finally:
            store.release_lease(payload.account, payload.sku, owner)

    def already_reported(self, payload: Payload) -> bool:
        """A redelivered or duplicate message of an event that has its status (a FAILED
        one excepted: that event is being replayed)."""
        prior = self.services.store.terminal_status(payload.event_id)
        if prior is None or prior.status is Status.FAILED:
            return False
        log.info("event.already_reported", status=str(prior.status))
        return True

    def publish_leased(self, payload: Payload) -> None:
        # Read again under the lease: another worker may have published meanwhile.
        if self.already_reported(payload):
            return
        state = self.load_state(payload)
        if is_superseded(state, payload, content_path=payload.mode == "content"):
            self.report(payload, Status.SUPERSEDED)
            return
        store = self.services.store
        client = self.services.client(payload.account)
        record = store.get_offer(payload.account, payload.sku)
        if record is None:
            record = self.adopt(client, payload)
        # No body of ours on the offer yet: found by external.id (a crash or a lost answer
        # after Allegro created it) or left by a failed operation. Succeeding now is the
        # SKU's first publication, even though it takes a PATCH.
        first = record is None or record.published_body is None
        deleted = state.deleted or payload.mode == "delete"
        desired = self.desired(payload, state, record, deleted=deleted)
        if desired is None:
            # A stock/price change of an offer whose content we never sent: do it in full.
            self.forward(Step.CATEGORIZE, payload.replace(mode="content"))
            return
        published = record.published_body if record is not None else None
        if record is not None and published is None and record.publication_status is None:
            published = {}  # an offer we know only by id: patch it whole, never POST
        plan = plan_publish(
            desired=desired,
            published=published,
            offer_status=None if record is None else record.publication_status,
            deleted=deleted,
        )
        log.info(
            "publish.planned",
            action=str(plan.action),
            reason=plan.reason,
            offer_id=record.offer_id if record is not None else None,
        )
        try:
            result = self.execute(client, plan, record)
        except (ValidationFailed, OperationFailed) as exc:
            self.rejected_by_allegro(payload, record, exc)
            return
        self.finish(payload, state, plan, record, result, first=first)

    def adopt(self, client: AllegroClient, payload: Payload) -> OfferRecord | None:
        """The SKU's offer found on Allegro by ``external.id`` (saved in the registry), or
        None. Prefers an offer that is not ended; Allegro lists the newest first."""
        found = [o for o in client.find_offers_by_external_id([payload.sku]) if o.id]
        if not found:
            return None
        offer = next((o for o in found if o.status != "ENDED"), found[0])
        assert offer.id is not None
        record = OfferRecord(
            account=payload.account,
            sku=payload.sku,
            offer_id=offer.id,
            publication_status=offer.status,
        )
        self.services.store.save_offer(record)
        log.warning("offer.adopted", offer_id=offer.id, publication_status=offer.status)
        return record

    def desired(
        self,
        payload: Payload,
        state: ProductState,
        record: OfferRecord | None,
        *,
        deleted: bool,
    ) -> dict[str, Any] | None:
        """The offer body to have on Allegro (None: the fast path lacks a base body)."""
        published = record.published_body if record is not None else None
        if deleted:
            return dict(published or {})
        if payload.mode == "content" and payload.body is not None:
            # Stock and price as stored now: a fast-path change may have come meanwhile.
            return stock_price_overlay(payload.body, state)
        if published is None:
            return None
        return stock_price_overlay(published, state)

    def execute(
        self, client: AllegroClient, plan: PublishPlan, record: OfferRecord | None
    ) -> OfferResult | None:
        """The planned Allegro calls; the last call's result (None when no call)."""
        if plan.action is PublishAction.CREATE:
            if plan.body is None:
                raise ValueError("a CREATE plan without a body")
            return client.create_offer(plan.body)
        result = None
        for patch in plan.patches:
            if record is None:
                raise ValueError(f"plan {plan.action} needs an offer in the registry")
            result = client.update_offer(record.offer_id, patch)
        return result

    def finish(
        self,
        payload: Payload,
        state: ProductState,
        plan: PublishPlan,
        record: OfferRecord | None,
        result: OfferResult | None,
        *,
        first: bool,
    ) -> None:
        """Save the registry entry (what Allegro has now), then report the outcome."""
        offer_id = record.offer_id if record is not None else None
        publication = record.publication_status if record is not None else None
        trace_id = None
        if result is not None:
            offer_id = result.offer_id or offer_id
            publication = result.offer.status or publication
            trace_id = result.trace_id
        if offer_id is not None and plan.expected is not None and result is not None:
            version = state.version if payload.mode == "content" else payload.version
            if record is not None and record.published_version is not None:
                version = max(version, record.published_version)
            self.services.store.save_offer(
                OfferRecord(
                    account=payload.account,
                    sku=payload.sku,
                    offer_id=offer_id,
                    publication_status=publication,
                    fingerprint=fingerprint(plan.expected),
                    published_version=version,
                    published_body=plan.expected,
                )
            )
        status = plan.status_if_done
        if first and status in (Status.UPDATED, Status.UNCHANGED) and result is not None:
            status = Status.PUBLISHED
        self.report(
            payload,
            status,
            offer_id=offer_id,
            publication_status=_publication_status(publication),
            trace_id=trace_id,
        )

    def rejected_by_allegro(
        self, payload: Payload, record: OfferRecord | None, exc: ValidationFailed | OperationFailed
    ) -> None:
        """Allegro refused the offer (422, or its async processing failed): REJECTED."""
        offer_id = getattr(exc, "offer_id", None) or (record.offer_id if record else None)
        if record is None and offer_id:
            # The offer exists despite the failure: never create another one.
            self.services.store.save_offer(
                OfferRecord(account=payload.account, sku=payload.sku, offer_id=offer_id)
            )
        self.report(
            payload,
            Status.REJECTED,
            allegro_errors(exc.errors, fallback=str(exc)),
            offer_id=offer_id,
            trace_id=exc.trace_id,
        )


def declare_actors(
    broker: dramatiq.Broker, services: Services
) -> dict[Step, dramatiq.Actor[Any, Any]]:
    """Declare the four actors on ``broker`` (queues prefixed), bound to ``services``."""
    steps = Steps(services)
    functions = {
        Step.CATEGORIZE: steps.categorize,
        Step.ENRICH: steps.enrich,
        Step.VALIDATE: steps.validate,
        Step.PUBLISH: steps.publish,
    }
    return {
        step: dramatiq.Actor(
            deferring(fn),
            broker=broker,
            actor_name=step.value,
            queue_name=services.settings.name(step.value),
            priority=0,
            options={"throws": PERMANENT},
        )
        for step, fn in functions.items()
    }
