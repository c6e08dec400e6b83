"""Fixtures of the pipeline tests: the whole runtime through real components.

Real RabbitMQ (every exchange and queue of a test module under a unique ``name_prefix``,
deleted at the end), the sandbox over HTTP, a real store (an SQLite file; PostgreSQL in
the modules that ask for it), the ingest bridge and a ``dramatiq.Worker`` running in this
process as threads (fast to start, same code paths as the CLI), a publisher of upstream
events and a collector of ``allegro.status``.

Without RabbitMQ the tests skip with a message; with ``CI`` set they fail instead.

Reuse in a new module::

    def test_something(pipeline: Pipeline) -> None:
        sku = pipeline.new_sku()
        event = pipeline.publish(upserted(sku, version=1))
        status = pipeline.status_of(event["event_id"])
        assert status["status"] == "PUBLISHED"

``pipeline`` is module-scoped (one runtime per module); each test gets a reset sandbox and
should use its own SKUs (``pipeline.new_sku()``). ``pipeline_options`` (module-scoped,
override it in a module) changes settings; ``store_url`` picks the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dramatiq
import pika
import pika.exceptions
import pytest

from sandbox.testing import SAMPLE_GTIN, SandboxHandle, running_sandbox
from workers.allegro import TokenSet
from workers.broker import connection_parameters
from workers.ingest import IngestBridge
from workers.services import Runtime, setup
from workers.settings import Settings
from workers.store import Store, open_store
from workers.topology import Names, declare

AMQP_URL = os.environ.get("ALLEGRO_FEED_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
POSTGRES_URL = os.environ.get(
    "ALLEGRO_FEED_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: Longest wait for one outcome; generous for slow CI machines (not a timing assertion).
WAIT_S = 30.0
#: The catalogue product's category in the sandbox's default data.
CATEGORY_ID = "85166"


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable ({exc!r}); the pipeline tests need it"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The RabbitMQ URL of the tests, checked to be reachable (skip locally, fail in CI)."""
    try:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except pika.exceptions.AMQPError as exc:
        _unavailable(f"RabbitMQ at {AMQP_URL}", exc)
    connection.close()
    return AMQP_URL


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    """A sandbox serving over HTTP for the module (reset before every test)."""
    with running_sandbox() as handle:
        yield handle


@pytest.fixture(autouse=True)
def _fresh_sandbox(request: pytest.FixtureRequest) -> None:
    if "pipeline" in request.fixturenames:
        request.getfixturevalue("sandbox").reset()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The store's URL: an SQLite file of the module. Override it to use another database
    (see :func:`postgres_store_url`)."""
    path = tmp_path_factory.mktemp("store") / "pipeline.db"
    yield f"sqlite:///{path}"


@pytest.fixture(scope="module")
def postgres_store_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the module, dropped at the end (skip locally without
    PostgreSQL, fail in CI). Use it as ``store_url`` with a module-level override."""
    import psycopg

    name = f"allegro_feed_t{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL at {POSTGRES_URL}", exc)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    """Settings of the module's pipeline on top of :func:`pipeline_settings`' (override)."""
    return {}


def pipeline_settings(
    *, amqp_url: str, store_url: str, sandbox: SandboxHandle, **options: Any
) -> Settings:
    """Settings for a pipeline under test: a unique name prefix, the sandbox, short
    backoffs and few retries so that failures show within seconds."""
    values: dict[str, Any] = {
        "environment": "local",
        "api_url": sandbox.url,
        "auth_url": sandbox.url,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "amqp_url": amqp_url,
        "database_url": store_url,
        "mapping_file": None,
        "name_prefix": f"t{uuid.uuid4().hex[:8]}.",
        "amqp_heartbeat_s": 30,
        "actor_max_retries": 3,
        "actor_min_backoff_ms": 50,
        "actor_max_backoff_ms": 300,
        "retry_max_attempts": 2,
        "retry_backoff_initial_s": 0.02,
        "retry_backoff_max_s": 0.1,
        "retry_max_time_s": 5.0,
        "operation_poll_max_s": 10.0,
        "sku_lease_s": 30.0,
        # A 429 without Retry-After stops the shared budget for this long (60 s in
        # production, as Allegro blocks a client id for a minute); short here so that the
        # tests of retries and deferrals see the next attempt within seconds.
        "rate_client_penalty_s": 0.5,
        "rate_seller_penalty_s": 0.5,
        "dead_letter_ttl_ms": 3_600_000,
        "metrics_port": 0,
        "log_format": "json",
    }
    values.update(options)
    return Settings(**values)


