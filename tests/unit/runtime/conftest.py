"""Fakes for the runtime's unit tests: an in-memory store, a recording publisher, a scripted
Allegro client, and Services wired to a Dramatiq StubBroker."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pika
import pytest
from dramatiq.brokers.stub import StubBroker

from schemas.events import ProductEvent
from schemas.status import Status, StatusMessage
from workers.allegro import OfferListing, OfferResult, ProductOffer, TokenSet
from workers.domain.model import ProductState
from workers.services import Services
from workers.settings import Settings
from workers.store import (
    CachedParameters,
    CreateIntent,
    OfferRecord,
    RecordOutcome,
    RecordResult,
    StoredStatus,
)


@dataclass
class FakeStore:
    """The parts of the Store protocol the runtime uses, in memory, with a call log."""

    states: dict[tuple[str, str], ProductState] = field(default_factory=dict)
    offers: dict[tuple[str, str], OfferRecord] = field(default_factory=dict)
    statuses: list[StatusMessage] = field(default_factory=list)
    leases: dict[tuple[str, str], str] = field(default_factory=dict)
    dispatched: list[str] = field(default_factory=list)
    parameters: dict[str, CachedParameters] = field(default_factory=dict)
    results: list[RecordResult] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail_record: BaseException | None = None
    intents: dict[tuple[str, str], CreateIntent] = field(default_factory=dict)
    recorded_at: list[datetime] = field(default_factory=list)
    published_at: dict[int, datetime] = field(default_factory=dict)  # index in statuses
    #: The store's clock (statuses, intents); tests move it.
    now: datetime = field(default_factory=lambda: datetime(2026, 7, 18, 12, 0, tzinfo=UTC))

    def record_event(self, event: ProductEvent, *, content: bool = True) -> RecordResult:
        self.calls.append(f"record:{event.event_id}")
        if self.fail_record is not None:
            raise self.fail_record
        return self.results.pop(0)

    def mark_dispatched(self, event_id: str) -> None:
        self.calls.append(f"dispatched:{event_id}")
        self.dispatched.append(event_id)

    def mark_dispatched_many(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            self.mark_dispatched(event_id)

    def product_state(self, account: str, sku: str) -> ProductState | None:
        return self.states.get((account, sku))

    @contextmanager
    def unit_of_work(self, *, durable: bool = True, savepoints: bool = True) -> Iterator[None]:
        yield  # every write stands alone, as on PostgreSQL

    def product_states(self, account: str, skus: Iterable[str]) -> dict[str, ProductState]:
        return {sku: self.states[(account, sku)] for sku in skus if (account, sku) in self.states}

    def get_offer(self, account: str, sku: str) -> OfferRecord | None:
        return self.offers.get((account, sku))

    def get_offers(self, account: str, skus: Iterable[str]) -> dict[str, OfferRecord]:
        return {sku: self.offers[(account, sku)] for sku in skus if (account, sku) in self.offers}

    def save_offer(self, record: OfferRecord) -> None:
        self.calls.append(f"save_offer:{record.offer_id}")
        self.offers[(record.account, record.sku)] = record
        self.intents.pop((record.account, record.sku), None)

    def save_offers(self, records: Sequence[OfferRecord], *, clear_intents: bool = True) -> None:
        for record in records:
            self.calls.append(f"save_offer:{record.offer_id}")
            self.offers[(record.account, record.sku)] = record
            if clear_intents:
                self.intents.pop((record.account, record.sku), None)

    def acquire_lease(self, account: str, sku: str, owner: str, ttl_s: float) -> bool:
        holder = self.leases.setdefault((account, sku), owner)
        return holder == owner

    def acquire_leases(
        self, account: str, skus: Iterable[str], owner: str, ttl_s: float
    ) -> set[str]:
        return {sku for sku in skus if self.acquire_lease(account, sku, owner, ttl_s)}

    def release_lease(self, account: str, sku: str, owner: str) -> None:
        self.calls.append("release")
        if self.leases.get((account, sku)) == owner:
            del self.leases[(account, sku)]

    def release_leases(self, account: str, skus: Iterable[str], owner: str) -> None:
        for sku in skus:
            self.release_lease(account, sku, owner)

    def cached_parameters(self, category_id: str) -> CachedParameters | None:
        return self.parameters.get(category_id)

    def put_parameters(self, category_id: str, parameters: list[dict[str, Any]]) -> None:
        self.parameters[category_id] = CachedParameters(category_id, parameters, datetime.now(UTC))

    @contextmanager
    def parameters_lock(self, category_id: str) -> Iterator[None]:
        yield

    def add_status(self, message: StatusMessage) -> bool:
        # The store's rule: one terminal status per event, one more after each FAILED.
        self.calls.append(f"status:{message.status}")
        prior = self.terminal_status(message.event_id) if message.event_id else None
        if prior is not None and prior.status is not Status.FAILED:
            return False
        self.statuses.append(message)
        self.recorded_at.append(self.now)
        return True

    def add_statuses(self, messages: Sequence[StatusMessage]) -> list[bool]:
        return [self.add_status(message) for message in messages]

    def terminal_status(self, event_id: str) -> StatusMessage | None:
        entry = self.terminal_entry(event_id)
        return entry.message if entry is not None else None

    def terminal_entry(self, event_id: str) -> StoredStatus | None:
        found = [i for i, s in enumerate(self.statuses) if s.event_id == event_id]
        if not found:
            return None
        return StoredStatus(
            self.statuses[found[-1]], self.published_at.get(found[-1]), len(found) - 1
        )

    def terminal_entries(self, event_ids: Iterable[str]) -> dict[str, StoredStatus]:
        entries = {event_id: self.terminal_entry(event_id) for event_id in event_ids}
        return {event_id: entry for event_id, entry in entries.items() if entry is not None}

    def mark_status_published(self, event_id: str, status: Status) -> None:
        self.calls.append(f"marked:{status}")
        for index, message in enumerate(self.statuses):
            if (message.event_id, message.status) == (event_id, status):
                self.published_at.setdefault(index, self.now)

    def mark_statuses_published(self, published: Sequence[tuple[str, Status]]) -> None:
        for event_id, status in published:
            self.mark_status_published(event_id, status)

    def unpublished_statuses(
        self, limit: int = 100, *, min_age_s: float = 0.0
    ) -> list[StatusMessage]:
        before = self.now - timedelta(seconds=min_age_s)
        return [
            message
            for index, message in enumerate(self.statuses)
            if index not in self.published_at
            and message.event_id is not None
            and self.recorded_at[index] <= before
        ][:limit]

    def record_create_intent(self, account: str, sku: str) -> CreateIntent:
        self.calls.append("intent")
        prior = self.intents.get((account, sku))
        intent = CreateIntent(account, sku, prior.attempts + 1 if prior else 1, self.now)
        self.intents[(account, sku)] = intent
        return intent

    def forget_offer(self, account: str, sku: str, offer_id: str) -> bool:
        self.calls.append(f"forget_offer:{offer_id}")
        record = self.offers.get((account, sku))
        if record is None or record.offer_id != offer_id:
            return False
        del self.offers[(account, sku)]
        return True

    def create_intent(self, account: str, sku: str) -> CreateIntent | None:
        return self.intents.get((account, sku))

    def clear_create_intent(self, account: str, sku: str) -> None:
        self.calls.append("clear_intent")
        self.intents.pop((account, sku), None)

    def get(self, account: str) -> TokenSet | None:
        return None


@dataclass
class Published:
    exchange: str
    routing_key: str
    body: bytes
    properties: pika.BasicProperties
    mandatory: bool


class FakePublisher:
    """Records what would be published; ``fail`` makes the next publish raise it."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.published: list[Published] = []
        self.fail: BaseException | None = None
        self.log = log

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
        *,
        mandatory: bool = False,
    ) -> None:
        if self.fail is not None:
            raise self.fail
        self.published.append(Published(exchange, routing_key, body, properties, mandatory))
        if self.log is not None:
            self.log.append(f"publish:{routing_key}")


