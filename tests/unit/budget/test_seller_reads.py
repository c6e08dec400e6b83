"""The per-seller read limits of FACTS §3 in the budget (GET of one product offer: 3,500/min;
batch command report and ``/tasks`` reads: 270,000 offer changes read/min; the catalogue's
leaky bucket), and which budget a 429 stops: the seller's kind of a per-seller resource
(with the client id held for a short probe), the whole client id otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.unit.budget.conftest import COMMAND, FakeAllegro, MakeClient, SleepingClock, config
from tests.unit.budget.contract import START
from workers.allegro import AllegroClient, RateLimited
from workers.budget import BudgetConfig, BudgetExhausted, Kind
from workers.budget.backends.memory import MemoryBudget
from workers.budget.client import UNKNOWN_COMMAND_SIZE, ApiBudget, claims_for, limited_kind
from workers.settings import Settings

QUANTITY = f"/sale/offer-quantity-change-commands/{COMMAND}"


class ReadingAllegro(FakeAllegro):
    """:class:`FakeAllegro` that also answers reads of a command's report and tasks."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.method == "GET" and "-commands/" in request.url.path and response.is_success:
            if request.url.path.endswith("/tasks"):
                return httpx.Response(200, json={"tasks": []})
            return httpx.Response(200, json={"id": COMMAND, "completedAt": None})
        return response


@pytest.fixture
def fake() -> FakeAllegro:
    return ReadingAllegro()


# --- which budget a resource belongs to ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/sale/product-offers/123", Kind.OFFER_READS),
        ("GET", "/sale/product-offers/123/operations/op-1", Kind.OFFER_READS),
        ("GET", "/sale/product-offers/123/parts", Kind.OFFER_READS),
        ("GET", QUANTITY, Kind.BATCH_READS),
        ("GET", f"{QUANTITY}/tasks", Kind.BATCH_READS),
        ("GET", "/sale/products", Kind.PRODUCT_READS),
        ("GET", "/sale/products/abc?category.id=1", Kind.PRODUCT_READS),
        ("POST", "/sale/product-offers", Kind.OFFER_WRITES),
        ("PATCH", "/sale/product-offers/123", Kind.OFFER_WRITES),
        ("PUT", QUANTITY, Kind.BATCH_CHANGES),
        ("GET", "/sale/offers", None),
        ("GET", "/sale/categories/165", None),
        ("GET", "/sale/matching-categories", None),
        ("POST", "/sale/product-offers/123/operations/9", None),
    ],
)
def test_the_resource_decides_the_sellers_kind(method: str, path: str, kind: Kind | None) -> None:
    assert limited_kind(method, path) is kind


def test_a_report_costs_the_commands_offers_when_known_else_the_most_a_command_holds() -> None:
    assert claims_for("GET", QUANTITY, None, "shop") == [
        (Kind.CLIENT, 1, "shop"),
        (Kind.BATCH_READS, UNKNOWN_COMMAND_SIZE, "shop"),
    ]
    sizes = {QUANTITY: 7}
    assert claims_for("GET", QUANTITY, None, "shop", command_size=sizes.get)[1] == (
        Kind.BATCH_READS,
        7,
        "shop",
    )


@pytest.mark.parametrize(
    ("params", "cost"),
    [(None, 100), ({"limit": 1000, "offset": 0}, 1000), ([("offset", 0), ("limit", "250")], 250)],
)
def test_tasks_cost_the_limit_asked(params: Any, cost: int) -> None:
    claims = claims_for("GET", f"{QUANTITY}/tasks", None, "shop", params)
    assert claims[1] == (Kind.BATCH_READS, cost, "shop")


def test_the_limits_come_from_the_settings() -> None:
    settings = Settings(
        rate_offer_reads_per_min=100, rate_batch_reads_per_min=5000, rate_product_reads_per_min=7
    )
    cfg = BudgetConfig.from_settings(settings)
    assert (cfg.offer_reads_per_min, cfg.batch_reads_per_min, cfg.product_reads_per_min) == (
        100,
        5000,
        7,
    )
    defaults = BudgetConfig.from_settings(Settings())
    assert [w.limit for w in defaults.windows(Kind.OFFER_READS)] == [3500]
    assert [w.limit for w in defaults.windows(Kind.BATCH_READS)] == [270_000]
    assert defaults.windows(Kind.PRODUCT_READS) == ()  # no published threshold: off


def test_the_client_probe_comes_from_the_settings() -> None:
    assert BudgetConfig.from_settings(Settings()).client_probe_s == 5.0
    assert BudgetConfig.from_settings(Settings(rate_client_probe_s=0)).client_probe_s == 0.0
    with pytest.raises(ValueError, match="rate_client_probe_s"):
        Settings(rate_client_probe_s=-1)


# --- through the client ----------------------------------------------------------------


