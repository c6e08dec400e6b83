"""Staging: the ingest bridge's hand-off of a stock or price event to the batcher.

:meth:`Stager.stage` is called by the bridge where it would otherwise enqueue the publish
actor for the fast path (after the event was recorded in the store). It writes one row, in
one transaction, and never calls Allegro.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from schemas.events import EventType, ProductEvent, ProductPriceChanged, ProductStockChanged
from schemas.status import Status
from workers.domain.model import ProductState
from workers.status import status_for
from workers.store.base import OfferRecord

from .model import ChangeKind, StagedEvent, StageOutcome
from .repo import BatchRepo
from .reporting import Reporter

__all__ = ["Stager", "staged_event"]

log = structlog.get_logger(__name__)

#: Publication statuses of offers whose stock the batch commands can change.
STOCK_STATUSES = frozenset({"ACTIVE", "ACTIVATING", "ENDED"})
#: Publication statuses of offers whose price the batch commands can change.
PRICE_STATUSES = STOCK_STATUSES | {"INACTIVE"}


def staged_event(event: ProductEvent, offer: OfferRecord | None = None) -> StagedEvent | None:
    """The change a ``product.stock`` or ``product.price`` event brings, or None for other
    types."""
    if isinstance(event, ProductStockChanged):
        return StagedEvent(
            account=event.account,
            sku=event.sku,
            kind=ChangeKind.STOCK,
            value={"available": event.stock.available, "unit": event.stock.unit.value},
            version=event.version,
            event_id=event.event_id,
            offer_id=offer.offer_id if offer is not None else None,
        )
    if isinstance(event, ProductPriceChanged):
        return StagedEvent(
            account=event.account,
            sku=event.sku,
            kind=ChangeKind.PRICE,
            value={"amount": event.price.amount, "currency": event.price.currency},
            version=event.version,
            event_id=event.event_id,
            offer_id=offer.offer_id if offer is not None else None,
        )
    return None


def accepts(event: ProductEvent, state: ProductState, offer: OfferRecord | None) -> bool:
    """Whether the batch commands can carry ``event``: a stock or price event of a SKU that
    is not deleted, whose offer's body we published and whose status allows the change.
    Everything else keeps the publish actor's path."""
    if event.type not in (EventType.STOCK, EventType.PRICE) or state.deleted:
        return False
    if offer is None or offer.published_body is None:
        return False
    status = (offer.publication_status or "").upper()
    allowed = STOCK_STATUSES if event.type is EventType.STOCK else PRICE_STATUSES
    return status in allowed


class Stager:
    """Stages events for the batcher (see the module doc). ``reporter`` reports the
    SUPERSEDED status of an event that arrives after a newer one was sent."""

    def __init__(
        self, repo: BatchRepo, reporter: Reporter, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.repo = repo
        self.reporter = reporter
        self.clock = clock

    def stage(
        self,
        event: ProductEvent,
        state: ProductState,
        offer: OfferRecord | None,
        *,
        first_time: bool = False,
    ) -> bool:
        """Take ``event`` into the batcher: True when it did (its status will come from
        the batcher; the caller marks the event dispatched), False when the event is not
        for the batch commands (the caller enqueues the publish actor as before).

        A duplicate of a staged event is taken (True) and changes nothing.
        ``first_time``: see :meth:`BatchRepo.stage`. Raises the store's errors (the caller
        retries the delivery)."""
        if not accepts(event, state, offer):
            return False
        staged = staged_event(event, offer)
        if staged is None:
            return False
        outcome = self.repo.stage(staged, self.clock(), first_time=first_time)
        if outcome is StageOutcome.SUPERSEDED:
            self.reporter.report(
                status_for(
                    {
                        "event_id": event.event_id,
                        "sku": event.sku,
                        "account": event.account,
                        "version": event.version,
                    },
                    Status.SUPERSEDED,
                    offer_id=offer.offer_id if offer is not None else None,
                )
            )
        log.debug("batch.staged", kind=staged.kind.value, outcome=outcome.value)
        return True
