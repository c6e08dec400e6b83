"""The stock/price fast path through the real sandbox (HTTP) and a real store, driving the
:class:`~workers.batching.Batcher` directly (no bridge): coalescing, batch commands and
their reports, statuses only once Allegro applied a change, the registry afterwards,
failed tasks, crash safety of the journal, one leader per account, and the process.

Time: the batcher's clock is a fake one the tests move; the sandbox's clock is advanced
through its admin API (``command_delay_s`` of sandbox time before a command is applied),
so nothing waits for real except the process test, which polls for its outcome.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import pytest

from sandbox.testing import SandboxHandle, offer_body
from schemas.events import parse_event
from tests.pipeline.conftest import price_changed, stock_changed, upserted
from workers.allegro import AllegroClient, CommandKind, CommandTask, TokenSet
from workers.batching import Batcher, BatchRepo, Handover, JournalState
from workers.broker import connection_parameters
from workers.domain.plan import fingerprint
from workers.settings import Settings
from workers.status import StatusReporter
from workers.store import OfferRecord, Store, open_store
from workers.topology import Names

pytestmark = pytest.mark.integration

COMMANDS = (
    "/sale/offer-quantity-change-commands/",
    "/sale/offer-price-change-commands/",
    "/sale/offer-publication-commands/",
)
ROOT = Path(__file__).resolve().parents[2]
#: Longest wait of the process test for one outcome (not a timing assertion).
WAIT_S = 30.0


class Crash(BaseException):
    """Stands for the process dying at that point (not caught by the batcher)."""


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingPublisher:
    """Takes status messages as RabbitMQ would (confirmed), into the shared log."""

    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log

    def publish(
        self, exchange: str, routing_key: str, body: bytes, properties: Any, **_: Any
    ) -> None:
        self.log.append(("status", json.loads(body)))


class LoggingClient:
    """The real client, with every task report read logged (and every report counting
    all tasks a success, which the batcher settles without reading them), and crashes on
    demand."""

    def __init__(self, client: AllegroClient, log: list[tuple[str, Any]]) -> None:
        self._client = client
        self.log = log
        self.crash: str | None = None  # "before_put" | "after_put"
        self.sent: dict[str, list[str]] = {}  # command id -> its offer ids

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _put(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.crash == "before_put":
            raise Crash("died after the journal write, before the PUT")
        result = call(*args, **kwargs)
        self.sent[str(kwargs.get("command_id"))] = [str(i) for i in args[0]]
        if self.crash == "after_put":
            raise Crash("died after the PUT, before recording it")
        return result

    def change_quantity(self, *args: Any, **kwargs: Any) -> Any:
        return self._put(self._client.change_quantity, *args, **kwargs)

    def change_price(self, *args: Any, **kwargs: Any) -> Any:
        return self._put(self._client.change_price, *args, **kwargs)

    def change_publication(self, *args: Any, **kwargs: Any) -> Any:
        return self._put(self._client.change_publication, *args, **kwargs)

    def get_command_report(self, kind: CommandKind | str, command_id: str) -> Any:
        report = self._client.get_command_report(kind, command_id)
        counts = report.task_count
        offers = self.sent.get(command_id, [])
        if (
            report.completed
            and counts is not None
            and counts.failed == 0
            and counts.success == counts.total == len(set(offers)) > 0
        ):
            # Allegro's counts say every task succeeded: no task list is read then.
            self.log.append(("tasks", [(offer_id, "SUCCESS") for offer_id in offers]))
        return report

    def get_all_command_tasks(
        self, kind: CommandKind | str, command_id: str, *, page_size: int = 500
    ) -> list[CommandTask]:
        tasks = self._client.get_all_command_tasks(kind, command_id, page_size=page_size)
        self.log.append(("tasks", [(t.offer_id, t.status) for t in tasks]))
        return tasks


@dataclass
class World:
    """A sandbox, a store with the seller connected, the batching tables and the logs."""

    sandbox: SandboxHandle
    store: Store
    url: str
    settings: Settings
    clock: FakeClock = field(default_factory=FakeClock)
    log: list[tuple[str, Any]] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    closers: list[Callable[[], object]] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"B{uuid.uuid4().hex[:6]}-")

    def client(self) -> LoggingClient:
        client = AllegroClient(self.settings, self.store, account="default")
        self.closers.append(client.close)
        return LoggingClient(client, self.log)

    def batcher(
        self,
        *,
        owner: str = "host-a:batcher",
        client: LoggingClient | None = None,
        handover: bool = True,
    ) -> Batcher:
        repo = BatchRepo(self.url)
        self.closers.append(repo.close)
        used = client or self.client()
        reporter = StatusReporter(self.store, RecordingPublisher(self.log), "allegro.status")
        return Batcher(
            self.settings,
            self.store,
            repo,
            lambda account: used,
            reporter,
            self.handovers.append if handover else None,
            clock=self.clock,
            owner=owner,
        )

    # --- set-up ------------------------------------------------------------------------------

    def create_offers(self, count: int, *, stock: int = 5, amount: str = "100.00") -> list[str]:
        """``count`` ACTIVE offers in the sandbox, each with its SKU recorded in the store
        (product.upserted, version 1) and in the registry; returns the SKUs."""
        skus = []
        with self.sandbox.client() as http:
            for n in range(count):
                sku = f"{self.prefix}{n:04d}"
                body = offer_body(sku, stock=stock, amount=amount)
                response = http.post("/sale/product-offers", json=body)
                assert response.status_code == 201, response.text
                event = upserted(
                    sku,
                    1,
                    stock={"available": stock, "unit": "UNIT"},
                    price={"amount": amount, "currency": "PLN"},
                )
                self.store.record_event(parse_event(json.dumps(event).encode()))
                body["stock"]["unit"] = "UNIT"
                self.store.save_offer(
                    OfferRecord(
                        account="default",
                        sku=sku,
                        offer_id=response.json()["id"],
                        publication_status="ACTIVE",
                        fingerprint=fingerprint(body),
                        published_version=1,
                        published_body=body,
                    )
                )
                skus.append(sku)
        return skus

    def stage(self, batcher: Batcher, event: dict[str, Any]) -> str:
        """Record ``event`` in the store, then stage it, as the bridge would."""
        parsed = parse_event(json.dumps(event).encode())
        result = self.store.record_event(parsed)
        assert result.state is not None
        offer = self.store.get_offer(parsed.account, parsed.sku)
        assert batcher.stage(parsed, result.state, offer)
        return parsed.event_id

    # --- driving -------------------------------------------------------------------------------

    def drive(self, batcher: Batcher, *, max_runs: int = 400, sandbox_step_s: float = 1.0) -> int:
        """Run the batcher until no work is left (fails the test after ``max_runs``),
        moving both clocks on between runs; returns the runs made."""
        for runs in range(1, max_runs + 1):
            batcher.run_once(self.clock())
            if not batcher.repo.accounts_with_work():
                return runs
            self.clock.advance(0.1)
            self.sandbox.advance_clock(sandbox_step_s)
        unfinished = batcher.repo.entries(states=[JournalState.NEW, JournalState.SENT])
        pytest.fail(f"the batcher did not finish: {unfinished}")

    # --- reading -------------------------------------------------------------------------------

    def last_seq(self) -> int:
        entries = self.sandbox.requests()
        return int(entries[-1]["seq"]) if entries else 0

    def command_calls(self, since: int = 0) -> list[dict[str, Any]]:
        return [r for r in self.sandbox.requests(since) if r["path"].startswith(COMMANDS)]

    def statuses(self) -> dict[str, list[dict[str, Any]]]:
        """Status messages published, by event id."""
        found: dict[str, list[dict[str, Any]]] = {}
        for kind, data in self.log:
            if kind == "status":
                found.setdefault(data["event_id"], []).append(data)
        return found

    def offers(self) -> dict[str, dict[str, Any]]:
        """The sandbox's offers of this test, by SKU."""
        return {
            (o.get("external") or {}).get("id"): o
            for o in self.sandbox.offers()
            if str((o.get("external") or {}).get("id", "")).startswith(self.prefix)
        }

    def assert_statuses_follow_task_success(self) -> None:
        """Every UPDATED/ENDED status came after Allegro said SUCCESS for its offer's task
        (a task list, or a report counting every task a success), never earlier."""
        succeeded: set[str] = set()
        for kind, data in self.log:
            if kind == "tasks":
                succeeded |= {offer_id for offer_id, status in data if status == "SUCCESS"}
            elif data["status"] in ("UPDATED", "ENDED"):
                assert data["offer_id"] in succeeded, f"status before its task succeeded: {data}"