class FakeClient:
    """A scripted Allegro client: offers found by external id, results of writes, errors."""

    def __init__(self) -> None:
        self.found: list[OfferListing] = []
        self.calls: list[tuple[str, Any]] = []
        self.errors: list[BaseException] = []
        self.category = {"id": "85166", "leaf": True}
        self.next_id = 100
        self.resend_if_unsure: list[bool] = []
        self.me_calls = 0

    def _maybe_fail(self) -> None:
        if self.errors:
            raise self.errors.pop(0)

    def base_marketplace(self) -> str | None:
        self.me_calls += 1  # not in ``calls``: tests compare those with offer calls
        return "allegro-pl"

    def find_offers_by_external_id(self, external_ids: list[str]) -> list[OfferListing]:
        self.calls.append(("find", list(external_ids)))
        return list(self.found)

    def create_offer(
        self, body: dict[str, Any], *, resend_if_unsure: bool = False, wait: bool = True
    ) -> OfferResult:
        self.calls.append(("POST", body))
        self.resend_if_unsure.append(resend_if_unsure)
        self._maybe_fail()
        self.next_id += 1
        offer = ProductOffer.model_validate(
            {"id": str(self.next_id), "publication": {"status": "ACTIVE"}}
        )
        return OfferResult(offer=offer, status=201, trace_id="trace-post")

    def update_offer(self, offer_id: str, patch: dict[str, Any]) -> OfferResult:
        self.calls.append(("PATCH", patch))
        self._maybe_fail()
        status = (patch.get("publication") or {}).get("status") or "ACTIVE"
        offer = ProductOffer.model_validate({"id": offer_id, "publication": {"status": status}})
        return OfferResult(offer=offer, status=200, trace_id="trace-patch")

    def get_category(self, category_id: str) -> Any:
        self.calls.append(("category", category_id))
        return _Dumpable(self.category)

    def get_category_parameters(self, category_id: str) -> list[Any]:
        self.calls.append(("parameters", category_id))
        return []

    def products_by_gtin(self, gtin: str) -> list[Any]:
        self.calls.append(("gtin", gtin))
        return []

    def writes(self) -> list[str]:
        return [name for name, _ in self.calls if name in ("POST", "PATCH")]


