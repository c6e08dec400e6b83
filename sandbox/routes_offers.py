"""Offers: ``/sale/product-offers`` (create, read, edit, parts, operations); the seller's
offer search ``GET /sale/offers`` is in ``routes_offer_search``.

A body is checked as Allegro does, each step answering 422 alone when it fails: JSON types
(``JsonMappingException``), unknown or read-only properties (``UnknownJSONProperty``), then
the offer rules (every problem at once). POST and PATCH answer synchronously (201/200) or,
per ``async_ratio``, 202 with an operation that completes after ``async_delay_s``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from sandbox.api import READ, WRITE, Call, endpoint, too_many_requests
from sandbox.clock import iso_millis
from sandbox.lifecycle import (
    activate,
    archived,
    check_offer,
    draw,
    end,
    merge_patch,
    start_operation,
    stock_available,
    with_filled,
)
from sandbox.offer_views import render_offer, render_parts
from sandbox.responses import (
    AllegroJSON,
    ApiError,
    access_denied,
    bad_request,
    error_item,
    not_found,
)
from sandbox.state import Offer, Operation
from sandbox.validation import check_types, check_unknown_properties, validate_offer

__all__ = ["routes"]

# -- shared steps ------------------------------------------------------------------------------


def _count_write(call: Call) -> None:
    state = call.state
    if not state.limits.offer_write_allowed(call.login, call.now, state.config):
        raise too_many_requests(state, 60, "Too many product-offer changes for this seller.")


def _unprocessable(errors: list[dict[str, Any]]) -> ApiError:
    return ApiError.errors(422, *errors)


def _checked_body(body: Any, *, for_patch: bool) -> dict[str, Any]:
    """Allegro's mapper first: unknown properties, then JSON types (each answered alone)."""
    if isinstance(body, dict):
        unknown = check_unknown_properties(body, for_patch=for_patch)
        if unknown:
            raise _unprocessable(unknown)
    mistyped = check_types(body)  # also refuses a body that is not an object
    if mistyped:
        raise _unprocessable(mistyped)
    if not isinstance(body, dict):
        raise bad_request(422, "JsonMappingException", "Message is not readable.")
    return body


def _requested_status(body: dict[str, Any]) -> Any:
    publication = body.get("publication")
    return publication.get("status") if isinstance(publication, dict) else None


def _without_status(body: dict[str, Any]) -> dict[str, Any]:
    stored = dict(body)
    publication = stored.get("publication")
    if isinstance(publication, dict) and "status" in publication:
        stored["publication"] = {k: v for k, v in publication.items() if k != "status"}
    return stored


_REFERENCES = (
    ("delivery", "shippingRates"),
    ("afterSalesServices", "impliedWarranty"),
    ("afterSalesServices", "returnPolicy"),
    ("afterSalesServices", "warranty"),
)


def _by_name_replaces_id(patch: dict[str, Any]) -> dict[str, Any]:
    """A reference patched by ``name`` alone drops the stored ``id`` (which would otherwise
    survive the merge and win over the new name)."""
    result = dict(patch)
    for outer, inner in _REFERENCES:
        group = result.get(outer)
        ref = group.get(inner) if isinstance(group, dict) else None
        if isinstance(group, dict) and isinstance(ref, dict) and "name" in ref and "id" not in ref:
            result[outer] = {**group, inner: {"id": None, **ref}}
    return result


def _status_refusal(message: str) -> ApiError:
    return _unprocessable(
        [error_item("OfferStatusChangeNotAllowedException", message, path="publication.status")]
    )


def _product_ids(
    call: Call, found: list[str | None], previous: list[str | None] | None = None
) -> list[str | None]:
    """Catalogue ids as validation resolved them; a new product (no catalogue match) gets a
    proposal id, kept across later edits."""
    ids: list[str | None] = []
    for index, pid in enumerate(found):
        if pid is None:
            earlier = previous[index] if previous and index < len(previous) else None
            pid = (
                earlier
                if earlier and call.state.catalog.product(earlier, shared=True) is None
                else call.state.new_uuid()
            )
        ids.append(pid)
    return ids