@pytest.fixture(autouse=True)
def _fresh(sandbox: SandboxHandle) -> None:
    sandbox.reset()


@pytest.fixture(autouse=True)
def _calls_follow_allegros_spec(sandbox: SandboxHandle, allegro_spec: Any) -> Iterator[None]:
    yield
    if allegro_spec is None:
        return
    # Every call of the batcher; of the test's own offer creations (1,000 alike in one
    # test) the first few.
    entries = sandbox.requests()
    creations = [e for e in entries if (e["method"], e["path"]) == ("POST", "/sale/product-offers")]
    checked = [e for e in entries if e not in creations[5:]]
    problems = [p for entry in checked for p in allegro_spec.check_exchange(entry)]
    assert not problems, "calls that break Allegro's spec:\n  " + "\n  ".join(problems[:20])


def _settings(sandbox: SandboxHandle, url: str) -> Settings:
    return Settings(
        environment="local",
        api_url=sandbox.url,
        auth_url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        database_url=url,
        retry_max_attempts=2,
        retry_backoff_initial_s=0.02,
        retry_backoff_max_s=0.1,
        retry_max_time_s=5.0,
    )


def _world(sandbox: SandboxHandle, url: str) -> Iterator[World]:
    store = open_store(url)  # migrates: the batching tables come with the store
    store.put("default", TokenSet.from_token_response(sandbox.issue_user_token(), now=time.time()))
    world = World(sandbox, store, url, _settings(sandbox, url))
    try:
        yield world
    finally:
        for close in reversed(world.closers):
            close()
        store.close()


