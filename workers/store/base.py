"""The store's interface: one implementation per database (SQLite, PostgreSQL).

The store is the pipeline's memory. It holds the desired state and versions per SKU, the
offer registry with the creation intents of offers not yet in it, the per-SKU publishing
lease, the category-parameter cache, OAuth tokens and the status history, which is also the
outbox of the status messages (each status records whether its publication was confirmed).
Every method is safe to call from several threads, processes and (with PostgreSQL) hosts at
once; each is one transaction.

Errors: every method raises only :class:`StoreError` (permanent: a bug, a database that
was never migrated) or its subclass :class:`StoreUnavailable` (transient: the database is
down or stayed locked; retry later), :class:`LockTimeout` for a named lock not granted in
time; the database's own exception is chained. Times come back timezone-aware in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from schemas.events import ProductEvent
from schemas.status import Status, StatusMessage
from workers.allegro.tokens import TokenSet
from workers.domain.model import ProductState

__all__ = [
    "CachedParameters",
    "CreateIntent",
    "LockTimeout",
    "OfferRecord",
    "RecordOutcome",
    "RecordResult",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredStatus",
    "offer_stamp",
]


class StoreError(Exception):
    """The store failed in a way a retry will not fix (a bug, a corrupt database, a schema
    that was never migrated). The database's own exception is chained as ``__cause__``."""


class StoreUnavailable(StoreError):
    """Transient: the database cannot be reached, is locked by another writer for longer
    than the busy timeout, or a transaction kept conflicting. Retry later."""


class LockTimeout(StoreUnavailable):
    """:meth:`Store.parameters_lock` or :meth:`Store.refresh_lock` was not granted within
    the store's lock timeout (another holder is slow, or stuck)."""


class RecordOutcome(StrEnum):
    NEW = "new"  # merged: at least one part of the state changed version
    DUPLICATE = "duplicate"  # this event_id was recorded before
    SUPERSEDED = "superseded"  # every part it carries is already at a newer version


@dataclass(frozen=True)
class RecordResult:
    """What :meth:`Store.record_event` did.

    ``dispatched`` (for DUPLICATE) tells whether the first delivery was handed on to the
    actors (:meth:`Store.mark_dispatched`); when it was not, the bridge hands it on again,
    so a crash between recording and handing on loses nothing. ``state`` is the desired
    state after the call. ``changed`` names the parts this event changed (``content``,
    ``stock``, ``price``, ``deleted``).
    """

    outcome: RecordOutcome
    state: ProductState | None
    dispatched: bool = False
    changed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OfferRecord:
    """The registry entry of one SKU's Allegro offer and what was last published to it.

    ``operation_url``: set while Allegro is still processing the offer's creation (the
    ``Location`` of the POST's 202); the offer exists, its final state is not known yet.
    ``fingerprint`` then belongs to the body that was POSTed, and ``published_body`` is
    None."""

    account: str
    sku: str
    offer_id: str
    publication_status: str | None = None
    fingerprint: str | None = None
    published_version: int | None = None
    published_body: dict[str, Any] | None = None
    updated_at: datetime | None = None
    operation_url: str | None = None


def offer_stamp(record: OfferRecord) -> tuple[str, str | None, int | None, datetime | None]:
    """What :meth:`Store.offer_stamps` gives for ``record`` as it was read."""
    return (record.offer_id, record.publication_status, record.published_version, record.updated_at)


@dataclass(frozen=True)
class CreateIntent:
    """A ``POST /sale/product-offers`` for the SKU that may have created an offer which is
    not in the registry yet (:meth:`Store.record_create_intent`).

    ``attempts``: POSTs sent since the intent was first recorded; ``attempted_at``: when the
    latest one was about to be sent (UTC).
    """

    account: str
    sku: str
    attempts: int
    attempted_at: datetime


