"""The rate budget applied to the Allegro client's requests.

:class:`ApiBudget` is the hook :class:`~workers.allegro._http.HttpCore` calls around each
request it sends to the API host (the OAuth host is not budgeted):

- :meth:`ApiBudget.before_send` takes the request's units (:func:`claims_for`): ``client``
  for every request; ``offer_writes`` too for POST/PATCH ``/sale/product-offers``;
  ``batch_changes`` too, costing the number of offers, for the batch commands. All or
  nothing, atomically. When the budget frees up within ``max_inline_wait_s`` it sleeps
  that long and tries again; otherwise it raises :class:`BudgetExhausted` and the request
  is not sent.
- :meth:`ApiBudget.after_response` penalizes the budget after a 429: ``Retry-After`` seconds
  when Allegro sent one, else the configured penalty (60 s). A 429 of an offer write or a
  batch command stops that seller's kind; any other 429 stops the whole client id, which
  is what Allegro does when it blocks the client id.

:class:`BudgetExhausted` is a :class:`~workers.allegro.errors.RateLimited` that was
certainly not applied: the client's retry policy treats it as a 429 (a short
``retry_after_s`` is waited within the call, a long one is raised for the caller to
reschedule).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from workers.allegro.errors import InvalidRequest
from workers.budget.base import RateBudget, Request
from workers.budget.config import Kind
from workers.budget.errors import BudgetExhausted, BudgetUnavailable

__all__ = ["ApiBudget", "claims_for", "offer_changes"]

log = structlog.get_logger(__name__)

_OFFER_CREATE = re.compile(r"^/sale/product-offers/?$")
_OFFER_EDIT = re.compile(r"^/sale/product-offers/[^/]+/?$")
_COMMAND = re.compile(r"^/sale/offer-[a-z-]+-commands(?:/[^/]+)?/?$")
#: The methods of the requests that count against a seller's budget too.
_WRITES = frozenset({"POST", "PATCH", "PUT"})


def offer_changes(body: Any) -> int:
    """Offers a batch command changes: the ids in its ``offerCriteria`` (0 if none)."""
    if not isinstance(body, Mapping):
        return 0
    criteria = body.get("offerCriteria")
    if not isinstance(criteria, list):
        return 0
    total = 0
    for criterion in criteria:
        if isinstance(criterion, Mapping) and isinstance(criterion.get("offers"), list):
            total += len(criterion["offers"])
    return total


def _seller_kind(method: str, path: str) -> Kind | None:
    if method not in _WRITES:
        return None  # reads count against the client id only
    path = path.split("?", 1)[0]
    if (method == "POST" and _OFFER_CREATE.match(path)) or (
        method == "PATCH" and _OFFER_EDIT.match(path)
    ):
        return Kind.OFFER_WRITES
    if method in ("PUT", "POST") and _COMMAND.match(path):
        return Kind.BATCH_CHANGES
    return None


def claims_for(method: str, path: str, body: Any, account: str) -> list[Request]:
    """What one API request costs: (kind, cost, account) for each budget it counts against."""
    method = method.upper()
    claims: list[Request] = [(Kind.CLIENT, 1, account)]
    kind = _seller_kind(method, path)
    if kind is Kind.OFFER_WRITES:
        claims.append((Kind.OFFER_WRITES, 1, account))
    elif kind is Kind.BATCH_CHANGES:
        changes = offer_changes(body)
        if changes:
            claims.append((Kind.BATCH_CHANGES, changes, account))
    return claims


class ApiBudget:
    """The budget of one seller ``account``'s API requests (see the module docstring).

    ``sleep`` waits inline (injected in tests). ``max_inline_wait_s`` defaults to the
    budget config's. Thread-safe, like the budget.
    """

    def __init__(
        self,
        budget: RateBudget,
        *,
        account: str,
        sleep: Callable[[float], None] = time.sleep,
        max_inline_wait_s: float | None = None,
    ) -> None:
        self.budget = budget
        self.account = account
        self.sleep = sleep
        self.max_inline_wait_s = (
            budget.config.max_inline_wait_s if max_inline_wait_s is None else max_inline_wait_s
        )

    def before_send(self, method: str, path: str, body: Any) -> None:
        """Take the request's units, waiting up to ``max_inline_wait_s`` in all.

        Raises :class:`BudgetExhausted` (the request must not be sent),
        :class:`BudgetUnavailable` when the backend cannot be reached, and
        :class:`~workers.allegro.errors.InvalidRequest` for a request that can never fit
        (e.g. a command with more offers than the per-minute limit).
        """
        claims = claims_for(method, path, body, self.account)
        waited_s = 0.0
        while True:
            try:
                verdict = self.budget.acquire_all(claims)
            except ValueError as exc:
                raise InvalidRequest(str(exc), method=method, path=path) from None
            except BudgetUnavailable as exc:
                exc.method, exc.path = method, path
                raise
            if verdict.granted:
                return
            kind = verdict.limited_by.value if verdict.limited_by else None
            if waited_s + verdict.wait_s > self.max_inline_wait_s:
                log.info(
                    "budget.exhausted",
                    kind=kind,
                    account=self.account,
                    method=method,
                    path=path,
                    retry_after_s=round(verdict.wait_s, 3),
                )
                raise BudgetExhausted(
                    verdict.wait_s, kind=kind, account=self.account, method=method, path=path
                )
            self.sleep(verdict.wait_s)
            waited_s += verdict.wait_s

    def after_response(
        self, method: str, path: str, status: int, retry_after_s: float | None
    ) -> None:
        """After a 429, stop the budget Allegro enforced for ``retry_after_s`` (or the
        configured penalty). A backend failure here is logged, not raised: the caller is
        about to raise the 429 anyway."""
        if status != 429:
            return
        kind = _seller_kind(method.upper(), path) or Kind.CLIENT
        seconds = retry_after_s if retry_after_s is not None else self.budget.config.penalty_s(kind)
        try:
            self.budget.penalize(kind, self.account, seconds)
        except BudgetUnavailable as exc:
            log.warning("budget.penalize_failed", kind=kind.value, error=str(exc))
        log.warning(
            "budget.rate_limited",
            kind=kind.value,
            account=self.account,
            method=method,
            path=path,
            penalty_s=seconds,
            allegro_retry_after_s=retry_after_s,
            total=self.budget.rate_limited_counts().get(kind.value, 0),
        )