@pytest.fixture
def world(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[World]:
    yield from _world(sandbox, f"sqlite:///{tmp_path / 'store.db'}")


# --- the load test ----------------------------------------------------------------------------


def test_3000_stock_changes_of_1000_offers_in_a_few_commands(world: World) -> None:
    skus = world.create_offers(1000, stock=5)
    batcher = world.batcher()
    finals: dict[str, int] = {}
    for n, sku in enumerate(skus):
        if n < 700:
            finals[sku] = (3, 7, 12)[n % 3]
        elif n < 800:
            finals[sku] = 0  # ends the offer
        else:
            finals[sku] = 5  # back to what Allegro has: nothing to send
    events: dict[str, list[str]] = {sku: [] for sku in skus}
    for version in (2, 3, 4):  # three waves: every SKU changes three times
        for n, sku in enumerate(skus):
            value = finals[sku] if version == 4 else (n * version) % 17 + 1
            events[sku].append(world.stage(batcher, stock_changed(sku, version, value)))
        world.clock.advance(0.01)
    start = world.last_seq()

    world.drive(batcher)

    calls = world.sandbox.requests(start)
    per_event = len(calls) / 3000
    assert per_event <= 0.02, f"{len(calls)} Allegro requests for 3,000 events"
    puts = [c for c in calls if c["method"] == "PUT"]
    assert sorted((c["path"].split("/")[2], c["status"]) for c in puts) == [
        ("offer-publication-commands", 201),
        *[("offer-quantity-change-commands", 201)] * 3,
    ]
    offers = world.offers()
    for sku, final in finals.items():
        assert offers[sku]["stock"]["available"] == (final or 5), sku
        assert offers[sku]["publication"]["status"] == ("ENDED" if final == 0 else "ACTIVE")
    statuses = world.statuses()
    assert sum(len(v) for v in statuses.values()) == 3000
    for sku, (first, second, newest) in events.items():
        assert [s["status"] for s in statuses[first] + statuses[second]] == ["SUPERSEDED"] * 2
        expected = "ENDED" if finals[sku] == 0 else "UPDATED" if finals[sku] != 5 else "UNCHANGED"
        (status,) = statuses[newest]
        assert (status["status"], status["version"]) == (expected, 4), sku
        assert world.store.terminal_status(newest) is not None  # recorded in the store too
    world.assert_statuses_follow_task_success()
    # The registry says what Allegro has, so the content path diffs from the truth.
    for sku in (skus[0], skus[700], skus[900]):
        record = world.store.get_offer("default", sku)
        assert record is not None and record.published_body is not None
        assert record.published_body["stock"]["available"] == (finals[sku] or 0)
        assert record.fingerprint == fingerprint(record.published_body)
        assert record.publication_status == ("ENDED" if finals[sku] == 0 else "ACTIVE")
        assert record.published_version == (4 if finals[sku] != 5 else 1)
    assert {e.state for e in batcher.repo.entries()} == {JournalState.DONE}


# --- lifecycle, price, failures ----------------------------------------------------------------


def test_restock_of_ended_offers_sets_the_quantity_then_activates(world: World) -> None:
    skus = world.create_offers(3)
    batcher = world.batcher()
    ended = [world.stage(batcher, stock_changed(sku, 2, 0)) for sku in skus]
    world.drive(batcher)
    assert {o["publication"]["status"] for o in world.offers().values()} == {"ENDED"}
    start = world.last_seq()
    restocked = [world.stage(batcher, stock_changed(sku, 3, 6)) for sku in skus]
    world.drive(batcher)

    puts = [
        (c["path"].split("/")[2], c["body"])
        for c in world.command_calls(start)
        if c["method"] == "PUT"
    ]
    assert [(path, body.get("modification") or body.get("publication")) for path, body in puts] == [
        ("offer-quantity-change-commands", {"changeType": "FIXED", "value": 6}),
        ("offer-publication-commands", {"action": "ACTIVATE"}),
    ]
    offers = world.offers()
    assert {(o["stock"]["available"], o["publication"]["status"]) for o in offers.values()} == {
        (6, "ACTIVE")
    }
    statuses = world.statuses()
    assert {statuses[e][0]["status"] for e in ended} == {"ENDED"}
    assert {
        (statuses[e][0]["status"], statuses[e][0]["publication_status"]) for e in restocked
    } == {("UPDATED", "ACTIVE")}
    world.assert_statuses_follow_task_success()
    activate = [e for e in batcher.repo.entries() if e.value == "ACTIVATE"]
    assert len(activate) == 1 and activate[0].parent is not None
    record = world.store.get_offer("default", skus[0])
    assert record is not None and record.publication_status == "ACTIVE"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_price_changes_coalesce_into_one_fixed_price_command(
    backend: str, sandbox: SandboxHandle, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "postgres":
        url = str(request.getfixturevalue("postgres_store_url"))
    else:
        url = f"sqlite:///{tmp_path / 'store.db'}"
    for world in _world(sandbox, url):
        skus = world.create_offers(4, amount="100.00")
        batcher = world.batcher()
        older = [world.stage(batcher, price_changed(sku, 2, "80.00")) for sku in skus]
        newer = [world.stage(batcher, price_changed(sku, 3, "79.5")) for sku in skus[:3]]
        euro = price_changed(skus[3], 3, "20.00")
        euro["price"]["currency"] = "EUR"
        rejected = world.stage(batcher, euro)
        start = world.last_seq()
        world.drive(batcher)

        puts = [c for c in world.command_calls(start) if c["method"] == "PUT"]
        assert [c["body"]["modification"] for c in puts] == [
            {"type": "FIXED_PRICE", "price": {"amount": "79.50", "currency": "PLN"}}
        ]
        offers = world.offers()
        assert [offers[sku]["sellingMode"]["price"]["amount"] for sku in skus] == [
            "79.50",
            "79.50",
            "79.50",
            "100.00",
        ]
        statuses = world.statuses()
        assert [statuses[e][0]["status"] for e in older] == ["SUPERSEDED"] * 4
        assert [statuses[e][0]["status"] for e in newer] == ["UPDATED"] * 3
        (refusal,) = statuses[rejected]
        assert refusal["status"] == "REJECTED"
        assert refusal["errors"][0]["code"] == "ConstraintViolationException.Currency"
        record = world.store.get_offer("default", skus[0])
        assert record is not None and record.published_body is not None
        assert record.published_body["sellingMode"]["price"] == {
            "amount": "79.50",
            "currency": "PLN",
        }
        world.assert_statuses_follow_task_success()


def test_failed_tasks_are_handed_to_the_patch_path_alone(world: World) -> None:
    skus = world.create_offers(3)
    ok, foreign, busy = skus
    # An offer id of another seller in the registry: Allegro's task says it does not exist
    # (as for an archived offer); the PATCH path replaces it.
    token = world.sandbox.issue_user_token("seller-cz")["access_token"]
    with world.sandbox.client(token=token) as http:
        body = offer_body(f"{world.prefix}cz", amount="999.00")
        body["sellingMode"]["price"]["currency"] = "CZK"
        cz_offer = http.post("/sale/product-offers", json=body).json()["id"]
    record = world.store.get_offer("default", foreign)
    assert record is not None
    world.store.save_offer(
        OfferRecord(**{**record.__dict__, "offer_id": cz_offer, "updated_at": None})
    )
    # An offer busy with an edit still being processed: its task fails with a conflict.
    world.sandbox.configure(async_ratio=1.0, async_delay_s=3600)
    busy_id = world.store.get_offer("default", busy)
    assert busy_id is not None
    with world.sandbox.client() as http:
        response = http.patch(
            f"/sale/product-offers/{busy_id.offer_id}",
            json={"sellingMode": {"price": {"amount": "100.00", "currency": "PLN"}}},
        )
        assert response.status_code == 202
    world.sandbox.configure(async_ratio=0.0)
    batcher = world.batcher()
    first = {sku: world.stage(batcher, stock_changed(sku, 2, 8)) for sku in skus}
    newest = {sku: world.stage(batcher, stock_changed(sku, 3, 9)) for sku in skus}
    world.drive(batcher, sandbox_step_s=0.5)

    statuses = world.statuses()
    assert statuses[newest[ok]][0]["status"] == "UPDATED"
    # Both failures are handed to the PATCH path, alone; their statuses come from there.
    assert newest[foreign] not in statuses and newest[busy] not in statuses
    handed = [(h.sku, h.event_id, h.version) for h in world.handovers]
    assert handed == [(foreign, newest[foreign], 3), (busy, newest[busy], 3)]
    gone, conflict = world.handovers
    assert gone.errors[0]["code"] == "OfferNotFoundException"
    assert "no longer exists" in gone.reason
    assert conflict.errors[0]["code"] == "ConflictException"
    assert {statuses[first[sku]][0]["status"] for sku in skus} == {"SUPERSEDED"}
    assert world.offers()[ok]["stock"]["available"] == 9
    record = world.store.get_offer("default", busy)
    assert record is not None and record.published_body is not None
    assert record.published_body["stock"]["available"] == 5  # unchanged: it failed


def test_no_status_while_allegro_has_not_applied_the_command(world: World) -> None:
    world.sandbox.configure(command_delay_s=60)
    (sku,) = world.create_offers(1)
    batcher = world.batcher()
    event = world.stage(batcher, stock_changed(sku, 2, 11))
    for _ in range(60):  # accepted (201) and polled, but Allegro has not processed it
        batcher.run_once(world.clock())
        world.clock.advance(0.1)
    (entry,) = batcher.repo.entries()
    assert entry.state is JournalState.SENT and entry.polls >= 5
    assert world.statuses() == {}
    record = world.store.get_offer("default", sku)
    assert record is not None and record.published_body is not None
    assert record.published_body["stock"]["available"] == 5
    assert [c["method"] for c in world.command_calls()].count("GET") == entry.polls
    world.sandbox.advance_clock(60)
    world.drive(batcher)
    assert world.statuses()[event][0]["status"] == "UPDATED"
    world.assert_statuses_follow_task_success()


# --- crash safety and leadership ----------------------------------------------------------------


@pytest.mark.parametrize("moment", ["before_put", "after_put"])
def test_a_crash_around_the_put_resends_the_same_command_id(world: World, moment: str) -> None:
    skus = world.create_offers(3)
    client = world.client()
    client.crash = moment
    batcher = world.batcher(client=client)
    events = [world.stage(batcher, stock_changed(sku, 2, 4)) for sku in skus]
    world.clock.advance(1.0)
    with pytest.raises(Crash):
        batcher.run_once(world.clock())
    (entry,) = batcher.repo.entries()
    assert entry.state is JournalState.NEW  # journaled before the PUT, never marked sent

    # The process restarts on the same host: new objects, the same journal.
    restarted = world.batcher()
    world.drive(restarted)

    puts = [c for c in world.command_calls() if c["method"] == "PUT"]
    assert {c["path"].rsplit("/", 1)[1] for c in puts} == {entry.command_id}
    expected = [201] if moment == "before_put" else [201, 409]
    assert [c["status"] for c in puts] == expected
    assert {o["stock"]["available"] for o in world.offers().values()} == {4}
    statuses = world.statuses()
    assert [len(statuses[e]) for e in events] == [1, 1, 1]
    assert {statuses[e][0]["status"] for e in events} == {"UPDATED"}
    (done,) = restarted.repo.entries()
    assert done.command_id == entry.command_id and done.state is JournalState.DONE


def test_one_batcher_leads_an_account(world: World) -> None:
    skus = world.create_offers(2)
    first, second = world.batcher(owner="host-a"), world.batcher(owner="host-b")
    for sku in skus:
        world.stage(first, stock_changed(sku, 2, 3))
    world.clock.advance(1.0)
    first.run_once(world.clock())
    assert second.run_once(world.clock()).busy is False  # host-a leads "default"
    for _ in range(20):
        if not first.repo.accounts_with_work():
            break
        second.run_once(world.clock())
        first.run_once(world.clock())
        world.clock.advance(0.3)
        world.sandbox.advance_clock(1.0)
    assert not first.repo.accounts_with_work()
    assert len([c for c in world.command_calls() if c["method"] == "PUT"]) == 1
    first.close()  # gives up the lead: host-b takes over at once
    sku = skus[0]
    event = world.stage(second, stock_changed(sku, 3, 8))
    world.drive(second)
    assert world.statuses()[event][0]["status"] == "UPDATED"


# --- the process ---------------------------------------------------------------------------------


def test_the_batcher_process_applies_changes_and_stops_on_sigterm(
    world: World, amqp_url: str, tmp_path: Path
) -> None:
    world.sandbox.configure(command_delay_s=0)
    skus = world.create_offers(2)
    settings = world.settings.model_copy(
        update={"amqp_url": amqp_url, "name_prefix": f"t{uuid.uuid4().hex[:8]}."}
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ALLEGRO_FEED_ENVIRONMENT": "local",
        "ALLEGRO_FEED_API_URL": world.sandbox.url,
        "ALLEGRO_FEED_AUTH_URL": world.sandbox.url,
        "ALLEGRO_FEED_AMQP_URL": amqp_url,
        "ALLEGRO_FEED_DATABASE_URL": world.url,
        "ALLEGRO_FEED_NAME_PREFIX": settings.name_prefix,
        "ALLEGRO_FEED_LOG_FORMAT": "json",
    }
    names = Names.of(settings)
    output = tmp_path / "batcher.log"
    logs = output.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.batching"],
        cwd=ROOT,
        env=env,
        stdout=logs,
        stderr=subprocess.STDOUT,
    )
    try:
        stager = world.batcher()  # only to stage, as the bridge does
        events = [world.stage(stager, stock_changed(sku, 2, 13)) for sku in skus]
        deadline = time.monotonic() + WAIT_S
        while any(world.store.terminal_status(e) is None for e in events):
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, "the batcher process did not report in time"
            time.sleep(0.05)
        finished = [world.store.terminal_status(e) for e in events]
        assert {s.status for s in finished if s is not None} == {"UPDATED"}
        assert {o["stock"]["available"] for o in world.offers().values()} == {13}
        connection = pika.BlockingConnection(connection_parameters(settings))
        try:
            channel = connection.channel()
            published = []
            while len(published) < len(events) and time.monotonic() < deadline:
                method, _props, body = channel.basic_get(names.status_queue, auto_ack=True)
                if method is None:
                    time.sleep(0.05)
                    continue
                published.append(json.loads(body)["event_id"])
            assert sorted(published) == sorted(events)
        finally:
            connection.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        logs.close()
        connection = pika.BlockingConnection(connection_parameters(settings))
        try:
            channel = connection.channel()
            for queue in names.all_queues():
                channel.queue_delete(queue)
            for exchange in (names.products_exchange, names.status_exchange):
                channel.exchange_delete(exchange)
        finally:
            connection.close()