@dataclass(frozen=True)
class StoredStatus:
    """A terminal status as the store holds it: the message and its outbox state.

    ``published_at`` is None while RabbitMQ has not confirmed the message's publication
    (:meth:`Store.mark_status_published`). ``chain`` counts the event's delivery attempt
    chains: 0 for its first outcome, n for the outcome of its n-th replay after FAILED.
    """

    message: StatusMessage
    published_at: datetime | None
    chain: int = 0

    @property
    def published(self) -> bool:
        return self.published_at is not None


@dataclass(frozen=True)
class CachedParameters:
    category_id: str
    parameters: list[dict[str, Any]]
    fetched_at: datetime


class Store(Protocol):
    """The pipeline's state. See the module docstring."""

    # --- lifecycle --------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create or upgrade the schema (idempotent; safe when several processes start)."""

    def close(self) -> None: ...

    def unit_of_work(
        self, *, durable: bool = True, savepoints: bool = True
    ) -> AbstractContextManager[None]:
        """A block whose writes by this thread share one transaction where the backend
        can (SQLite: committed once when the block ends, rolled back when it raises; a
        failing write inside rolls back only itself). Elsewhere (PostgreSQL) every write
        still commits on its own. Side effects that must follow the commit (publishing)
        belong after the block. ``durable=False`` (SQLite): the commit does not wait for
        the disk; a power cut may lose it (never a crash of the process), so only for
        writes whose loss costs nothing. ``savepoints=False`` (SQLite): the writes inside
        take no savepoints of their own, and the block is rolled back as a whole when
        one fails: only for a block in which no failed write is caught and gone on
        from."""

    # --- events and desired state -----------------------------------------------------------
    def record_event(self, event: ProductEvent, *, content: bool = True) -> RecordResult:
        """Deduplicate by ``event_id``, merge by per-part versions, persist; atomically.

        Parts: ``content`` (everything of product.upserted but stock and price), ``stock``,
        ``price``, and ``deleted``. An upserted event carries content, stock and price; a
        stock or price event its part; a deleted event marks the SKU deleted (a later
        upserted with a higher version brings it back). A part is taken only when the
        event's version is higher than that part's stored version; an event none of whose
        parts is taken is SUPERSEDED.

        The ``deleted`` part is set by deletes and cleared by upserts: a delete is taken
        when it is newer than every upsert and delete seen (then ``changed`` is
        ``{"deleted"}``), an upsert newer than the delete clears it (``"deleted"`` is in
        its ``changed``). Stock and price events never clear it: they may come from a
        system that does not know of the deletion. An upsert older than the delete still
        updates the content, and the SKU stays deleted. The result does not depend on the
        order events arrive in.

        ``state.product`` holds exactly the product.upserted fields (JSON-ready, in the
        event's order; an absent optional field as None; ``allegro.parameters`` items in
        Allegro's request shape with only the members given); before the first upsert
        (``complete`` false) only the known ``stock`` and ``price``. A DUPLICATE returns
        the current state and the first delivery's ``dispatched``; a SUPERSEDED event is
        recorded too (its redelivery is a DUPLICATE). Two calls for one SKU never merge
        at the same time, whatever process or host they come from.

        ``content=False``, for a stock or price event (ignored for the others): the stored
        content is neither read nor decoded, and ``state`` is without the content's fields,
        as :meth:`product_states` gives it with ``content=False``. The fast path needs only
        the event's own part, and a seller's content (descriptions, parameters) is often
        many kilobytes.
        """

    def mark_dispatched(self, event_id: str) -> None:
        """The event was handed on to the actors (confirmed by the broker). Not durable on
        its own: lost in a power cut, it only makes a redelivery hand the event on again."""

    def mark_dispatched_many(self, event_ids: Iterable[str]) -> None:
        """:meth:`mark_dispatched` for each of ``event_ids``, in one transaction (one
        statement per few hundred)."""

    def product_state(self, account: str, sku: str) -> ProductState | None: ...

    def product_states(
        self, account: str, skus: Iterable[str], *, content: bool = True
    ) -> dict[str, ProductState]:
        """:meth:`product_state` of many SKUs at once (by SKU; a SKU without a state is
        left out). ``content=False``: without the content's fields (the product holds its
        stock and price; ``deleted``, ``complete`` and the version are as ever), which
        are neither read nor decoded."""

    def latest_version(self, account: str, sku: str) -> int | None:
        """The highest version merged for the SKU (any part), or None."""

    # --- offer registry ---------------------------------------------------------------------
    def get_offer(self, account: str, sku: str) -> OfferRecord | None: ...

    def get_offers(self, account: str, skus: Iterable[str]) -> dict[str, OfferRecord]:
        """The registry entries of many SKUs at once (by SKU; a SKU without one is left
        out)."""

    def offer_stamps(
        self, account: str, skus: Iterable[str]
    ) -> dict[str, tuple[str, str | None, int | None, datetime | None]]:
        """What tells whether registry entries changed since they were read, without their
        bodies: ``(offer_id, publication_status, published_version, updated_at)`` by SKU
        (a SKU without an entry is left out)."""

    def save_offer(self, record: OfferRecord) -> None:
        """Insert or replace the SKU's registry entry (``updated_at`` None: now), and remove
        the SKU's creation intent in the same transaction (the offer is known now)."""

    def save_offers(self, records: Sequence[OfferRecord], *, clear_intents: bool = True) -> None:
        """:meth:`save_offer` for every record, in one transaction. ``clear_intents=False``
        leaves creation intents alone: for entries that existed already (an intent is only
        ever recorded for a SKU without one), one statement less per record."""

    def forget_offer(self, account: str, sku: str, offer_id: str) -> bool:
        """Remove the SKU's registry entry when it still names ``offer_id`` (Allegro no
        longer knows that offer: archived, or a deleted draft); True when one was removed.
        An entry another worker replaced meanwhile is left alone."""

    # --- creation intents -------------------------------------------------------------------
    #
    # Allegro's GET /sale/offers?external.id= is not guaranteed to list an offer as soon as
    # the POST that created it returns: after a POST whose answer was lost, "not found" does
    # not prove that Allegro created nothing. So before every POST the publish step records
    # an intent (committed before the POST is sent); a later attempt that finds an intent
    # and no offer waits for the search to catch up instead of POSTing again.

    def record_create_intent(self, account: str, sku: str) -> CreateIntent:
        """Record that a POST for the SKU is about to be sent: a new intent with
        ``attempts`` 1, or the existing one with ``attempts`` + 1; ``attempted_at`` now.
        Returns the intent as stored."""

    def create_intent(self, account: str, sku: str) -> CreateIntent | None:
        """The SKU's creation intent, or None (no POST pending since its offer was saved)."""

    def clear_create_intent(self, account: str, sku: str) -> None:
        """Remove the SKU's intent: the POST certainly created nothing (refused, never
        sent). Idempotent."""

    # --- per-SKU publishing lease -------------------------------------------------------------
    def acquire_lease(self, account: str, sku: str, owner: str, ttl_s: float) -> bool:
        """Take the SKU's lease for ``ttl_s`` seconds (True), or see that another live owner
        holds it (False). The same owner may take it again (extends it). A lease is free
        from its expiry on; ``ttl_s`` must be positive. Lease writes are not durable on
        their own (a power cut may undo them; every lease expires anyway)."""

    def acquire_leases(
        self, account: str, skus: Iterable[str], owner: str, ttl_s: float
    ) -> set[str]:
        """:meth:`acquire_lease` for many SKUs in one transaction; returns the SKUs taken."""

    def release_lease(self, account: str, sku: str, owner: str) -> None: ...

    def release_leases(self, account: str, skus: Iterable[str], owner: str) -> None:
        """:meth:`release_lease` for many SKUs (the leases ``owner`` holds)."""

    # --- category parameters cache ----------------------------------------------------------
    def cached_parameters(self, category_id: str) -> CachedParameters | None: ...

    def put_parameters(self, category_id: str, parameters: list[dict[str, Any]]) -> None: ...

    def parameters_lock(self, category_id: str) -> AbstractContextManager[None]:
        """Held while one thread/process fetches a category's parameters, so that the
        others wait and then read the cache instead of fetching again. Re-entrant within
        a thread; raises :class:`LockTimeout` after the store's lock timeout."""

    # --- OAuth tokens (workers.allegro.tokens.TokenStore) ------------------------------------
    def get(self, account: str) -> TokenSet | None: ...

    def put(self, account: str, tokens: TokenSet) -> None: ...

    def token_accounts(self) -> list[str]:
        """The accounts that have tokens stored, sorted."""
        ...

    def refresh_lock(self, account: str) -> AbstractContextManager[None]:
        """Exclusive across processes and hosts: only one refreshes an account's tokens.
        Re-entrant within a thread; raises :class:`LockTimeout` after the lock timeout."""

    # --- status history and the status outbox ------------------------------------------------
    def add_status(self, message: StatusMessage) -> bool:
        """Append to the SKU's history, not yet published (see :meth:`mark_status_published`).

        Exactly one terminal status (every status is terminal today) per delivery attempt
        chain of an event: returns False, and stores nothing, when the event's latest
        terminal status is not FAILED. After a FAILED one, exactly one more is taken (the
        outcome of the replay of the dead-lettered message), in a new chain; each FAILED
        opens one more. Two calls racing for the same chain store one. A status without an
        ``event_id`` (unreadable input) is always taken.
        """

    def add_statuses(self, messages: Sequence[StatusMessage]) -> list[bool]:
        """:meth:`add_status` for each message in turn, in one transaction; what each
        returned."""

    def terminal_status(self, event_id: str) -> StatusMessage | None:
        """The event's latest terminal status (of its latest chain), or None."""

    def terminal_entry(self, event_id: str) -> StoredStatus | None:
        """:meth:`terminal_status` with its outbox state and chain."""

    def terminal_entries(self, event_ids: Iterable[str]) -> dict[str, StoredStatus]:
        """:meth:`terminal_entry` of many events at once, by event id (an event without a
        terminal status is left out); one query per few hundred."""

    def mark_status_published(self, event_id: str, status: Status) -> None:
        """RabbitMQ confirmed the publication of the event's ``status``: set
        ``published_at`` (now) where it is still unset. Idempotent. Not durable on its own:
        lost in a power cut, the sweep publishes the status once more (same message id)."""

    def mark_statuses_published(self, published: Sequence[tuple[str, Status]]) -> None:
        """:meth:`mark_status_published` for each ``(event_id, status)``, in one
        transaction."""

    def unpublished_statuses(
        self, limit: int = 100, *, min_age_s: float = 0.0
    ) -> list[StatusMessage]:
        """Statuses recorded at least ``min_age_s`` seconds ago (the store's clock) whose
        publication was never confirmed, oldest first, at most ``limit``: the outbox that
        a sweep publishes. Statuses without an ``event_id`` are not in it (nothing refuses
        them, so a redelivery of their input reports them again). ``limit`` must be
        positive (ValueError)."""

    def history(self, account: str, sku: str, limit: int = 50) -> list[StatusMessage]:
        """Newest first."""

    def prune_history(self, before: datetime, *, batch: int = 1000) -> int:
        """Delete what is older than ``before``: statuses (by their ``at``) whose
        publication RabbitMQ confirmed or that have no event id, and events recorded before
        it that were handed on. An unpublished status (the outbox) and an event never
        handed on stay, however old. Deletes in transactions of at most ``batch`` rows, so
        that the pipeline's writers never wait long behind it; returns the rows deleted.
        ``batch`` must be positive (ValueError)."""

    def iter_history(self, since: datetime | None = None) -> Iterator[StatusMessage]:
        """Every status in time order (for reports and `make run`'s summary), from
        ``since`` on (inclusive). Read in pages: no transaction stays open meanwhile."""
