"""Per-process wiring of the workers: settings, broker, store, Allegro clients, mapping.

:func:`setup` builds everything a worker process needs and declares the actors on a new
broker; nothing connects until first used, so it is cheap to call at import time (the
``dramatiq`` CLI imports ``workers.entrypoint`` in every worker process, after the fork)::

    runtime = setup(Settings())
    worker = dramatiq.Worker(runtime.broker, worker_threads=8)   # what the CLI does

:class:`Services` hands out, lazily and thread-safely:

- the store (``open_store(settings.database_url)``, migrated once), shared by all threads;
- one :class:`~workers.allegro.AllegroClient` per account *per thread* (the store is its
  token store, so refreshed tokens are shared by every thread, process and host);
- the mapping file (``settings.mapping_file``, or None);
- the price currency of each account, from its seller's base marketplace (asked of Allegro
  once per account, :meth:`Services.currency`);
- the :class:`~workers.status.StatusReporter` publishing on the broker's thread-local
  confirmed channel, and the outbox sweep run when a worker boots
  (:meth:`Services.sweep_statuses`);
- a per-process cache of Allegro categories (for the leaf check), and of the category
  parameters read from the store's cache (:meth:`Services.parameters`).
"""

from __future__ import annotations

import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import dramatiq
import structlog

from schemas.mapping import MappingFile, load_mapping
from workers.allegro import AllegroClient, NotFound, Product
from workers.allegro.account import AccountCurrencies
from workers.broker import connection_parameters, create_broker
from workers.budget import shared_budget
from workers.domain.model import CategoryParameters
from workers.middleware import DeclareTopology, StatusOnFailure, SweepStatusOutbox
from workers.settings import Settings
from workers.status import BrokerChannelPublisher, ChannelPublisher, Publisher, StatusReporter
from workers.store import CachedParameters, Store, open_store
from workers.topology import Names, Step

__all__ = ["ClientFactory", "Runtime", "Services", "allegro_json", "setup"]

log = structlog.get_logger(__name__)

#: Builds the Allegro client of one account: ``(settings, token store, account)``.
ClientFactory = Callable[[Settings, Store, str], AllegroClient]


def _default_client(settings: Settings, store: Store, account: str) -> AllegroClient:
    # Every client of every process takes from one rate budget (Allegro's limits are per
    # client id and per seller, whatever the number of workers).
    return AllegroClient(settings, store, account=account, budget=shared_budget(settings))


_UNSET: Any = object()
#: Categories whose parameters one process keeps decoded (see :meth:`Services.parameters`).
PARAMETERS_MEMO_SIZE = 64


