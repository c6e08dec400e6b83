"""The rate budget applied to the Allegro client's requests.

:class:`ApiBudget` is the hook :class:`~workers.allegro._http.HttpCore` calls around each
request it sends to the API host (the OAuth host is not budgeted):

- :meth:`ApiBudget.before_send` takes the request's units (:func:`claims_for`): ``client``
  for every request, and the seller's kind of the resource when it has one (FACTS §3):
  ``offer_writes`` for POST/PATCH ``/sale/product-offers``; ``offer_reads`` for GET
  ``/sale/product-offers/{id}`` (its operations and parts too); ``batch_changes``, costing
  the number of offers, for a batch command's PUT; ``batch_reads`` for a command's report
  (costing the command's offers when this process sent its PUT, else
  :data:`UNKNOWN_COMMAND_SIZE`) and ``/tasks`` (costing the ``limit`` asked);
  ``product_reads`` for ``/sale/products*``. All in one atomic acquisition (one round
  trip to the backend). When the budget frees up within ``max_inline_wait_s`` it sleeps
  that long and tries again; otherwise it raises :class:`BudgetExhausted` and the request
  is not sent.
- :meth:`ApiBudget.after_response` penalizes the budget after a 429: ``Retry-After`` seconds
  when Allegro sent one, else the configured penalty (60 s). Allegro's 429 does not say
  which limit it hit, so the resource decides (:func:`limited_kind`): a 429 on a resource
  with a per-seller limit stops that seller's kind, and holds the whole client id for a
  short probe (``client_probe_s``: a client-id block answers 429 to every call, so such a
  429 may be its first sign; the next request after the probe finds out); a 429 on any
  other resource can only be the client-id block, and stops the whole client id.

:class:`BudgetExhausted` is a :class:`~workers.allegro.errors.RateLimited` that was
certainly not applied: the client's retry policy treats it as a 429 (a short
``retry_after_s`` is waited within the call, a long one is raised for the caller to
reschedule).
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from workers.allegro._transport import QueryParams
from workers.allegro.errors import InvalidRequest
from workers.budget.base import RateBudget, Request
from workers.budget.config import Kind
from workers.budget.errors import BudgetExhausted, BudgetUnavailable
from workers.metrics import count_budget_wait

__all__ = ["UNKNOWN_COMMAND_SIZE", "ApiBudget", "claims_for", "limited_kind", "offer_changes"]

log = structlog.get_logger(__name__)

_OFFER_CREATE = re.compile(r"^/sale/product-offers/?$")
_OFFER_EDIT = re.compile(r"^/sale/product-offers/[^/]+/?$")
_OFFER_READ = re.compile(r"^/sale/product-offers/[^/]+(?:/operations/[^/]+|/parts)?/?$")
_COMMAND = re.compile(r"^/sale/offer-[a-z-]+-commands(?:/[^/]+)?/?$")
#: A command's report (group 1 names the command) or its tasks (group 2).
_COMMAND_READ = re.compile(r"^(/sale/offer-[a-z-]+-commands/[^/]+)(/tasks)?/?$")
_PRODUCTS = re.compile(r"^/sale/products(?:/[^/]+)?/?$")

#: What a report GET costs in offer changes read when this process did not send the
#: command's PUT (another process did, or it ran before a restart): the most offers a
#: command may hold, so the guess never undercounts.
UNKNOWN_COMMAND_SIZE = 1000
#: Allegro's default ``limit`` of a ``/tasks`` GET.
_TASKS_DEFAULT_LIMIT = 100
#: Command sizes remembered per budget (the PUTs of this process), most recent kept.
_SIZES_KEPT = 4096


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


def limited_kind(method: str, path: str) -> Kind | None:
    """The seller's kind of a request's resource (FACTS §3), None when only the client id
    limits it."""
    method = method.upper()
    path = path.split("?", 1)[0]
    if method == "GET":
        if _OFFER_READ.match(path):
            return Kind.OFFER_READS
        if _COMMAND_READ.match(path):
            return Kind.BATCH_READS
        if _PRODUCTS.match(path):
            return Kind.PRODUCT_READS
        return None
    if (method == "POST" and _OFFER_CREATE.match(path)) or (
        method == "PATCH" and _OFFER_EDIT.match(path)
    ):
        return Kind.OFFER_WRITES
    if method in ("PUT", "POST") and _COMMAND.match(path):
        return Kind.BATCH_CHANGES
    return None


def _tasks_limit(params: QueryParams) -> int:
    pairs = params.items() if isinstance(params, Mapping) else (params or ())
    for key, value in pairs:
        if key == "limit":
            try:
                return max(1, int(value))
            except (TypeError, ValueError):
                break
    return _TASKS_DEFAULT_LIMIT


def claims_for(
    method: str,
    path: str,
    body: Any,
    account: str,
    params: QueryParams = None,
    *,
    command_size: Callable[[str], int | None] | None = None,
) -> list[Request]:
    """What one API request costs: (kind, cost, account) for each budget it counts against.

    ``params``: the query (the ``limit`` of a ``/tasks`` GET); ``command_size``: the offers
    of the command at a path (``/sale/<kind>/<id>``), None when unknown.
    """
    path = path.split("?", 1)[0]
    claims: list[Request] = [(Kind.CLIENT, 1, account)]
    kind = limited_kind(method, path)
    if kind is Kind.BATCH_CHANGES:
        changes = offer_changes(body)
        if changes:
            claims.append((kind, changes, account))
    elif kind is Kind.BATCH_READS:
        read = _COMMAND_READ.match(path)
        assert read is not None  # limited_kind matched it
        if read.group(2):
            cost = _tasks_limit(params)
        else:
            known = command_size(read.group(1)) if command_size is not None else None
            cost = known if known else UNKNOWN_COMMAND_SIZE
        claims.append((kind, cost, account))
    elif kind is not None:
        claims.append((kind, 1, account))
    return claims


class _CommandSizes:
    """The offers of the commands PUT through one budget in this process, by account and
    command path; bounded (the oldest forgotten). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sizes: OrderedDict[tuple[str, str], int] = OrderedDict()

    def put(self, account: str, command: str, size: int) -> None:
        with self._lock:
            self._sizes[account, command] = size
            self._sizes.move_to_end((account, command))
            while len(self._sizes) > _SIZES_KEPT:
                self._sizes.popitem(last=False)

    def get(self, account: str, command: str) -> int | None:
        with self._lock:
            return self._sizes.get((account, command))


