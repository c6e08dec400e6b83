"""The publish step: create, change or end the SKU's offer on Allegro.

Under the SKU's lease (another worker holding it defers the message): skip a redelivery
whose event already has its status; find the offer (the registry, else Allegro's
``GET /sale/offers?external.id=``, minding creation intents, below); plan with
``workers.domain.plan``; make at most the planned calls; save the registry entry; report.

**No duplicate offer, even when Allegro's search lags.** ``POST /sale/product-offers`` is
not idempotent, and an offer whose creation answer was lost can only be found by its
``external.id``, through a search that Allegro does not promise to be up to date at once.
So "not found" after an uncertain POST proves nothing, and:

1. before every POST the step commits a creation intent for the SKU to the store
   (``Store.record_create_intent``: account, SKU, attempts, time of the latest POST);
2. the client sends the POST once (``resend_if_unsure=False``): after a failure that may
   have been applied it searches once and, finding nothing, raises; the message is retried;
3. a run that finds no offer in the registry searches by ``external.id``: found → adopted
   (saving the registry entry clears the intent); not found while an intent of an earlier
   attempt is younger than the grace (``Settings.create_grace_s``) → the message is deferred
   (:class:`~workers.middleware.Deferred`, looking again every :data:`CREATE_RECHECK_MS`)
   instead of POSTing again; not found after the grace → Allegro really created nothing:
   POST again;
4. a POST that Allegro certainly refused or that was never sent (400/401/403/404/406/422,
   429, connection refused) clears the intent at once, so a corrected event does not wait;
5. a 202 puts the offer in the registry at once, with its operation, before the operation
   is polled; a later run polls that operation and never POSTs (``workers.publish_create``).

**Allegro's answer decides the status** (``workers.publish_outcome``): an offer meant to be
for sale that comes back INACTIVE or ENDED is activated in the same run when nothing stands
in the way (Allegro ended it itself, or a failed creation left a draft), and is otherwise
REJECTED with Allegro's errors. **An offer Allegro no longer knows** (404: archived 60 days
after it ended, or a deleted draft) is forgotten; the product gets a new offer, a deleted
one ends there.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from schemas.status import Status
from workers.allegro import (
    AllegroClient,
    AllegroError,
    NotFound,
    OperationFailed,
    ValidationFailed,
)
from workers.allegro.offers import OFFERS_PATH
from workers.broker import Payload, is_superseded
from workers.domain.model import ProductState
from workers.domain.offer import stock_price_overlay
from workers.domain.plan import (
    ACTIVATE_PATCH,
    PublishAction,
    PublishPlan,
    needs_activation,
    plan_publish,
)
from workers.middleware import Deferred
from workers.publish_create import CreationMixin, nothing_created
from workers.publish_outcome import Run
from workers.store import CreateIntent, OfferRecord, Store
from workers.topology import Step

if TYPE_CHECKING:
    from workers.services import Services

__all__ = ["CREATE_RECHECK_MS", "LEASE_WAIT_MS", "PublishStep", "nothing_created"]

log = structlog.get_logger(__name__)

#: Wait for a SKU lease held by another worker: a random pause in this range, ms.
LEASE_WAIT_MS = (200, 1_000)
#: While an intent is within its grace, look for the offer again after this long, ms.
CREATE_RECHECK_MS = 5_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PublishStep(CreationMixin):
    """The publish actor's function (:meth:`publish`) and its parts.

    ``clock`` returns the time the age of a creation intent is measured against (the
    store stamps intents with its own clock; hosts keep their clocks in sync, as for
    leases).
    """

    def __init__(self, services: Services, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(services)
        self.clock = clock or _utc_now

    def publish(self, data: dict[str, Any]) -> None:
        """Create, change or end the SKU's offer under its lease (see the module doc)."""
        payload = Payload.from_dict(data)
        # Checked before the lease as well (and again under it): a duplicate or superseded
        # message is dropped at once instead of being deferred behind another worker's lease.
        if self.pending_state(payload) is None:
            return
        store = self.services.store
        owner = self.services.owner()
        if not store.acquire_lease(payload.account, payload.sku, owner, self.settings.sku_lease_s):
            raise Deferred(
                f"SKU {payload.sku} is being published by another worker",
                delay_ms=random.randint(*LEASE_WAIT_MS),
            )
        lease = _Lease(store, payload.account, payload.sku, owner)
        try:
            self.publish_leased(payload, lease)
        finally:
            if not lease.released:
                store.release_lease(payload.account, payload.sku, owner)

    def publish_leased(self, payload: Payload, lease: _Lease | None = None) -> None:
        """The publication under the SKU's lease; ``lease`` (when given) is released with
        the outcome's writes, in the same store transaction."""
        # Read again under the lease: another worker may have published meanwhile.
        state = self.pending_state(payload)
        if state is None:
            return
        client = self.services.client(payload.account)
        deleted = state.deleted or payload.mode == "delete"
        run = Run(self.services.store.get_offer(payload.account, payload.sku))
        try:
            plan = self.run_calls(client, payload, state, run, deleted=deleted)
        except (ValidationFailed, OperationFailed) as exc:
            with self._outcome(lease):
                self.rejected_by_allegro(payload, run, exc)
            return
        if plan is None:
            return  # handed on to the content path
        saved, message = self.prepare_outcome(payload, state, plan, run, deleted=deleted)
        with self._outcome(lease):
            self.save_outcome(saved, message)

    def run_calls(
        self,
        client: AllegroClient,
        payload: Payload,
        state: ProductState,
        run: Run,
        *,
        deleted: bool,
    ) -> PublishPlan | None:
        """Find the offer, plan, make the planned calls (``run`` keeps the offer and the
        last answer); the plan, or None when the message was handed to the content path."""
        if run.record is not None and run.record.operation_url:
            # The body this run wants, to tell whether the finished creation gave it.
            wanted = None if deleted else self.desired(payload, state, None, deleted=False)
            resumed = self.resume_creation(client, payload, run, wanted)
            if resumed is not None:
                return resumed
        if run.record is None:
            run.record = self.find_unrecorded(client, payload)
        plan = self.plan(payload, state, run, deleted=deleted)
        if plan is None:
            return None
        try:
            self.execute(client, payload, plan, run, deleted=deleted)
        except NotFound as exc:
            if run.record is None or not _about_offer(exc, run.record.offer_id):
                raise
            return self.offer_gone(client, payload, state, run, deleted=deleted)
        return plan

    def plan(
        self, payload: Payload, state: ProductState, run: Run, *, deleted: bool
    ) -> PublishPlan | None:
        """What to send for ``run.record`` (None: handed on to the content path)."""
        record = run.record
        # No body of ours on the offer yet: found by external.id (a crash or a lost answer
        # after Allegro created it) or left by a failed operation. Succeeding now is the
        # SKU's first publication, even though it takes a PATCH.
        run.first = record is None or record.published_body is None
        desired = self.desired(payload, state, record, deleted=deleted)
        if desired is None:
            # A stock/price change of an offer whose content we never sent: do it in full.
            self.forward(Step.CATEGORIZE, payload.replace(mode="content"))
            return None
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
        return plan

    @contextmanager
    def _outcome(self, lease: _Lease | None) -> Iterator[None]:
        """The outcome's writes (registry, status) and the lease's release in one store
        transaction where the store groups writes (SQLite: one commit instead of three);
        the status is published once that committed."""
        store = self.services.store
        with self.services.reporter.deferred():
            with store.unit_of_work():
                yield
                if lease is not None:
                    lease.release()
            if lease is not None:
                lease.released = True

    def pending_state(self, payload: Payload) -> ProductState | None:
        """The SKU's desired state when ``payload`` still has work to do; None when its
        event is already reported, or superseded (reported ``SUPERSEDED`` here)."""
        if self.already_reported(payload):
            return None
        state = self.load_state(payload)
        if is_superseded(state, payload, content_path=payload.mode == "content"):
            self.report(payload, Status.SUPERSEDED)
            return None
        return state

    # --- finding the offer ----------------------------------------------------------------

    def find_unrecorded(
        self, client: AllegroClient, payload: Payload, *, exclude: str | None = None
    ) -> OfferRecord | None:
        """The SKU's offer when the registry has none: adopted from Allegro's search, or
        None when there is none to find. Raises :class:`Deferred` while an earlier POST
        may have created one that the search does not list yet (see the module doc).
        ``exclude``: an offer id never to adopt (one Allegro answered 404 for)."""
        intent = self.services.store.create_intent(payload.account, payload.sku)
        record = self.adopt(client, payload, exclude=exclude)
        if record is not None or intent is None:
            return record
        age_s = (self.clock() - intent.attempted_at).total_seconds()
        # Allegro does not say how soon GET /sale/offers lists a new offer (FACTS.md §9 is
        # silent; in practice within seconds). The grace only delays the retry of a
        # creation that really failed, never a normal publication: a generous default
        # costs little.
        grace_s = self.settings.create_grace_s
        if age_s < grace_s:
            self.wait_for_search(intent, age_s, grace_s)
        log.warning(
            "offer.create_intent_expired",
            attempts=intent.attempts,
            age_s=round(age_s, 1),
            action="POST again: the earlier attempt created nothing",
        )
        return None

    @staticmethod
    def wait_for_search(intent: CreateIntent, age_s: float, grace_s: float) -> None:
        """Defer the message: an offer created by the POST ``age_s`` ago may still be
        missing from Allegro's search (believed after ``grace_s``)."""
        remaining_ms = int((grace_s - age_s) * 1000)
        delay_ms = max(1, min(CREATE_RECHECK_MS, remaining_ms))
        log.info(
            "offer.create_unconfirmed",
            attempts=intent.attempts,
            age_s=round(age_s, 1),
            grace_s=grace_s,
            recheck_in_ms=delay_ms,
        )
        raise Deferred(
            f"the POST of {intent.sku} {age_s:.1f} s ago may have created an offer that "
            "Allegro's search does not list yet",
            delay_ms=delay_ms,
        )

    def adopt(
        self, client: AllegroClient, payload: Payload, *, exclude: str | None = None
    ) -> OfferRecord | None:
        """The SKU's offer found on Allegro by ``external.id`` (saved in the registry), or
        None. Prefers an offer that is not ended; Allegro lists the newest first."""
        found = [
            o for o in client.find_offers_by_external_id([payload.sku]) if o.id and o.id != exclude
        ]
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

    # --- planning and calls ---------------------------------------------------------------

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
        # No deep copy of the base body: the message's body and the registry's are this
        # run's own, read only (planning copies what it sends and stores).
        if payload.mode == "content" and payload.body is not None:
            # Stock and price as stored now: a fast-path change may have come meanwhile.
            return stock_price_overlay(payload.body, state, copy_body=False)
        if published is None:
            return None
        return stock_price_overlay(published, state, copy_body=False)

    def execute(
        self,
        client: AllegroClient,
        payload: Payload,
        plan: PublishPlan,
        run: Run,
        *,
        deleted: bool,
    ) -> None:
        """The planned Allegro calls (``run.result``: the last answer, None when no call);
        then the activation the answer shows to be missing (:func:`needs_activation`)."""
        if plan.action is PublishAction.CREATE:
            if plan.body is None:
                raise ValueError("a CREATE plan without a body")
            run.result = self.create(client, payload, plan.body, run)
        else:
            for patch in plan.patches:
                if run.record is None:
                    raise ValueError(f"plan {plan.action} needs an offer in the registry")
                run.sent_end = run.sent_end or _ends(patch)
                run.result = client.update_offer(run.record.offer_id, patch)
        result = run.result
        if result is None or result.offer_id is None:
            return
        offer = result.offer
        refused = bool(offer.validation_errors)
        if not needs_activation(plan, offer.status, deleted=deleted, refused=refused):
            return
        # Allegro ended the offer itself (EMPTY_STOCK, EXPIRATION, ADMIN) or left a draft
        # while the registry said otherwise: stock > 0 alone does not bring it back (§11).
        log.warning("offer.not_live", offer_id=result.offer_id, publication_status=offer.status)
        if run.record is None or run.record.offer_id != result.offer_id:
            run.record = self._known(payload, result)
        run.result = client.update_offer(result.offer_id, ACTIVATE_PATCH)

    def offer_gone(
        self,
        client: AllegroClient,
        payload: Payload,
        state: ProductState,
        run: Run,
        *,
        deleted: bool,
    ) -> PublishPlan | None:
        """Allegro answered 404 for the registry's offer: archived 60 days after it ended,
        or a draft Allegro deleted (FACTS.md §11). The entry is forgotten; a deleted product
        ends there (ENDED), a product with content gets a new offer, created from its
        current desired state (a stock/price change goes through the content path)."""
        gone = run.record
        assert gone is not None
        self.forget(payload, gone)
        run.result = None
        if deleted:
            return PublishPlan(
                PublishAction.NOOP_ENDED, Status.ENDED, None, "deleted; the offer is gone"
            )
        run.record = self.find_unrecorded(client, payload, exclude=gone.offer_id)
        plan = self.plan(payload, state, run, deleted=False)
        if plan is not None:
            self.execute(client, payload, plan, run, deleted=False)
        return plan


def _ends(patch: dict[str, Any]) -> bool:
    publication = patch.get("publication")
    return isinstance(publication, dict) and publication.get("status") == "ENDED"


def _about_offer(exc: AllegroError, offer_id: str) -> bool:
    """Whether ``exc`` answered a call on the offer ``offer_id`` itself (its PATCH)."""
    return (exc.path or "").rstrip("/").endswith(f"{OFFERS_PATH}/{offer_id}")


class _Lease:
    """A SKU lease that :meth:`PublishStep._outcome` may give back with its writes."""

    def __init__(self, store: Store, account: str, sku: str, owner: str) -> None:
        self.store, self.account, self.sku, self.owner = store, account, sku, owner
        self.released = False

    def release(self) -> None:
        self.store.release_lease(self.account, self.sku, self.owner)