class StatusCollector:
    """Consumes the status queue in a thread and keeps every message (body and AMQP
    properties); :meth:`wait` blocks until a condition holds or fails the test."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._queue = Names.of(settings).status_queue
        self._cond = threading.Condition()
        self.messages: list[tuple[dict[str, Any], pika.BasicProperties, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="status-collector", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        connection = pika.BlockingConnection(connection_parameters(self._settings))
        try:
            channel = connection.channel()
            for method, properties, body in channel.consume(
                self._queue, inactivity_timeout=0.1, auto_ack=True
            ):
                if self._stop.is_set():
                    break
                if method is None:
                    continue
                with self._cond:
                    self.messages.append((json.loads(body), properties, method.routing_key))
                    self._cond.notify_all()
        finally:
            connection.close()

    def wait(self, predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=timeout_s):
                pytest.fail(f"timed out waiting for {what}; statuses so far: {self.summary()}")

    def of(self, event_id: str) -> list[dict[str, Any]]:
        """Every status message seen for ``event_id``."""
        with self._cond:
            return [m for m, _p, _k in self.messages if m.get("event_id") == event_id]

    def with_properties(self, event_id: str) -> list[tuple[dict[str, Any], Any, str]]:
        with self._cond:
            return [entry for entry in self.messages if entry[0].get("event_id") == event_id]

    def summary(self) -> list[str]:
        return [f"{m.get('event_id')}:{m.get('status')}" for m, _p, _k in self.messages[-20:]]


class Pipeline:
    """The running pipeline of a test module (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        runtime: Runtime,
        sandbox: SandboxHandle,
        *,
        in_process: bool = True,
    ) -> None:
        self.in_process = in_process
        self.settings = settings
        self.store = store
        self.runtime = runtime
        self.sandbox = sandbox
        self.names = Names.of(settings)
        self.statuses = StatusCollector(settings)
        self.bridge = IngestBridge(settings, store, runtime.broker)
        self._bridge_thread = threading.Thread(
            target=self.bridge.run, name="ingest-bridge", daemon=True
        )
        self.worker = dramatiq.Worker(runtime.broker, worker_threads=4, worker_timeout=100)
        self._publisher = pika.BlockingConnection(connection_parameters(settings))
        self._channel = self._publisher.channel()
        self._channel.confirm_delivery()

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        declare(self._channel, self.settings)
        self.statuses.start()
        if self.in_process:
            self._bridge_thread.start()
            self.worker.start()

    def stop(self) -> None:
        if self.in_process:
            self.bridge.stop()
            self._bridge_thread.join(timeout=15)
            self.worker.stop(timeout=15_000)
        self.statuses.stop()
        self.runtime.close()
        self._delete_topology()
        if self._publisher.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                self._publisher.close()

    def _delete_topology(self) -> None:
        # A fresh connection: the publisher's may have been idle (no heartbeats served)
        # through a long test and been dropped by the broker.
        connection = pika.BlockingConnection(connection_parameters(self.settings))
        try:
            channel = connection.channel()
            for queue in self.names.all_queues():
                channel.queue_delete(queue)
            for exchange in (self.names.products_exchange, self.names.status_exchange):
                channel.exchange_delete(exchange)
        finally:
            connection.close()

    # --- driving -----------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """``ALLEGRO_FEED_*`` variables that give a child process these settings."""
        env: dict[str, str] = {}
        for name, value in self.settings.model_dump(mode="json").items():
            if value is not None:
                env[f"ALLEGRO_FEED_{name.upper()}"] = str(value)
        if self.settings.client_secret is not None:
            env["ALLEGRO_FEED_CLIENT_SECRET"] = self.settings.client_secret.get_secret_value()
        return env

    def new_sku(self) -> str:
        return f"SKU-{uuid.uuid4().hex[:10]}"

    def change_settings(self, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
        """Settings the in-process workers read at run time (e.g. ``create_grace_s``)
        changed for one test: the services get a copy with ``changes`` (settings are
        frozen; monkeypatch puts the original back)."""
        services = self.runtime.services
        monkeypatch.setattr(services, "settings", services.settings.model_copy(update=changes))

    def connect_account(self, account: str = "default") -> None:
        """Put a fresh user token of the sandbox's seller into the store for ``account``;
        the in-process workers drop their clients (and the tokens they hold in memory)."""
        tokens = TokenSet.from_token_response(self.sandbox.issue_user_token(), now=time.time())
        self.store.put(account, tokens)
        self.runtime.services.forget_clients()

    def publish(
        self,
        event: dict[str, Any] | bytes,
        *,
        routing_key: str | None = None,
        properties: pika.BasicProperties | None = None,
    ) -> dict[str, Any]:
        """Publish an upstream event per the contract (persistent JSON, ``message_id`` =
        ``event_id``, the type as routing key), confirmed; returns it. Bytes go as they are
        (give ``routing_key``)."""
        if isinstance(event, bytes):
            body, event_dict = event, {}
        else:
            body, event_dict = json.dumps(event).encode(), event
        key = routing_key or str(event_dict.get("type", "product.upserted"))
        props = properties or pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type="application/json",
            message_id=str(event_dict.get("event_id")) if event_dict.get("event_id") else None,
        )
        self._channel.basic_publish(
            exchange=self.names.products_exchange, routing_key=key, body=body, properties=props
        )
        return event_dict

    def status_of(self, event_id: str, timeout_s: float = WAIT_S) -> dict[str, Any]:
        """The (first) status message of ``event_id``, waited for."""
        self.statuses.wait(lambda: bool(self.statuses.of(event_id)), f"status of {event_id}")
        return self.statuses.of(event_id)[0]

    def wait_until(self, predicate: Callable[[], bool], what: str) -> None:
        """Poll ``predicate`` until true (fails the test after ``WAIT_S``)."""
        deadline = time.monotonic() + WAIT_S
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.02)

    def queue_count(self, queue: str) -> int:
        """Messages ready in ``queue`` (a passive declare)."""
        return int(self._channel.queue_declare(queue, passive=True).method.message_count)

    def consumers(self, queue: str) -> int | None:
        """Consumers of ``queue``, or None when it does not exist."""
        try:
            declared = self._channel.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker:  # 404: the channel is closed with it
            self._channel = self._publisher.channel()
            self._channel.confirm_delivery()
            return None
        return int(declared.method.consumer_count)

    def delete_queue(self, queue: str) -> None:
        """Delete ``queue`` (its consumers are cancelled by RabbitMQ)."""
        self._channel.queue_delete(queue)

    def get_one(self, queue: str) -> tuple[Any, pika.BasicProperties, bytes] | None:
        """Take one message from ``queue`` (acked), or None."""
        method, properties, body = self._channel.basic_get(queue, auto_ack=True)
        return None if method is None else (method, properties, body)

    def offers_of(self, sku: str) -> list[dict[str, Any]]:
        """The sandbox's offers whose ``external.id`` is ``sku``."""
        return [o for o in self.sandbox.offers() if (o.get("external") or {}).get("id") == sku]

    def writes_of(self, offer_ids: set[str] | None = None, since: int = 0) -> list[dict[str, Any]]:
        """POST and PATCH calls to ``/sale/product-offers`` in the sandbox's request log."""
        return [
            r
            for r in self.sandbox.requests(since=since)
            if r["method"] in ("POST", "PATCH")
            and str(r["path"]).startswith("/sale/product-offers")
            and "/operations/" not in str(r["path"])
        ]


