"""Everything a running sandbox remembers, in one object that ``reset`` can rebuild.

The sandbox runs on one asyncio event loop and every handler is ``async``, so the state is
only ever touched from that loop: no locks. Work that Allegro does "later" (async offer
operations, batch command tasks, scheduled activations) is queued on a :class:`Scheduler`
keyed by sandbox-clock time and run lazily by :meth:`SandboxState.settle` at the start of
each request, which is what makes ``advance_clock`` take effect without background tasks.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import Catalog, Seller
from sandbox.clock import SandboxClock
from sandbox.config import SandboxConfig
from sandbox.faults import FaultBook
from sandbox.limits import Limits
from sandbox.requestlog import RequestLog
from sandbox.tokens import TokenStore

__all__ = [
    "Command",
    "Offer",
    "OfferStore",
    "Operation",
    "SandboxState",
    "Scheduler",
    "Task",
    "external_id",
]

# Offer ids look like Allegro's (11 digits in 2026); a counter keeps them deterministic.
_FIRST_OFFER_ID = 17700000001


@dataclass
class Offer:
    """A stored offer. ``body`` is the offer in request shape (what POST and PATCH carry),
    without ``publication.status``, which is state kept in ``status``.

    ``body`` is replaced, never changed in place: assigning a new one tells the
    :class:`OfferStore` that holds the offer (``on_new_body``), which re-indexes its
    ``external.id``."""

    id: str
    seller: str
    body: dict[str, Any]
    product_ids: list[str | None]
    created_at: float
    updated_at: float
    validated_at: float
    status: str = "INACTIVE"
    ended_by: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    validation_errors: list[dict[str, Any]] = field(default_factory=list)
    sold: int = 0
    #: Id of the operation still running on this offer (PATCH answers 409 meanwhile).
    operation_id: str | None = None
    #: Bumped by every change, so a stale scheduled activation can tell it was overtaken.
    revision: int = 0
    #: Called with the offer after each assignment of ``body`` (set by :meth:`OfferStore.add`).
    on_new_body: Callable[[Offer], None] | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "body":
            hook = self.__dict__.get("on_new_body")  # not set yet while __init__ runs
            if hook is not None:
                hook(self)


def external_id(body: dict[str, Any]) -> str | None:
    """The body's ``external.id`` when it is a string: the only kind a query can match."""
    external = body.get("external")
    value = external.get("id") if isinstance(external, dict) else None
    return value if isinstance(value, str) else None


class OfferStore:
    """Every stored offer by id, in creation order, with two indexes for ``GET /sale/offers``:
    each seller's offers, and each seller's offers by ``external.id``. A search filtered by
    ``external.id`` (what a client does before every publication) then looks its candidates
    up instead of scanning every offer.

    Offers are added, never removed: an archived offer stays stored, and whether it is
    archived depends on the time of the query, so the search checks that (and the search
    lag) on the candidates. The ``external.id`` index follows every new ``body`` of an offer
    through :attr:`Offer.on_new_body`, whoever assigns it (PATCH, batch commands).
    """

    def __init__(self) -> None:
        self._by_id: dict[str, Offer] = {}
        self._by_seller: dict[str, dict[str, Offer]] = {}
        self._by_external: dict[tuple[str, str], dict[str, Offer]] = {}
        self._indexed_as: dict[str, str | None] = {}  # offer id -> its external.id in the index

    def add(self, offer: Offer) -> None:
        """Store a new offer (its id must be new) and index it."""
        if offer.id in self._by_id:
            raise ValueError(f"offer {offer.id} is already stored")
        self._by_id[offer.id] = offer
        self._by_seller.setdefault(offer.seller, {})[offer.id] = offer
        self._indexed_as[offer.id] = None
        self._reindex(offer)
        offer.on_new_body = self._reindex

    def get(self, offer_id: str) -> Offer | None:
        return self._by_id.get(offer_id)

    def values(self) -> Iterable[Offer]:
        """Every offer of every seller, oldest first."""
        return self._by_id.values()

    def __len__(self) -> int:
        return len(self._by_id)

    def of_seller(self, login: str) -> list[Offer]:
        """The seller's offers, oldest first."""
        return list(self._by_seller.get(login, {}).values())

    def with_external_ids(self, login: str, external_ids: Iterable[str]) -> list[Offer]:
        """The seller's offers whose ``external.id`` is one of ``external_ids`` (each once)."""
        found: dict[str, Offer] = {}
        for value in external_ids:
            found.update(self._by_external.get((login, value), {}))
        return list(found.values())

    def _reindex(self, offer: Offer) -> None:
        new = external_id(offer.body)
        old = self._indexed_as[offer.id]
        if new == old:
            return
        if old is not None:
            key = (offer.seller, old)
            del self._by_external[key][offer.id]
            if not self._by_external[key]:
                del self._by_external[key]
        if new is not None:
            self._by_external.setdefault((offer.seller, new), {})[offer.id] = offer
        self._indexed_as[offer.id] = new


