"""Creating, changing, reading and finding offers (FACTS §6, §7, §9).

``POST /sale/product-offers`` is not idempotent: sending it twice makes two offers. So a
POST is re-sent only after failures that certainly did not reach Allegro (429, connection
refused, a 401 that was refreshed). After a failure that may have been applied (timeout,
broken connection, 5xx) the offer is first looked up by its ``external.id``; if it exists it
is returned (``OfferResult.recovered``), otherwise the POST is sent again. Without an
``external.id`` there is no safe way to tell, and the transient error is raised to the
caller. Allegro's search is not guaranteed to list a new offer at once, though: a caller
that keeps its own record of pending creations passes ``resend_if_unsure=False`` and gets
the failure instead of a second POST when the look-up finds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import structlog
from pydantic import BaseModel

from workers.allegro._base import ClientBase, segment, unique_offer_ids
from workers.allegro._http import ApiResponse, AuthMode, CallState, Retry
from workers.allegro.errors import (
    BadRequest,
    InvalidRequest,
    OperationFailed,
    OperationPending,
    PermanentError,
    TransientError,
    ValidationFailed,
    parse_error_items,
)
from workers.allegro.models import (
    OfferListing,
    OfferParts,
    OperationStatus,
    ProductOffer,
    parse_items,
    parse_model,
)
from workers.allegro.results import OfferResult, OperationRef

__all__ = ["OffersMixin"]

log = structlog.get_logger(__name__)

OFFERS_PATH = "/sale/product-offers"
#: Polling an operation never faster than this, whatever Retry-After says.
MIN_POLL_INTERVAL_S = 0.2
#: Poll interval when Allegro sends no Retry-After.
DEFAULT_POLL_INTERVAL_S = 1.0
EXTERNAL_ID_MAX_LEN = 100
#: external.id values per GET /sale/offers request (keeps the URL short).
EXTERNAL_IDS_PER_REQUEST = 20
#: offer.id values per GET /sale/offers request (a command's 1,000 offers: ten requests).
OFFER_IDS_PER_REQUEST = 100
OFFERS_PAGE_LIMIT = 1000
_OPERATION_PATH = re.compile(r"/sale/product-offers/([^/]+)/operations/([^/?]+)")
_OFFER_PATH = re.compile(r"/sale/product-offers/([^/?]+)/?$")


def _as_body(body: Mapping[str, Any] | BaseModel, *, patch: bool) -> dict[str, Any]:
    if isinstance(body, BaseModel):
        # A merge patch sends only what was set; null clears a field, so keep explicit Nones.
        return body.model_dump(
            mode="json", by_alias=True, exclude_unset=patch, exclude_none=not patch
        )
    if isinstance(body, Mapping):
        return dict(body)
    raise InvalidRequest(f"an offer body must be a mapping or a pydantic model, not {type(body)}")


def _external_id(body: Mapping[str, Any]) -> str | None:
    external = body.get("external")
    if isinstance(external, Mapping):
        value = external.get("id")
        if isinstance(value, str) and value.strip():
            return value
    return None


def _check_external_id(value: str) -> None:
    if not value.strip():
        raise InvalidRequest("external.id must not be empty")
    if len(value) > EXTERNAL_ID_MAX_LEN:
        raise InvalidRequest(
            f"external.id {value[:20]!r}... has {len(value)} characters; Allegro allows "
            f"{EXTERNAL_ID_MAX_LEN}"
        )


def _operation_ids(location: str) -> tuple[str | None, str | None]:
    """The offer id and the operation id an operation's URL (or path) names, or None."""
    match = _OPERATION_PATH.search(location)
    return (match.group(1), match.group(2)) if match else (None, None)


def _accepted(response: ApiResponse) -> OfferResult:
    """A 202 of the POST as a pending result: the offer as shown, its operation named."""
    offer = parse_model(ProductOffer, response.body, response.trace_id)
    location = response.location or ""
    offer_id, operation_id = _operation_ids(location)
    return OfferResult(
        offer=offer,
        status=202,
        trace_id=response.trace_id,
        operation=OperationRef(
            url=location,
            offer_id=offer.id or offer_id,
            operation_id=operation_id,
            retry_after_s=response.retry_after_s,
        ),
        pending=True,
    )