@pytest.fixture(scope="module")
def in_process() -> bool:
    """Run the bridge and the actors as threads of the test (True), or leave them to the
    module, which starts the real processes (override with False)."""
    return True


@pytest.fixture(scope="module")
def pipeline(
    amqp_url: str,
    store_url: str,
    sandbox: SandboxHandle,
    pipeline_options: dict[str, Any],
    in_process: bool,
) -> Iterator[Pipeline]:
    """The running pipeline of the module: bridge + worker threads + collector."""
    settings = pipeline_settings(
        amqp_url=amqp_url, store_url=store_url, sandbox=sandbox, **pipeline_options
    )
    store = open_store(store_url)
    runtime = setup(settings, store=store, mapping=None)
    running = Pipeline(settings, store, runtime, sandbox, in_process=in_process)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        store.close()


@pytest.fixture(scope="session")
def allegro_spec() -> Any:
    """Allegro's OpenAPI spec (tests/contract), or None without ../shared (locally; in CI
    its absence fails)."""
    from tests.contract.openapi import require_spec

    try:
        return require_spec()
    except pytest.skip.Exception:
        return None


@pytest.fixture(autouse=True)
def _calls_follow_allegros_spec(
    request: pytest.FixtureRequest, allegro_spec: Any
) -> Iterator[None]:
    """After each pipeline test: every API call in the sandbox's log (the workers', and the
    test's own) must follow Allegro's OpenAPI spec, requests strictly, answers leniently."""
    yield
    if "pipeline" not in request.fixturenames or allegro_spec is None:
        return
    sandbox: SandboxHandle = request.getfixturevalue("sandbox")
    problems = [p for entry in sandbox.requests() for p in allegro_spec.check_exchange(entry)]
    if problems:
        pytest.fail("calls that break Allegro's spec:\n  " + "\n  ".join(problems[:20]))