#: One memory of command sizes per budget: shared by every client of the process.
_SIZES: weakref.WeakKeyDictionary[RateBudget, _CommandSizes] = weakref.WeakKeyDictionary()
_SIZES_LOCK = threading.Lock()


def _sizes_of(budget: RateBudget) -> _CommandSizes:
    with _SIZES_LOCK:
        sizes = _SIZES.get(budget)
        if sizes is None:
            sizes = _SIZES[budget] = _CommandSizes()
        return sizes


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
        self._sizes = _sizes_of(budget)

    def before_send(self, method: str, path: str, body: Any, params: QueryParams = None) -> None:
        """Take the request's units, waiting up to ``max_inline_wait_s`` in all.

        Raises :class:`BudgetExhausted` (the request must not be sent),
        :class:`BudgetUnavailable` when the backend cannot be reached, and
        :class:`~workers.allegro.errors.InvalidRequest` for a request that can never fit
        (e.g. a command with more offers than the per-minute limit).
        """
        claims = claims_for(
            method, path, body, self.account, params, command_size=self._command_size
        )
        if len(claims) > 1:
            seller_kind, cost, account = claims[1]
            if seller_kind is Kind.BATCH_CHANGES:
                self._sizes.put(self.account, path.split("?", 1)[0].rstrip("/"), cost)
            elif seller_kind is Kind.BATCH_READS:
                # A read costs at most what one acquisition can take: a guessed cost must
                # never make a read impossible (a limit set below a command's size).
                tightest = self.budget.config.tightest(Kind.BATCH_READS)
                if tightest is not None and cost > tightest.limit:
                    claims[1] = (seller_kind, tightest.limit, account)
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
                count_budget_wait(kind, 0.0, rescheduled=True)
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
            count_budget_wait(kind, verdict.wait_s, rescheduled=False)
            waited_s += verdict.wait_s

    def _command_size(self, command: str) -> int | None:
        return self._sizes.get(self.account, command)

    def after_response(
        self, method: str, path: str, status: int, retry_after_s: float | None
    ) -> None:
        """After a 429, stop the budget Allegro enforced for ``retry_after_s`` (or the
        configured penalty): the seller's kind of the resource, with the client id held
        for ``client_probe_s`` (at most as long), or the client id when the resource has
        no per-seller limit (see the module docstring). A backend failure here is logged,
        not raised: the caller is about to raise the 429 anyway."""
        if status != 429:
            return
        config = self.budget.config
        kind = limited_kind(method, path) or Kind.CLIENT
        seconds = retry_after_s if retry_after_s is not None else config.penalty_s(kind)
        probe_s = min(config.client_probe_s, seconds) if kind is not Kind.CLIENT else 0.0
        try:
            self.budget.penalize(kind, self.account, seconds)
            if probe_s > 0:
                self.budget.hold(Kind.CLIENT, self.account, probe_s)
        except BudgetUnavailable as exc:
            log.warning("budget.penalize_failed", kind=kind.value, error=str(exc))
        log.warning(
            "budget.rate_limited",
            kind=kind.value,
            account=self.account,
            method=method,
            path=path,
            penalty_s=seconds,
            client_probe_s=probe_s,
            allegro_retry_after_s=retry_after_s,
            total=self.budget.rate_limited_counts().get(kind.value, 0),
        )
