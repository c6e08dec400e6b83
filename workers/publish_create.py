"""Creating an offer without ever creating two (a part of :class:`workers.publish.PublishStep`).

A creation may take long: Allegro answers the POST with 202, the offer's id and its
operation, and the content check behind it "can take up to 2 hours" (FACTS.md §6). So the
202 is not waited through blindly: the offer is saved in the registry at once, with the
operation's URL (``OfferRecord.operation_url``) and the fingerprint of the body POSTed,
before the operation is polled. Whatever happens next (the polling budget
``operation_poll_max_s`` runs out: the message is deferred; a poll fails; the worker dies),
the next run of any message of the SKU finds the offer in the registry and polls its
operation again instead of planning, so the POST is never repeated. Once the operation
finished, the offer is this run's outcome when it holds the body the run wants, and is
otherwise changed like any offer. An offer found by ``external.id`` after a POST whose answer
was lost, or one to activate after its creation, is saved before the next call for the same
reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import structlog

from workers.allegro import (
    AllegroClient,
    AllegroError,
    BadRequest,
    Forbidden,
    InvalidRequest,
    NotAcceptable,
    NotFound,
    OfferResult,
    OperationPending,
    TransientError,
    Unauthorized,
    ValidationFailed,
)
from workers.allegro.offers import OFFERS_PATH
from workers.broker import Payload
from workers.domain.plan import PublishPlan, content, fingerprint, plan_publish
from workers.middleware import OPERATION_WAIT_MS, Deferred
from workers.publish_outcome import OutcomeMixin, Run
from workers.store import OfferRecord

__all__ = ["CreationMixin", "nothing_created"]

log = structlog.get_logger("workers.publish")

#: The POST's own refusals: Allegro answered and created nothing.
_REFUSALS: tuple[type[AllegroError], ...] = (
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    NotAcceptable,
    ValidationFailed,
)


def nothing_created(exc: AllegroError) -> bool:
    """Whether a failed ``create_offer`` certainly left no offer on Allegro: the POST itself
    was refused or never sent. A failure after Allegro took the POST (polling its
    operation, reading the offer) or one that may have been applied is not."""
    if isinstance(exc, InvalidRequest):
        return True  # refused locally, before anything was sent
    if exc.while_authenticating:
        return True  # no token to send it with, or a 401 that refused it
    if (exc.method, exc.path) != ("POST", OFFERS_PATH):
        return False
    if isinstance(exc, TransientError):
        return not exc.maybe_applied
    return isinstance(exc, _REFUSALS) and not getattr(exc, "offer_id", None)


class CreationMixin(OutcomeMixin):
    """Creating the SKU's offer, and following a creation Allegro is still processing."""

    def _known(self, payload: Payload, result: OfferResult) -> OfferRecord:
        """Save the offer of ``result`` in the registry as it is (no body of ours yet), so
        that a failure of the next call never leads to a second POST."""
        assert result.offer_id is not None
        record = OfferRecord(
            account=payload.account,
            sku=payload.sku,
            offer_id=result.offer_id,
            publication_status=result.offer.status,
        )
        self.services.store.save_offer(record)
        return record

    def create(
        self, client: AllegroClient, payload: Payload, body: dict[str, Any], run: Run
    ) -> OfferResult:
        """``POST /sale/product-offers``, its intent committed first (see the module doc).
        A 202 saves the offer in the registry with its operation before the operation is
        polled; one still running after the polling budget defers the message."""
        store = self.services.store
        intent = store.record_create_intent(payload.account, payload.sku)
        log.info("offer.creating", attempts=intent.attempts)
        try:
            result = client.create_offer(body, resend_if_unsure=False, wait=False)
        except AllegroError as exc:
            if nothing_created(exc):
                store.clear_create_intent(payload.account, payload.sku)
            raise
        if result.recovered:
            run.record = self._known(payload, result)
        if not result.pending or result.operation is None:
            return result
        operation = result.operation
        if result.offer_id is not None:
            run.record = OfferRecord(
                account=payload.account,
                sku=payload.sku,
                offer_id=result.offer_id,
                publication_status=result.offer.status,
                fingerprint=fingerprint(content(body)),
                operation_url=operation.url,
            )
            store.save_offer(run.record)
        return self._wait(client, operation.url, operation.retry_after_s)

    def _wait(
        self, client: AllegroClient, url: str, retry_after_s: float | None = None
    ) -> OfferResult:
        """Poll the creation operation at ``url``; defer the message while it runs."""
        try:
            return client.wait_operation(url, retry_after_s=retry_after_s)
        except OperationPending as exc:
            # The offer is in the registry with its operation: the next run polls on.
            raise Deferred(
                f"Allegro is still creating offer {exc.offer_id}", delay_ms=OPERATION_WAIT_MS
            ) from exc

    def resume_creation(
        self,
        client: AllegroClient,
        payload: Payload,
        run: Run,
        wanted: dict[str, Any] | None,
    ) -> PublishPlan | None:
        """Poll the creation still running for ``run.record`` (never POST again). When it
        finished with ``wanted`` (the body this run would POST; None: a deleted product or
        a stock/price change), the creation is this run's outcome (its plan is returned);
        otherwise the offer is saved as it is and planned as usual (None). A creation
        Allegro knows nothing of any more is forgotten (``run.record`` None)."""
        pending = run.record
        assert pending is not None and pending.operation_url is not None
        try:
            result = self._wait(client, pending.operation_url)
        except NotFound:
            # The operation is gone from Allegro (kept for a while only): read the offer.
            try:
                offer = client.get_offer(pending.offer_id)
            except NotFound:
                self.forget(payload, pending)
                run.record = None
                return None
            result = OfferResult(offer=offer, status=200, trace_id=offer.trace_id)
        run.result = result
        done = replace(
            pending,
            publication_status=result.offer.status or pending.publication_status,
            operation_url=None,
        )
        run.record = done
        run.first = True
        if wanted is not None:
            plan = plan_publish(desired=wanted, published=None, offer_status=None, deleted=False)
            if plan.expected is not None and fingerprint(plan.expected) == pending.fingerprint:
                return plan
        run.result = None
        self.services.store.save_offer(replace(done, fingerprint=None))
        return None

    def forget(self, payload: Payload, record: OfferRecord) -> None:
        """Remove the registry entry of an offer Allegro no longer knows."""
        self.services.store.forget_offer(payload.account, payload.sku, record.offer_id)
        log.warning(
            "offer.gone",
            offer_id=record.offer_id,
            publication_status=record.publication_status,
            action="forgotten; a product with content gets a new offer",
        )
