"""The pipeline's Dramatiq actors: thin adapters around the pure domain steps.

``categorize → enrich → validate → publish``; the stock/price fast path and deletes enter
at ``publish``. Every actor takes one :class:`~workers.broker.Payload` (a JSON object),
reads the SKU's *current* desired state from the store, does its I/O (Allegro, store), calls
its domain function, and then either hands a richer payload to the next step or reports
the event's one terminal status (never both, and never twice: see ``workers.status``).
Every step first skips a redelivered message whose event has its status already,
publishing that status when the store still holds it unpublished.

Failure policy, decided by exception class:

- :class:`~workers.domain.model.Rejected`, Allegro's 422 and a failed async operation are
  reported ``REJECTED`` (not retried);
- other :class:`~workers.allegro.PermanentError` are ``throws``: not retried, reported
  ``FAILED`` by :class:`~workers.middleware.StatusOnFailure` and dead-lettered into the
  ``.XQ`` (replayable once the cause is fixed, e.g. an account connected);
- everything else is retried with backoff; when the retries run out: ``FAILED`` + ``.XQ``;
- waits that are no failure raise :class:`~workers.middleware.Deferred` (SKU lease busy,
  a long rate-limit block, an offer operation still running or the offer busy with a
  previous change, an earlier POST whose offer Allegro's search may not list yet), so no
  thread sleeps and no retry is used up.

Superseding (:func:`is_superseded`): a message is dropped with ``SUPERSEDED`` when newer
events replaced all it brought, or, on the content path, when the product's content changed
after it was handed on: the newer content event is then on its way through the same path
and will publish the whole current state.

The publish step lives in :mod:`workers.publish`; this module has the content steps and
declares the actors.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import dramatiq
import structlog

from schemas.status import Status
from workers._step import StepBase, current_attempts
from workers.allegro import NotFound, PermanentError
from workers.broker import Payload, is_superseded
from workers.domain.catalogue_link import catalogue_category, link
from workers.domain.categorize import categorize, check_leaf, unknown_category
from workers.domain.enrich import enrich
from workers.domain.model import CategoryChoice, Enriched, ProductState, Rejected, problem
from workers.domain.offer import build_offer
from workers.domain.plan import fingerprint
from workers.domain.validate import validate_offer
from workers.middleware import deferring
from workers.publish import PublishStep
from workers.topology import Step

if TYPE_CHECKING:
    from workers.services import Services

__all__ = ["PERMANENT", "Steps", "current_attempts", "declare_actors"]

log = structlog.get_logger(__name__)

#: Exceptions no retry can fix (Dramatiq's ``throws``).
PERMANENT: tuple[type[BaseException], ...] = (PermanentError, Rejected)
#: Status item of a stock or price event for a SKU whose product was never sent.
WAITING_FOR_PRODUCT = "WAITING_FOR_PRODUCT"


def _as_json(enriched: Enriched) -> dict[str, Any]:
    """``enriched`` as the payload carries it: its fields by name. Its values are plain JSON
    data already, so they go as they are (no deep copy: the message is encoded at once)."""
    return {field.name: getattr(enriched, field.name) for field in dataclasses.fields(enriched)}


class Steps(StepBase):
    """The actor functions of one process, bound to its :class:`Services`."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.publish_step = PublishStep(services)

    def start_content(self, data: dict[str, Any]) -> tuple[Payload, ProductState] | None:
        """The message's payload and the SKU's desired state, read once; None when the
        message needs no content work (already reported, or settled here: see
        :meth:`settled_before_content`)."""
        payload = Payload.from_dict(data)
        if self.already_reported(payload):
            return None
        state = self.load_state(payload)
        if self.settled_before_content(payload, state):
            return None
        return payload, state

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
        started = self.start_content(data)
        if started is None:
            return
        payload, state = started
        try:
            choice = categorize(state.product, self.services.mapping)
            client = self.services.client(payload.account)
            try:
                category = self.services.category(client, choice.category_id)
            except NotFound:  # Allegro has no such category: the input's fault, not ours
                raise unknown_category(choice.category_id, choice) from None
            check_leaf(category, choice)
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
        started = self.start_content(data)
        if started is None:
            return
        payload, state = started
        if payload.category_id is None:
            raise ValueError("enrich needs the category_id that categorize adds")
        client = self.services.client(payload.account)
        choice = CategoryChoice(
            category_id=payload.category_id,
            source=payload.category_source or "override",
            store_category=state.product.get("category"),
        )
        try:
            catalogue = self.services.catalogue(client, state.product)
            # Worked out once: the category below and enrich both start from the link.
            found = link(state.product, choice, catalogue)
            # A category from the mapping's default gives way to the linked catalogue
            # product's own (an offer must be listed there, FACTS.md §6).
            choice, notes = catalogue_category(state.product, choice, catalogue, found=found)
            try:
                parameters = self.services.parameters(client, choice.category_id)
            except NotFound:  # the category went away since categorize
                raise unknown_category(choice.category_id, choice) from None
            enriched = enrich(
                state, choice, parameters, catalogue, self.services.mapping, found=found
            )
        except Rejected as exc:
            self.report(payload, Status.REJECTED, exc.errors)
            return
        for note in notes + enriched.notes:
            log.info("event.enrich_note", note=note)
        self.forward(Step.VALIDATE, payload.replace(enriched=_as_json(enriched)))

    def validate(self, data: dict[str, Any]) -> None:
        """Build the offer body and check it against Allegro's rules; → publish."""
        started = self.start_content(data)
        if started is None:
            return
        payload, state = started
        if payload.enriched is None:
            raise ValueError("validate needs the enriched data that enrich adds")
        enriched = Enriched(**payload.enriched)
        client = self.services.client(payload.account)
        mapping = self.services.mapping
        currency = self.services.currency(payload.account)
        try:
            parameters = self.services.parameters(client, enriched.category_id)
            body = build_offer(
                state,
                enriched,
                currency=currency,
                defaults=mapping.defaults if mapping is not None else None,
            )
            errors = validate_offer(
                body,
                parameters,
                currency=currency,
                catalogue_linked=enriched.product_id is not None,
                catalogue_images=enriched.catalogue_images,
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
        """Create, change or end the SKU's offer (:meth:`workers.publish.PublishStep.publish`)."""
        self.publish_step.publish(data)


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