def allegro_json(value: Any) -> Any:
    """A model dump (python mode) as Allegro's JSON has it: decimals as JSON numbers (an
    integer when whole, as ``restrictions.min`` of an integer parameter), not the strings
    pydantic's JSON mode makes of them; enums as their values."""
    if isinstance(value, dict):
        return {key: allegro_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [allegro_json(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Enum):
        return value.value
    return value


class Services:
    """What the actors of one process share (see the module docstring).

    ``store``, ``mapping``, ``client_factory`` and ``publisher`` (of status messages)
    replace the defaults (tests); a store given here is not closed by :meth:`close`.
    """

    def __init__(
        self,
        settings: Settings,
        broker: dramatiq.Broker,
        *,
        store: Store | None = None,
        mapping: MappingFile | None = _UNSET,
        client_factory: ClientFactory | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.names = Names.of(settings)
        self._store = store
        self._owns_store = store is None
        self._mapping: MappingFile | None = mapping
        self._client_factory = client_factory or _default_client
        self._lock = threading.RLock()
        self._local = threading.local()
        self._clients: list[AllegroClient] = []
        self._generation = 0
        self._categories: dict[str, dict[str, Any]] = {}
        self._parameters_memo: OrderedDict[str, CachedParameters] = OrderedDict()
        self._reporter: StatusReporter | None = None
        self._publisher = publisher
        self._host = socket.gethostname()
        self._currencies = AccountCurrencies(settings, self.client)

    @property
    def store(self) -> Store:
        """The store, opened (and migrated) on first use."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.settings.database_url)
        return self._store

    @property
    def mapping(self) -> MappingFile | None:
        """The mapping file, read on first use; None without ``mapping_file``."""
        if self._mapping is _UNSET:
            with self._lock:
                if self._mapping is _UNSET:
                    path = self.settings.mapping_file
                    self._mapping = load_mapping(path) if path is not None else None
        return self._mapping

    @property
    def reporter(self) -> StatusReporter:
        """The status reporter (store history + ``allegro.status`` exchange)."""
        if self._reporter is None:
            with self._lock:
                if self._reporter is None:
                    self._reporter = StatusReporter(
                        self.store,
                        self._publisher or BrokerChannelPublisher(self.broker),
                        self.names.status_exchange,
                    )
        return self._reporter

    def sweep_statuses(self) -> int:
        """Publish the statuses left unpublished in the store's outbox
        (:meth:`~workers.status.StatusReporter.sweep`); returns how many. Publishes on a
        connection of its own, closed afterwards (the calling thread may never publish
        again, so the broker's thread-local one would idle)."""
        if self._publisher is not None:
            reporter = StatusReporter(self.store, self._publisher, self.names.status_exchange)
            return reporter.sweep(self.owner())
        import pika

        params = connection_parameters(self.settings, name="allegro-feed status sweep")
        connection = pika.BlockingConnection(params)
        try:
            publisher = ChannelPublisher(connection.channel())
            reporter = StatusReporter(self.store, publisher, self.names.status_exchange)
            return reporter.sweep(self.owner())
        finally:
            if connection.is_open:
                connection.close()

    def client(self, account: str) -> AllegroClient:
        """The calling thread's Allegro client of ``account``."""
        clients: dict[str, AllegroClient] | None = getattr(self._local, "clients", None)
        if clients is None or getattr(self._local, "generation", None) != self._generation:
            clients = self._local.clients = {}
            self._local.generation = self._generation
        client = clients.get(account)
        if client is None:
            client = clients[account] = self._client_factory(self.settings, self.store, account)
            with self._lock:
                self._clients.append(client)
        return client

    def currency(self, account: str) -> str:
        """The price currency of ``account``: its seller's base marketplace's, asked of
        Allegro (``GET /me``) once per process (:class:`AccountCurrencies`: the settings'
        ``marketplace`` when Allegro does not tell; a transient failure raises)."""
        return self._currencies.currency(account)

    def forget_clients(self) -> None:
        """Close every Allegro client; each thread makes new ones on next use (their
        in-memory tokens are dropped: used after the tokens changed under them, e.g. in
        tests that reset the sandbox). Call it while no message is being processed."""
        with self._lock:
            clients, self._clients = self._clients, []
            self._generation += 1
            self._categories.clear()
            self._parameters_memo.clear()
        self._currencies.forget()
        for client in clients:
            client.close()

    def category(self, client: AllegroClient, category_id: str) -> dict[str, Any]:
        """Allegro's ``CategoryDto`` of ``category_id`` as a dict, fetched once per process."""
        cached = self._categories.get(category_id)
        if cached is None:
            found = client.get_category(category_id)
            cached = found.model_dump(by_alias=True, mode="json", exclude_none=True)
            with self._lock:
                self._categories[category_id] = cached
        return cached

    def parameters(self, client: AllegroClient, category_id: str) -> list[dict[str, Any]]:
        """The category's parameters (Allegro's dict shape) from the store's cache; when
        missing or older than ``parameters_ttl_s`` one worker (``parameters_lock``) fetches
        them while the others wait and then read the cache.

        The process keeps the entries it read (decoded, for the last
        :data:`PARAMETERS_MEMO_SIZE` categories) and uses one until the store's entry would
        be stale: the store replaces an entry only once it is stale, so until then it holds
        the same one. Enrich and validate of an event read it twice; a large category's
        parameters are not decoded from the store each time, and what the domain derives
        from them is derived once (:class:`~workers.domain.model.CategoryParameters`).
        Callers treat the list as read-only: it is shared by the process's threads."""
        memo = self._parameters_memo.get(category_id)
        if memo is not None and self._fresh(memo.fetched_at):
            return memo.parameters
        store = self.store
        cached = store.cached_parameters(category_id)
        if cached is not None and self._fresh(cached.fetched_at):
            return self._remember_parameters(cached)
        with store.parameters_lock(category_id):
            cached = store.cached_parameters(category_id)
            if cached is not None and self._fresh(cached.fetched_at):
                return cached.parameters
            fetched = [
                allegro_json(parameter.model_dump(by_alias=True, exclude_none=True))
                for parameter in client.get_category_parameters(category_id)
            ]
            store.put_parameters(category_id, fetched)
        log.info("parameters.fetched", category_id=category_id, count=len(fetched))
        return fetched

    def _remember_parameters(self, cached: CachedParameters) -> list[dict[str, Any]]:
        parameters = CategoryParameters(cached.parameters)
        entry = CachedParameters(cached.category_id, parameters, cached.fetched_at)
        with self._lock:
            memo = self._parameters_memo
            memo[cached.category_id] = entry
            memo.move_to_end(cached.category_id)
            while len(memo) > PARAMETERS_MEMO_SIZE:
                memo.popitem(last=False)
        return parameters

    def _fresh(self, fetched_at: datetime) -> bool:
        age_s = (datetime.now(UTC) - fetched_at).total_seconds()
        return age_s < self.settings.parameters_ttl_s

    @staticmethod
    def catalogue(client: AllegroClient, product: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Catalogue products matching the product's EAN, else its MPN (Allegro's dict
        shape). When the product names its catalogue product itself (``allegro.product_id``)
        that one product, read by its id (one call, as the search would be), so that its
        category, parameters and images are known; none when Allegro does not know it (the
        offer then names it all the same, and Allegro's answer says what is wrong)."""
        overrides = product.get("allegro") or {}
        found: list[Product] = []
        if overrides.get("product_id"):
            try:
                found = [client.get_product(str(overrides["product_id"]))]
            except NotFound:
                found = []
        elif product.get("ean"):
            found = client.products_by_gtin(str(product["ean"]))
        elif product.get("mpn"):
            found = list(client.search_products(str(product["mpn"]), mode="MPN").products or [])
        return [p.model_dump(by_alias=True, mode="json", exclude_none=True) for p in found]

    def owner(self) -> str:
        """This thread's identity as a lease owner: host, process and thread."""
        return f"{self._host}:{os.getpid()}:{threading.get_ident()}"

    def close(self) -> None:
        """Close the Allegro clients and the store opened here."""
        self.forget_clients()
        with self._lock:
            store = self._store if self._owns_store else None
            if self._owns_store:
                self._store = None
        if store is not None:
            store.close()


@dataclass(frozen=True)
class Runtime:
    """A process's broker with the actors declared on it, and their services."""

    settings: Settings
    broker: dramatiq.Broker
    services: Services
    actors: dict[Step, dramatiq.Actor[Any, Any]]

    def close(self) -> None:
        """Close the services and the broker's connections."""
        self.services.close()
        self.broker.close()


def setup(
    settings: Settings,
    *,
    store: Store | None = None,
    mapping: MappingFile | None = _UNSET,
    client_factory: ClientFactory | None = None,
) -> Runtime:
    """A new broker (see :func:`workers.broker.create_broker`), its services and the four
    actors declared on it. Opens no connection; the arguments are as for :class:`Services`.
    """
    from workers.actors import declare_actors  # actors import this module's types

    holder: list[Services] = []
    broker = create_broker(
        settings,
        extra_middleware=[
            DeclareTopology(settings),
            StatusOnFailure(lambda: holder[0].reporter),
            SweepStatusOutbox(lambda: holder[0].sweep_statuses()),
        ],
    )
    services = Services(
        settings, broker, store=store, mapping=mapping, client_factory=client_factory
    )
    holder.append(services)
    actors = declare_actors(broker, services)
    longest_call_s = settings.operation_poll_max_s + settings.retry_max_time_s
    if settings.sku_lease_s <= longest_call_s:
        # A publish outliving its lease lets another worker publish the SKU concurrently.
        log.warning(
            "settings.sku_lease_short",
            sku_lease_s=settings.sku_lease_s,
            longest_publish_s=longest_call_s,
            fix="set ALLEGRO_FEED_SKU_LEASE_S above operation_poll_max_s + retry_max_time_s",
        )
    log.debug("runtime.ready", queues=sorted(a.queue_name for a in actors.values()))
    return Runtime(settings=settings, broker=broker, services=services, actors=actors)