class OffersMixin(ClientBase):
    """Offer endpoints (all with the seller's token)."""

    # --- create / update ----------------------------------------------------------------

    def create_offer(
        self,
        body: Mapping[str, Any] | BaseModel,
        *,
        resend_if_unsure: bool = False,
        wait: bool = True,
    ) -> OfferResult:
        """Create an offer (``POST /sale/product-offers``) and wait for its final state.

        201 → done. 202 → the operation is polled (honouring Retry-After) until its 303,
        then the offer is read. Raises :class:`ValidationFailed` (422),
        :class:`OperationFailed` (the async processing failed), :class:`OperationPending`
        (still running after ``operation_poll_max_s``: resume with ``wait_operation``), or
        a transient error when the POST may have been applied and the body has no
        ``external.id`` to check that with.

        ``wait=False``: a 202 is returned at once (``OfferResult.pending``, the offer's
        id and ``operation`` set, the offer as the 202 showed it), so that the caller
        can record the offer before polling it with :meth:`wait_operation`.

        The POST is re-sent only after failures that certainly did not reach Allegro.
        After one that may have been applied the offer is looked up by ``external.id``
        once; when that finds nothing the failure is raised (``maybe_applied`` true):
        Allegro's search may not list a new offer yet, and a second POST would make a
        second offer. ``resend_if_unsure=True`` sends the POST again instead, for a
        caller that accepts that risk.
        """
        payload = _as_body(body, patch=False)
        external_id = _external_id(payload)
        if external_id is not None:
            _check_external_id(external_id)
        if external_id is not None and not resend_if_unsure:
            outcome = self._post_offer_once(payload, external_id)
        else:
            outcome = self._post_offer(payload, external_id, resend=resend_if_unsure)
        if isinstance(outcome, OfferResult):
            return outcome
        if not wait and outcome.status == 202 and outcome.location:
            return _accepted(outcome)
        return self._offer_result(outcome)

    def _post_offer_once(
        self, payload: dict[str, Any], external_id: str
    ) -> ApiResponse | OfferResult:
        try:
            return self._http.request(
                "POST", OFFERS_PATH, json=payload, ok=(201, 202), retry=Retry.UNSAFE
            )
        except TransientError as exc:
            if not exc.maybe_applied:
                raise
            found = self._recover_by_external_id(external_id, exc, resend=False)
            if found is None:
                raise
            return found

    def _post_offer(
        self, payload: dict[str, Any], external_id: str | None, *, resend: bool
    ) -> ApiResponse | OfferResult:
        # With an external id (and the caller's consent), ambiguous failures may be
        # retried because each retry first checks whether the previous attempt created
        # the offer.
        retry = Retry.SAFE if external_id and resend else Retry.UNSAFE
        call = CallState()
        ambiguous: TransientError | None = None
        for attempt in self._http.retrying(retry):
            with attempt:
                if ambiguous is not None and external_id is not None:
                    found = self._recover_by_external_id(external_id, ambiguous)
                    if found is not None:
                        return found
                try:
                    return self._http.send_once(
                        "POST", OFFERS_PATH, json=payload, ok=(201, 202), state=call
                    )
                except TransientError as exc:
                    if exc.maybe_applied:
                        ambiguous = exc
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _recover_by_external_id(
        self, external_id: str, failure: TransientError, *, resend: bool = True
    ) -> OfferResult | None:
        matches = self.find_offers_by_external_id([external_id])
        if not matches or not matches[0].id:
            self._log_recovery(external_id, failure, found=None, resend=resend)
            return None
        # GET /sale/offers lists the newest first.
        offer = self.get_offer(matches[0].id)
        self._log_recovery(external_id, failure, found=offer.id, resend=resend)
        return OfferResult(offer=offer, status=200, trace_id=offer.trace_id, recovered=True)

    def _log_recovery(
        self, external_id: str, failure: TransientError, found: str | None, *, resend: bool
    ) -> None:
        if found:
            action = "return the existing offer"
        else:
            action = "send the POST again" if resend else "raise: the caller decides"
        log.warning(
            "allegro.post_offer_ambiguous",
            external_id=external_id,
            error=type(failure).__name__,
            trace_id=failure.trace_id,
            found_offer_id=found,
            action=action,
        )

    def update_offer(self, offer_id: str, patch: Mapping[str, Any] | BaseModel) -> OfferResult:
        """Change an offer with a JSON merge patch (``PATCH /sale/product-offers/{id}``).

        Only the fields sent change; arrays are replaced whole; ``None`` clears a field.
        200 and 202 are handled alike (202 → poll until done). A 409 (previous edit still
        processing) is retried within the retry bounds, then raised as
        :class:`EditInProgress`.
        """
        payload = _as_body(patch, patch=True)
        response = self._http.request(
            "PATCH",
            f"{OFFERS_PATH}/{segment(offer_id, 'offer id')}",
            json=payload,
            ok=(200, 202),
            retry=Retry.SAFE,  # a merge patch gives the same result when applied twice
        )
        return self._offer_result(response, offer_id=offer_id)

    def _offer_result(self, response: ApiResponse, offer_id: str | None = None) -> OfferResult:
        offer = parse_model(ProductOffer, response.body, response.trace_id)
        if response.status != 202:
            return OfferResult(offer=offer, status=response.status, trace_id=response.trace_id)
        location = response.location
        if not location:
            # Without Location there is nothing to poll; read the offer instead.
            known_id = offer.id or offer_id
            if not known_id:
                raise PermanentError(
                    "Allegro accepted the offer (202) but sent neither Location nor an id",
                    **response.error_context,
                )
            final = self.get_offer(known_id)
            return OfferResult(offer=final, status=202, trace_id=response.trace_id)
        done = self.wait_operation(location, retry_after_s=response.retry_after_s)
        return OfferResult(
            offer=done.offer,
            status=response.status,
            trace_id=response.trace_id,
            operation=done.operation,
        )

    # --- operations ---------------------------------------------------------------------

    def wait_operation(self, location: str, *, retry_after_s: float | None = None) -> OfferResult:
        """Poll an offer operation (the ``Location`` of a 202) until it finishes.

        Waits Retry-After between polls (at least 0.2 s, at most ``retry_after_max_s``);
        the 303 that ends it is read without following it, then the offer is fetched.
        Raises :class:`OperationFailed` when the operation reports errors, and
        :class:`OperationPending` (carrying the offer id and ``location``) when it still
        runs after ``operation_poll_max_s``: call this method again later.
        """
        path = self._http.api_path(location)
        offer_id, operation_id = _operation_ids(path)
        deadline = self._clock() + self._settings.operation_poll_max_s
        wait_s = retry_after_s
        polls = 0
        last_trace_id: str | None = None
        while True:
            if wait_s is not None:
                wait_s = min(max(wait_s, MIN_POLL_INTERVAL_S), self._settings.retry_after_max_s)
                if self._clock() + wait_s > deadline:
                    raise OperationPending(
                        f"offer {offer_id} is still being processed by Allegro after "
                        f"{self._settings.operation_poll_max_s:g} s; resume with "
                        "wait_operation(operation_url)",
                        offer_id=offer_id,
                        operation_url=location,
                        method="GET",
                        path=path,
                        status=202,
                        trace_id=last_trace_id,
                    )
                self._sleep(wait_s)
            try:
                response = self._http.request("GET", path, ok=(200, 202, 303))
            except (ValidationFailed, BadRequest) as exc:
                raise OperationFailed(
                    f"Allegro could not complete the operation on offer {offer_id}",
                    offer_id=offer_id,
                    errors=exc.errors,
                    **exc.error_context,
                ) from None
            polls += 1
            last_trace_id = response.trace_id
            errors = parse_error_items(response.body)
            if errors:
                raise OperationFailed(
                    f"Allegro could not complete the operation on offer {offer_id}",
                    offer_id=offer_id,
                    errors=errors,
                    **response.error_context,
                )
            if response.status == 202:
                status = parse_model(OperationStatus, response.body)
                if status.offer and status.offer.id:
                    offer_id = status.offer.id
                wait_s = response.retry_after_s
                if wait_s is None:
                    wait_s = DEFAULT_POLL_INTERVAL_S
                continue
            # 303 (finished) or 200 (treated the same): read the offer.
            target = response.location
            target_path = self._http.api_path(target) if target else None
            if target_path is None or not _OFFER_PATH.search(target_path):
                if not offer_id:
                    raise PermanentError(
                        "the finished operation named no offer", **response.error_context
                    )
                target_path = f"{OFFERS_PATH}/{segment(offer_id)}"
            offer_response = self._http.request("GET", target_path)
            offer = parse_model(ProductOffer, offer_response.body, offer_response.trace_id)
            return OfferResult(
                offer=offer,
                status=response.status,
                trace_id=response.trace_id,
                operation=OperationRef(
                    url=location,
                    offer_id=offer.id or offer_id,
                    operation_id=operation_id,
                    polls=polls,
                    trace_id=response.trace_id,
                ),
            )

    # --- reading ------------------------------------------------------------------------

    def get_offer(self, offer_id: str) -> ProductOffer:
        """``GET /sale/product-offers/{id}``: the full offer (``trace_id`` set on it)."""
        response = self._http.request("GET", f"{OFFERS_PATH}/{segment(offer_id, 'offer id')}")
        return parse_model(ProductOffer, response.body, response.trace_id)

    def get_offer_parts(
        self, offer_id: str, include: Sequence[str] = ("stock", "price")
    ) -> OfferParts:
        """Only the stock and/or price of an offer (lighter than :meth:`get_offer`)."""
        parts = [p for p in include if p in ("stock", "price")]
        if not parts:
            raise InvalidRequest("include must name stock and/or price")
        response = self._http.request(
            "GET",
            f"{OFFERS_PATH}/{segment(offer_id, 'offer id')}/parts",
            params=[("include", p) for p in parts],
        )
        return parse_model(OfferParts, response.body, response.trace_id)

    def find_offers_by_external_id(
        self, external_ids: Iterable[str], *, statuses: Sequence[str] = ()
    ) -> list[OfferListing]:
        """The seller's offers whose ``external.id`` is one of ``external_ids`` (newest
        first per request), through ``GET /sale/offers`` with all pages read."""
        wanted: list[str] = []
        for value in external_ids:
            _check_external_id(value)
            if value not in wanted:
                wanted.append(value)
        return self._listed(
            "external.id", wanted, EXTERNAL_IDS_PER_REQUEST, statuses, lambda o: o.external_id
        )

    def _listed(
        self,
        key: str,
        values: list[str],
        per_request: int,
        statuses: Sequence[str],
        value_of: Callable[[OfferListing], str | None],
    ) -> list[OfferListing]:
        """The offers ``GET /sale/offers`` lists for ``key`` repeated with ``values``
        (``per_request`` of them a request, all pages read), in ``statuses`` when given;
        only those whose ``value_of`` is one of the values asked for in that request."""
        found: list[OfferListing] = []
        for start in range(0, len(values), per_request):
            chunk = values[start : start + per_request]
            params: list[tuple[str, str | int]] = [(key, v) for v in chunk]
            params.extend(("publication.status", s) for s in statuses)
            asked = set(chunk)
            found.extend(o for o in self._offer_pages(params) if value_of(o) in asked)
        return found

    def _offer_pages(self, filters: list[tuple[str, str | int]]) -> list[OfferListing]:
        offers: list[OfferListing] = []
        offset = 0
        while True:
            params = [*filters, ("limit", OFFERS_PAGE_LIMIT), ("offset", offset)]
            response = self._http.request("GET", "/sale/offers", params=params, auth=AuthMode.USER)
            page = parse_items(OfferListing, response.body, "offers", response.trace_id)
            offers.extend(page)
            offset += len(page)
            body = response.body
            total = body.get("totalCount") if isinstance(body, Mapping) else None
            if len(page) < OFFERS_PAGE_LIMIT or (isinstance(total, int) and offset >= total):
                return offers

    def find_offers_by_id(
        self, offer_ids: Iterable[str], *, statuses: Sequence[str] = ()
    ) -> list[OfferListing]:
        """The seller's offers among ``offer_ids`` (only those in ``statuses``, e.g.
        ``("ENDED",)``, when given), through ``GET /sale/offers`` with ``offer.id``
        repeated (FACTS §9), at most 100 ids a request. Offers Allegro does not list
        (unknown, archived) are missing from the result."""
        ids = unique_offer_ids(offer_ids)
        return self._listed("offer.id", ids, OFFER_IDS_PER_REQUEST, statuses, lambda o: o.id)
