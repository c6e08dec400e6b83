"""Offer state changes: activation (possibly scheduled), ending, asynchronous operations and
JSON Merge Patch. Pure state manipulation; the HTTP side is in routes_offers.py.

Allegro's rules kept here:
- an offer is activated only with stock of at least 1;
- ``publication.startingAt`` in the future makes it ACTIVATING until then;
- it never returns to INACTIVE once activated;
- an async operation keeps its offer busy (PATCH answers 409) until it completes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandbox.catalog import Seller
from sandbox.clock import parse_timestamp
from sandbox.state import Offer, Operation, SandboxState
from sandbox.validation import OfferCheck, validate_offer

__all__ = [
    "ARCHIVE_AFTER_S",
    "activate",
    "archived",
    "check_offer",
    "draw",
    "end",
    "merge_patch",
    "set_stock_available",
    "start_operation",
    "stock_available",
    "with_filled",
]

#: An ENDED offer not resumed within 60 days is archived: 404 from then on [FACTS §11].
ARCHIVE_AFTER_S = 60 * 24 * 3600


def archived(offer: Offer, now: float) -> bool:
    return (
        offer.status == "ENDED"
        and offer.ended_at is not None
        and now - offer.ended_at >= ARCHIVE_AFTER_S
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, ``null`` removes, anything else (arrays too)
    replaces. Returns a new value; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def stock_available(body: dict[str, Any]) -> int:
    stock = body.get("stock")
    value = stock.get("available") if isinstance(stock, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def set_stock_available(offer: Offer, available: int) -> None:
    """Give ``offer`` a new body whose ``stock.available`` is ``available`` (the rest of
    ``stock`` kept)."""
    stock = dict(offer.body.get("stock") or {})
    stock["available"] = available
    offer.body = {**offer.body, "stock": stock}


def check_offer(
    state: SandboxState,
    body: dict[str, Any],
    seller: Seller,
    *,
    status: str | None,
    activating: bool,
) -> OfferCheck:
    """Validate ``body`` as an offer whose ``publication.status`` is ``status`` (which
    decides whether the publishing rules apply); ``activating``: the request asks for
    publication, so a stock below 1 is an error."""
    publication = body.get("publication")
    publication = dict(publication) if isinstance(publication, dict) else {}
    if status is None:
        publication.pop("status", None)
    else:
        publication["status"] = status
    return validate_offer(
        {**body, "publication": publication}, state.catalog, seller, activating=activating
    )


def with_filled(body: dict[str, Any], filled: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the values validation chose (dotted paths: the product's name and
    category, default or by-name shipping rates and after-sales policies resolved to ids).

    ``body`` is left as it is; only the objects on the filled paths are copied, the rest is
    shared with it. Callers hand over a body that nothing else holds (a parsed request, a
    merge result), and a stored body is replaced, never changed in place."""
    result = dict(body)
    for dotted, value in filled.items():
        node = result
        *parents, leaf = dotted.split(".")
        for key in parents:
            child = node.get(key)
            child = node[key] = dict(child) if isinstance(child, dict) else {}
            node = child
        node[leaf] = copy.deepcopy(value)
    return result


def draw(state: SandboxState, ratio: float) -> bool:
    """A seeded yes that comes up with probability ``ratio`` (a ``*_ratio`` knob of offer
    processing: ``async_ratio``, ``activation_refusal_ratio``); 0 and 1 take nothing from
    the generator."""
    if ratio <= 0.0:
        return False
    if ratio >= 1.0:
        return True
    return state.async_rng.random() < ratio


def _starting_at(body: dict[str, Any]) -> float | None:
    publication = body.get("publication")
    return parse_timestamp(publication.get("startingAt") if isinstance(publication, dict) else None)


def activate(
    state: SandboxState, offer: Offer, now: float, scheduled_for: float | None = None
) -> None:
    """Publish ``offer`` now, or make it ACTIVATING until ``scheduled_for`` (or the body's
    ``publication.startingAt``) when that lies in the future."""
    when = scheduled_for if scheduled_for is not None else _starting_at(offer.body)
    offer.revision += 1
    offer.ended_by = None
    offer.ended_at = None
    if when is not None and when > now:
        offer.status = "ACTIVATING"
        revision = offer.revision

        def go_live(due: float) -> None:
            if offer.revision == revision and offer.status == "ACTIVATING":
                offer.status = "ACTIVE"
                offer.started_at = due
                offer.updated_at = due

        state.scheduler.at(when, go_live)
        return
    offer.status = "ACTIVE"
    offer.started_at = now


def end(offer: Offer, by: str, now: float) -> None:
    """End an ACTIVE or ACTIVATING offer (``endedBy`` USER, EMPTY_STOCK, ...)."""
    offer.revision += 1
    offer.status = "ENDED"
    offer.ended_by = by
    offer.ended_at = now
    offer.updated_at = now


def start_operation(
    state: SandboxState, offer: Offer, now: float, complete: Callable[[float], list[dict[str, Any]]]
) -> Operation:
    """Begin an async operation on ``offer``; after ``async_delay_s`` of sandbox time
    ``complete(due)`` runs and returns the operation's errors (empty when it succeeded)."""
    operation = Operation(
        id=state.new_uuid(),
        offer_id=offer.id,
        seller=offer.seller,
        started_at=now,
        due_at=now + state.config.async_delay_s,
    )
    state.operations[operation.id] = operation
    offer.operation_id = operation.id

    def finish(due: float) -> None:
        offer.operation_id = None
        operation.errors = complete(due)
        operation.done = True
        offer.updated_at = due

    state.scheduler.at(operation.due_at, finish)
    return operation