class _Dumpable:
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def model_dump(self, **_kwargs: Any) -> dict[str, Any]:
        return dict(self._data)


def product(**fields: Any) -> dict[str, Any]:
    """A product as the store keeps it (ProductState.product)."""
    data: dict[str, Any] = {
        "name": "Sony WH-1000XM5 wireless headphones black",
        "description": "<p>Headphones.</p>",
        "category": "Audio",
        "ean": "4548735214676",
        "mpn": None,
        "brand": "Sony",
        "price": {"amount": "999.00", "currency": "PLN"},
        "stock": {"available": 5, "unit": "UNIT"},
        "images": [],
        "attributes": {},
        "allegro": {"category_id": "85166", "product_id": None, "parameters": []},
    }
    data.update(fields)
    return data


def state(version: int = 1, *, sku: str = "SKU-1", **kwargs: Any) -> ProductState:
    values: dict[str, Any] = {
        "account": "default",
        "sku": sku,
        "version": version,
        "event_id": f"ev-{version}",
        "product": product(),
        "complete": True,
    }
    values.update(kwargs)
    return ProductState(**values)


def recorded(
    outcome: RecordOutcome,
    st: ProductState | None,
    changed: set[str] | None = None,
    *,
    dispatched: bool = False,
) -> RecordResult:
    return RecordResult(outcome, st, dispatched, frozenset(changed or set()))


@dataclass
class Harness:
    settings: Settings
    store: FakeStore
    publisher: FakePublisher
    client: FakeClient
    broker: StubBroker
    services: Services

    def queued(self, queue: str) -> list[dict[str, Any]]:
        """Payloads waiting in a stub queue (taken out)."""
        from dramatiq.message import Message

        found = []
        q = self.broker.queues[self.settings.name(queue)]
        while not q.empty():
            found.append(Message.decode(q.get_nowait()).args[0])
        return found

    def statuses(self) -> list[Status]:
        return [s.status for s in self.store.statuses]


@pytest.fixture
def settings() -> Settings:
    return Settings(name_prefix="u.", database_url="sqlite:///unused.db", mapping_file=None)


@pytest.fixture
def harness(settings: Settings) -> Harness:
    """Steps wired to fakes: a StubBroker with the actors declared, a FakeStore, a
    FakeClient for every account, a recording status publisher."""
    from workers.actors import declare_actors

    store = FakeStore()
    publisher = FakePublisher()
    client = FakeClient()
    broker = StubBroker()
    services = Services(
        settings,
        broker,
        store=store,  # type: ignore[arg-type]
        mapping=None,
        client_factory=lambda _s, _st, _a: client,  # type: ignore[arg-type,return-value]
        publisher=publisher,
    )
    declare_actors(broker, services)
    return Harness(settings, store, publisher, client, broker, services)