@pytest.fixture(autouse=True)
def _connected(request: pytest.FixtureRequest) -> None:
    # The sandbox forgets its tokens on reset: connect the seller again for every test.
    if "pipeline" in request.fixturenames:
        request.getfixturevalue("_fresh_sandbox")
        request.getfixturevalue("pipeline").connect_account()


# --- events ---------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def upserted(sku: str, version: int, **fields: Any) -> dict[str, Any]:
    """A ``product.upserted`` the sandbox lists: the catalogue's sample product (by EAN) in
    its category, condition new; ``fields`` replace top-level fields."""
    event: dict[str, Any] = {
        "type": "product.upserted",
        "event_id": f"ev-{uuid.uuid4()}",
        "occurred_at": _now(),
        "account": "default",
        "sku": sku,
        "version": version,
        "name": "Sony WH-1000XM5 wireless headphones black",
        "description": "<p>Over-ear wireless headphones with noise cancelling.</p>",
        "category": "Electronics > Audio > Headphones",
        "ean": SAMPLE_GTIN,
        "brand": "Sony",
        "price": {"amount": "999.00", "currency": "PLN"},
        "stock": {"available": 5, "unit": "UNIT"},
        "images": ["https://shop.example/img/wh1000xm5.jpg"],
        "attributes": {},
        "allegro": {
            "category_id": CATEGORY_ID,
            "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
        },
    }
    event.update(fields)
    return event


def stock_changed(sku: str, version: int, available: int) -> dict[str, Any]:
    """A ``product.stock`` event."""
    return {
        "type": "product.stock",
        "event_id": f"ev-{uuid.uuid4()}",
        "occurred_at": _now(),
        "sku": sku,
        "version": version,
        "stock": {"available": available},
    }


def price_changed(sku: str, version: int, amount: str) -> dict[str, Any]:
    """A ``product.price`` event."""
    return {
        "type": "product.price",
        "event_id": f"ev-{uuid.uuid4()}",
        "occurred_at": _now(),
        "sku": sku,
        "version": version,
        "price": {"amount": amount, "currency": "PLN"},
    }


def deleted(sku: str, version: int) -> dict[str, Any]:
    """A ``product.deleted`` event."""
    return {
        "type": "product.deleted",
        "event_id": f"ev-{uuid.uuid4()}",
        "occurred_at": _now(),
        "sku": sku,
        "version": version,
    }