def test_offer_reads_are_counted_per_seller_and_stop_at_the_limit(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    budget = MemoryBudget(config(offer_reads_per_min=2), clock=clock)
    shop, other = make_client(budget), make_client(budget, "other")
    shop.get_offer("1")
    shop.get_offer("2")
    clock.advance(5)
    with pytest.raises(BudgetExhausted) as caught:
        shop.get_offer("3")
    assert caught.value.kind == "offer_reads" and caught.value.account == "shop"
    assert other.get_offer("3").id == "3"  # another seller's reads are its own
    assert shop.find_offers_by_external_id(["SKU-1"]) == []  # a listing is not one
    assert len(fake.sent) == 4
    assert budget.status("offer_reads", account="shop").used == {60.0: 2}
    assert budget.status("client", account="shop").used == {60.0: 4}


def test_report_reads_cost_the_offers_of_the_command_this_process_sent(
    make_client: MakeClient, clock: SleepingClock
) -> None:
    budget = MemoryBudget(config(batch_reads_per_min=5000), clock=clock)
    sender, poller = make_client(budget), make_client(budget)  # two threads' clients
    sender.change_quantity([str(i) for i in range(30)], 5, command_id=COMMAND)
    poller.get_command_report("offer-quantity-change-commands", COMMAND)
    assert budget.status("batch_reads", account="shop").used == {60.0: 30}
    poller.get_command_tasks("offer-quantity-change-commands", COMMAND, limit=1000)
    assert budget.status("batch_reads", account="shop").used == {60.0: 1030}
    # A command this process never sent (another process did, before a restart): the
    # most a command may hold.
    other = "99999999-2222-3333-4444-555555555555"
    poller.get_command_report("offer-price-change-commands", other)
    assert budget.status("batch_reads", account="shop").used == {60.0: 2030}


def test_a_guessed_report_cost_never_exceeds_a_lower_limit(
    make_client: MakeClient, clock: SleepingClock
) -> None:
    budget = MemoryBudget(config(batch_reads_per_min=300), clock=clock)
    client = make_client(budget)
    client.get_command_report("offer-price-change-commands", COMMAND)  # would cost 1,000
    assert budget.status("batch_reads", account="shop").used == {60.0: 300}
    with pytest.raises(BudgetExhausted) as caught:
        client.get_command_report("offer-price-change-commands", COMMAND)
    assert caught.value.kind == "batch_reads"


def test_a_request_takes_all_its_kinds_in_one_acquisition(
    make_client: MakeClient, clock: SleepingClock
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    takes: list[int] = []
    original = budget._take

    def counted(claims: Any, now: Any) -> Any:
        takes.append(len(claims))
        return original(claims, now)

    budget._take = counted  # type: ignore[method-assign]
    client = make_client(budget)
    client.get_offer("1")
    client.get_command_report("offer-quantity-change-commands", COMMAND)
    client.get_product("p-1")  # product reads are off, their block still checked
    assert takes == [2, 2, 2]


# --- a 429 stops the budget it belongs to ----------------------------------------------


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda c: c.get_offer("1"), "offer_reads"),
        (lambda c: c.get_command_report("offer-quantity-change-commands", COMMAND), "batch_reads"),
        (lambda c: c.get_product("p-1"), "product_reads"),
    ],
)
def test_a_429_on_a_sellers_read_stops_that_sellers_kind_and_probes_the_client_id(
    make_client: MakeClient,
    clock: SleepingClock,
    fake: FakeAllegro,
    call: Callable[[AllegroClient], Any],
    kind: str,
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    shop, other = make_client(budget), make_client(budget, "other")
    fake.script = [(429, {})]
    with pytest.raises(BudgetExhausted) as caught:
        call(shop)
    # One 429; the retry meets the seller's block (the longest wait) and is not sent.
    assert len(fake.sent) == 1
    assert caught.value.kind == kind
    # The client id is held for the probe: every seller's requests wait for it.
    assert budget.status("client", account="x").blocked_for_s == pytest.approx(
        5 - sum(clock.sleeps)
    )
    assert budget.rate_limited_counts() == {kind: 1}  # the 429 counted once, as the seller's
    assert budget.status(kind, account="shop").penalties == 1
    assert budget.status(kind, account="shop").blocked_for_s == pytest.approx(
        60 - sum(clock.sleeps)
    )
    assert budget.status("client", account="shop").penalties == 0
    clock.now = START + 5
    # After the probe, the client id works for everyone, the seller's kind stays stopped.
    assert other.find_offers_by_external_id(["SKU-1"]) == []
    assert call(other) is not None
    with pytest.raises(BudgetExhausted) as again:
        call(shop)
    assert again.value.kind == kind and again.value.retry_after_s == pytest.approx(55)
    assert len(fake.sent) == 3
    clock.now = START + 60
    assert call(shop) is not None


def test_a_429_with_retry_after_probes_the_client_id_no_longer_than_that(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    fake.script = [(429, {"Retry-After": "2"})]
    assert client.get_offer("1").id == "1"  # waited 2 s and retried
    assert clock.sleeps == [2.0]
    assert budget.status("client", account="shop").blocked_for_s == 0.0


def test_the_probe_can_be_switched_off(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    budget = MemoryBudget(config(client_probe_s=0.0), clock=clock)
    client = make_client(budget)
    fake.script = [(429, {})]
    with pytest.raises(BudgetExhausted) as caught:
        client.get_offer("1")
    assert caught.value.kind == "offer_reads"
    assert budget.status("client", account="shop").blocked_for_s == 0.0


def test_a_429_where_only_the_client_id_limits_blocks_every_seller(
    clock: SleepingClock,
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    ApiBudget(budget, account="shop").after_response("GET", "/sale/categories/165", 429, None)
    verdict = budget.acquire_all([(Kind.CLIENT, 1, "other")])
    assert verdict.limited_by is Kind.CLIENT and verdict.wait_s == pytest.approx(60)
    assert budget.rate_limited_counts() == {"client": 1}


def test_a_429_is_still_raised_as_rate_limited_for_the_caller(
    make_client: MakeClient, clock: SleepingClock, fake: FakeAllegro
) -> None:
    budget = MemoryBudget(config(), clock=clock)
    client = make_client(budget)
    fake.script = [(429, {"Retry-After": "30"})]
    with pytest.raises(RateLimited) as caught:
        client.get_offer("1")
    assert not isinstance(caught.value, BudgetExhausted) and caught.value.retry_after_s == 30