def _offer_id(call: Call) -> str:
    offer_id = str(call.request.path_params["offer_id"])
    if not offer_id.isdigit():
        raise bad_request(
            400, "IllegalArgumentException", "Invalid offer ID format", path="offerId"
        )
    return offer_id


def _own_offer(call: Call) -> Offer:
    offer_id = _offer_id(call)
    offer = call.state.offers.get(offer_id)
    if offer is None or archived(offer, call.now):
        raise not_found(
            f"Offer {offer_id} not found",
            code="OfferNotFoundException",
            metadata={"offerId": offer_id},
        )
    if offer.seller != call.login:
        raise access_denied()
    return offer


def _show(
    call: Call, offer: Offer, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = render_offer(offer, call.state.catalog, call.seller)
    return AllegroJSON(body, status_code=status, headers=headers)


def _accepted(call: Call, offer: Offer, operation: Operation) -> Response:
    location = f"{call.base_url()}/sale/product-offers/{offer.id}/operations/{operation.id}"
    return _show(
        call,
        offer,
        202,
        {"Location": location, "Retry-After": str(call.state.config.retry_after_s)},
    )


#: What the activation_refusal_ratio knob makes Allegro's check at activation report.
_ACTIVATION_REFUSAL = error_item(
    "OfferImagesNotAvailableException",
    "The offer's images could not be downloaded; the offer was not published.",
    path="images",
    user_message="We could not download the offer's images. Check the image URLs.",
)


# -- POST /sale/product-offers -----------------------------------------------------------------


@endpoint(scope=WRITE, body=True)
async def create_offer(call: Call) -> Response:
    state, now, seller = call.state, call.now, call.seller
    _count_write(call)
    body = _checked_body(call.body, for_patch=False)
    requested = _requested_status(body)
    if requested == "ENDED":
        raise _status_refusal("A new offer cannot be created as ENDED.")
    activating = requested != "INACTIVE"
    asynchronous = draw(state, state.config.async_ratio)
    # Allegro's full check at activation may leave the new offer a draft with errors
    # instead of answering 422 (issues #13924, #9234): the activation_refusal_ratio knob.
    refused = activating and draw(state, state.config.activation_refusal_ratio)
    check = validate_offer(body, state.catalog, seller, activating=activating)
    # Problems found while publishing (no stock) come back from the operation after a 202
    # (issue #11011), not from the POST.
    errors, deferred = check.split() if asynchronous else (check.errors, [])
    if errors:
        raise _unprocessable(errors)
    offer = Offer(
        id=state.next_offer_id(),
        seller=call.login,
        body=with_filled(_without_status(body), check.filled),
        product_ids=_product_ids(call, check.product_ids),
        created_at=now,
        updated_at=now,
        validated_at=now,
        validation_errors=check.pending,
    )
    state.offers.add(offer)
    if not asynchronous:
        if refused:
            offer.validation_errors = [*offer.validation_errors, _ACTIVATION_REFUSAL]
        elif activating:
            activate(state, offer, now)
        return _show(call, offer, 201)

    def finish(due: float) -> list[dict[str, Any]]:
        offer.validated_at = due
        if deferred:
            offer.validation_errors = deferred
        elif refused:
            offer.validation_errors = [*offer.validation_errors, _ACTIVATION_REFUSAL]
        elif activating:
            activate(state, offer, due)
        return deferred

    return _accepted(call, offer, start_operation(state, offer, now, finish))


# -- GET /sale/product-offers/{id}, /parts, /operations/{id} ------------------------------------


@endpoint(scope=READ)
async def get_offer(call: Call) -> Response:
    state = call.state
    # Its own per-seller limit (FACTS §3: 3,500 a minute), counted before the lookup.
    if not state.limits.offer_read_allowed(call.login, call.now, state.config):
        raise too_many_requests(state, 60, "Too many reads of product offers for this seller.")
    return _show(call, _own_offer(call))


@endpoint(scope=READ)
async def get_parts(call: Call) -> Response:
    include = call.request.query_params.getlist("include")
    unknown = [part for part in include if part not in ("stock", "price")]
    if not include or unknown:
        raise bad_request(
            400,
            "IllegalArgumentException",
            f"Unsupported part name: {', '.join(unknown)}"
            if unknown
            else "Required parameter 'include' is missing",
            path="include",
        )
    offer = _own_offer(call)
    return AllegroJSON(render_parts(offer, call.seller, set(include)))


@endpoint(scope=READ)
async def get_operation(call: Call) -> Response:
    offer = _own_offer(call)
    operation_id = str(call.request.path_params["operation_id"])
    operation = call.state.operations.get(operation_id)
    if operation is None or operation.offer_id != offer.id:
        raise not_found(f"Operation {operation_id} not found")
    if not operation.done:
        return AllegroJSON(
            {
                "offer": {"id": offer.id},
                "operation": {
                    "id": operation.id,
                    "status": "IN_PROGRESS",
                    "startedAt": iso_millis(operation.started_at),
                },
            },
            status_code=202,
            headers={"Retry-After": str(call.state.config.retry_after_s)},
        )
    if operation.errors:
        raise _unprocessable(operation.errors)
    return Response(
        status_code=303, headers={"Location": f"{call.base_url()}/sale/product-offers/{offer.id}"}
    )


# -- PATCH /sale/product-offers/{id} -----------------------------------------------------------


@endpoint(scope=WRITE, body=True)
async def edit_offer(call: Call) -> Response:
    state, now, seller = call.state, call.now, call.seller
    _count_write(call)
    offer = _own_offer(call)
    patch = _checked_body(call.body, for_patch=True)
    if offer.operation_id is not None:
        raise ApiError.errors(
            409,
            error_item(
                "ConflictException",
                "The previous edition of the offer is still being processed.",
                user_message="The offer is still being processed. Try again in a moment.",
            ),
        )
    requested = _requested_status(patch)
    if requested not in (None, "ACTIVE", "ENDED", "INACTIVE"):
        raise _status_refusal("publication.status may only be set to ACTIVE or ENDED.")
    if requested == "INACTIVE" and offer.status != "INACTIVE":
        raise _status_refusal("An offer cannot return to INACTIVE once it has been activated.")
    if requested == "ENDED" and offer.status == "INACTIVE":
        raise _status_refusal("An offer that was never activated cannot be ended.")
    live = offer.status in ("ACTIVE", "ACTIVATING")
    merged = merge_patch(offer.body, _by_name_replaces_id(_without_status(patch)))
    if requested == "ENDED" and live:
        ending: str | None = "USER"
    elif live and requested != "ACTIVE" and stock_available(merged) < 1:
        ending = "EMPTY_STOCK"  # Stock.available: setting 0 ends an active offer
    else:
        ending = None
    reactivating = requested == "ACTIVE" and offer.status in ("INACTIVE", "ENDED")
    check = check_offer(
        state,
        merged,
        seller,
        status="ENDED" if ending == "USER" else requested or offer.status,
        activating=requested == "ACTIVE",
    )
    if check.errors:
        if ending == "USER":
            end(offer, "USER", now)  # ENDED is applied even when the rest of the edit fails
        raise _unprocessable(check.errors)
    product_ids = _product_ids(call, check.product_ids, offer.product_ids)
    stored = with_filled(merged, check.filled)

    def apply(due: float) -> list[dict[str, Any]]:
        offer.body = stored
        offer.product_ids = product_ids
        offer.validated_at = due
        offer.validation_errors = check.pending
        offer.updated_at = due
        offer.revision += 1
        if ending is not None:
            end(offer, ending, due)
        elif reactivating:
            activate(state, offer, due)
        return []

    if draw(state, state.config.async_ratio):
        return _accepted(call, offer, start_operation(state, offer, now, apply))
    apply(now)
    return _show(call, offer)


routes = [
    Route("/sale/product-offers", create_offer, methods=["POST"]),
    Route("/sale/product-offers/{offer_id}", get_offer, methods=["GET"]),
    Route("/sale/product-offers/{offer_id}", edit_offer, methods=["PATCH"]),
    Route("/sale/product-offers/{offer_id}/parts", get_parts, methods=["GET"]),
    Route(
        "/sale/product-offers/{offer_id}/operations/{operation_id}", get_operation, methods=["GET"]
    ),
]