@dataclass
class Operation:
    """An asynchronous POST or PATCH (the resource behind the 202's ``Location``)."""

    id: str
    offer_id: str
    seller: str
    started_at: float
    due_at: float
    done: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Task:
    """One offer's part of a batch command."""

    offer_id: str
    status: str = "NEW"
    message: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Command:
    """A batch command (quantity, price or publication change)."""

    kind: str
    id: str
    seller: str
    created_at: float
    due_at: float
    body: dict[str, Any]
    tasks: list[Task]
    completed_at: float | None = None


class Scheduler:
    """Callbacks due at sandbox-clock times, run in due order by :meth:`run_due`."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()

    def at(self, due_at: float, callback: Callable[[float], None]) -> None:
        """Run ``callback(due_at)`` once sandbox time reaches ``due_at``."""
        heapq.heappush(self._queue, (due_at, next(self._seq), callback))

    def run_due(self, now: float) -> None:
        while self._queue and self._queue[0][0] <= now:
            due_at, _, callback = heapq.heappop(self._queue)
            callback(due_at)


class SandboxState:
    """The sandbox's memory: knobs, clock, offers, operations, commands, tokens, limits,
    faults and the request log."""

    def __init__(self, config: SandboxConfig, catalog: Catalog) -> None:
        self.start_config = config
        self.catalog = catalog
        self.clock = SandboxClock()
        self._build(config)

    def _build(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock.reset()
        self.scheduler = Scheduler()
        self.offers = OfferStore()
        self.operations: dict[str, Operation] = {}
        self.commands: dict[tuple[str, str], Command] = {}
        self.tokens = TokenStore()
        self.limits = Limits()
        self.faults = FaultBook()
        self.log = RequestLog()
        self._offer_ids = itertools.count(_FIRST_OFFER_ID)
        self.reseed(config.seed)

    def reset(self) -> None:
        """Forget everything and return to the knobs the sandbox was started with."""
        self.faults.release_holds()
        self._build(self.start_config)

    def reseed(self, seed: int) -> None:
        """Restart the random generators (one per concern, so they do not disturb each
        other's sequences)."""
        self.fault_rng = random.Random(f"faults:{seed}")
        self.async_rng = random.Random(f"async:{seed}")
        self.id_rng = random.Random(f"ids:{seed}")

    def set_config(self, config: SandboxConfig) -> None:
        if config.seed != self.config.seed:
            self.reseed(config.seed)
        self.config = config

    # -- time -----------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def settle(self) -> float:
        """Run the work that has come due; returns the current sandbox time."""
        now = self.clock.now()
        self.scheduler.run_due(now)
        return now

    # -- ids --------------------------------------------------------------------------------

    def next_offer_id(self) -> str:
        return str(next(self._offer_ids))

    def new_uuid(self) -> str:
        """A UUID drawn from the seeded generator (reproducible runs give the same ids)."""
        return str(uuid.UUID(int=self.id_rng.getrandbits(128), version=4))

    # -- lookups ----------------------------------------------------------------------------

    def seller(self, login: str) -> Seller:
        """The catalogue's own :class:`Seller` (not a copy, it is read on every call): read
        it, never modify its option dicts."""
        seller = self.catalog.seller(login, shared=True)
        if seller is None:  # tokens are only issued to known sellers
            raise LookupError(f"unknown seller {login!r}")
        return seller
