"""The seller's offer search ``GET /sale/offers``: filters, sort and paging over the offers
of the token's seller, each found offer shown as an ``OfferListingDto``.

A search filtered by ``offer.id`` or ``external.id`` (what a client does before publishing,
to find an offer it may already have) takes its candidates from the offer store's indexes;
any other search goes over the seller's offers. Either way every candidate then passes the
same filter, and only the page returned is rendered.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import Response
from starlette.routing import Route

from sandbox.api import READ, Call, endpoint
from sandbox.lifecycle import archived, stock_available
from sandbox.offer_views import offer_category_id, render_listing
from sandbox.responses import AllegroJSON, invalid_parameter
from sandbox.state import Offer, external_id

__all__ = ["routes"]

_OFFER_STATUSES = ("INACTIVE", "ACTIVATING", "ACTIVE", "ENDED")
_FORMATS = ("BUY_NOW", "AUCTION", "ADVERTISEMENT")
_SORTS = {
    "sellingMode.price.amount",
    "-sellingMode.price.amount",
    "stock.sold",
    "-stock.sold",
    "stock.available",
    "-stock.available",
}
_MAX_EXTERNAL_ID = 100


def _price_value(offer: Offer) -> float:
    selling = offer.body.get("sellingMode")
    price = selling.get("price") if isinstance(selling, dict) else None
    try:
        return float(price["amount"]) if isinstance(price, dict) else 0.0
    except (KeyError, TypeError, ValueError):
        return 0.0


def _candidates(call: Call, offer_ids: set[str], external_ids: list[str]) -> Iterable[Offer]:
    """The seller's offers that may pass the id filters: looked up by ``offer.id`` or in
    the ``external.id`` index when the query names either, else all of them. A superset of
    what the search finds; the filter decides."""
    offers = call.state.offers
    if offer_ids:
        found = (offers.get(offer_id) for offer_id in offer_ids)
        return [offer for offer in found if offer is not None and offer.seller == call.login]
    if external_ids:
        return offers.with_external_ids(call.login, external_ids)
    return offers.of_seller(call.login)


@endpoint(scope=READ)
async def search_offers(call: Call) -> Response:
    query = call.request.query_params
    offer_ids = set(query.getlist("offer.id"))
    external_ids = query.getlist("external.id")
    statuses = query.getlist("publication.status")
    formats = query.getlist("sellingMode.format")
    if len(external_ids) > 100:
        raise invalid_parameter("external.id", "external.id may be given at most 100 times")
    if any(len(value) > _MAX_EXTERNAL_ID for value in external_ids):
        raise invalid_parameter("external.id", "external.id must be at most 100 characters long")
    if any(status not in _OFFER_STATUSES for status in statuses):
        raise invalid_parameter("publication.status", "Unknown publication.status")
    if any(fmt not in _FORMATS for fmt in formats):
        raise invalid_parameter("sellingMode.format", "Unknown sellingMode.format")
    sort = query.get("sort")
    if sort is not None and sort not in _SORTS:
        raise invalid_parameter("sort", "Unknown sort order")
    limit = call.int_param("limit", 20, 1, 1000)
    offset = call.int_param("offset", 0, 0, 9_999_999)
    if offset + limit > 10_000_000:
        raise invalid_parameter("offset", "offset + limit must not exceed 10000000")
    name = (query.get("name") or "").casefold()
    category_id = query.get("category.id")
    catalog, seller = call.state.catalog, call.seller
    # Allegro's search index is not immediately consistent with offer writes: a new offer
    # may be missing from GET /sale/offers for a while (knob search_lag_s).
    indexed_before = call.now - call.state.config.search_lag_s

    def wanted(offer: Offer) -> bool:
        selling = offer.body.get("sellingMode")
        fmt = (selling.get("format") if isinstance(selling, dict) else None) or "BUY_NOW"
        return (
            offer.created_at <= indexed_before
            and not archived(offer, call.now)
            and (not offer_ids or offer.id in offer_ids)
            and (not external_ids or external_id(offer.body) in external_ids)
            and (not statuses or offer.status in statuses)
            and (not formats or fmt in formats)
            and (not category_id or offer_category_id(offer, catalog) == category_id)
            and (not name or name in str(offer.body.get("name") or "").casefold())
        )

    # (created_at, id) is unique, so the order does not depend on the candidates' order.
    found = sorted(
        (o for o in _candidates(call, offer_ids, external_ids) if wanted(o)),
        key=lambda o: (o.created_at, int(o.id)),
        reverse=True,
    )
    if sort is not None:
        key = sort.lstrip("-")
        found.sort(
            key=lambda o: (
                _price_value(o)
                if key == "sellingMode.price.amount"
                else o.sold
                if key == "stock.sold"
                else stock_available(o.body)
            ),
            reverse=sort.startswith("-"),
        )
    page = found[offset : offset + limit]
    return AllegroJSON(
        {
            "offers": [render_listing(offer, catalog, seller) for offer in page],
            "count": len(page),
            "totalCount": len(found),
        }
    )


routes = [Route("/sale/offers", search_offers, methods=["GET"])]
