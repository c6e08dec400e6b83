"""Batch commands: bodies, local validation, idempotent PUT (409), reports and tasks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from tests.unit.allegro.conftest import FakeAllegro, FakeClock, reply
from workers.allegro import AllegroClient, CommandKind, InvalidRequest

REPORT = {
    "id": "e476171a-18b1-44e5-81d1-d142b86ff13d",
    "createdAt": "2019-08-24T14:15:22Z",
    "completedAt": None,
    "taskCount": {"total": 0, "success": 0, "failed": 0},
}
QTY = "/sale/offer-quantity-change-commands/[^/]+"


def test_change_quantity_body_and_result(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("PUT", QTY, reply(201, REPORT, trace_id="t-put"))
    result = client.change_quantity(["1", "2", "1"], 30)
    (request,) = fake.calls("PUT", QTY)
    assert request.url.path.endswith("/" + result.command_id)
    uuid.UUID(result.command_id)
    assert json.loads(request.content) == {
        "modification": {"changeType": "FIXED", "value": 30},
        "offerCriteria": [{"type": "CONTAINS_OFFERS", "offers": [{"id": "1"}, {"id": "2"}]}],
    }
    assert result.status == 201 and not result.already_accepted
    assert result.trace_id == "t-put" and result.kind is CommandKind.QUANTITY
    assert result.report.task_count and result.report.task_count.total == 0


def test_change_price_and_publication_bodies(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("PUT", "/sale/offer-price-change-commands/[^/]+", reply(201, REPORT))
    fake.on("PUT", "/sale/offer-publication-commands/[^/]+", reply(201, REPORT))
    client.change_price(["1"], Decimal("10.5"), "pln", command_id=str(uuid.uuid4()))
    client.change_price(["1"], "7", "PLN", marketplace_id="allegro-cz")
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    client.change_publication(["1"], "end")
    client.change_publication(["1"], "ACTIVATE", scheduled_for=when)
    price1, price2 = fake.calls("PUT", "/sale/offer-price-change-commands/[^/]+")
    assert json.loads(price1.content)["modification"] == {
        "type": "FIXED_PRICE",
        "price": {"amount": "10.50", "currency": "PLN"},
    }
    assert json.loads(price2.content)["modification"]["marketplaceId"] == "allegro-cz"
    end, activate = fake.calls("PUT", "/sale/offer-publication-commands/[^/]+")
    assert json.loads(end.content)["publication"] == {"action": "END"}
    assert json.loads(activate.content)["publication"] == {
        "action": "ACTIVATE",
        "scheduledFor": "2030-01-02T03:04:05.000Z",
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.change_quantity([str(i) for i in range(1001)], 1),
        lambda c: c.change_quantity([], 1),
        lambda c: c.change_quantity("123", 1),
        lambda c: c.change_quantity(["1"], 0),
        lambda c: c.change_quantity(["1"], 1.5),
        lambda c: c.change_price(["1"], "10.001", "PLN"),
        lambda c: c.change_price(["1"], "-1", "PLN"),
        lambda c: c.change_price(["1"], "abc", "PLN"),
        lambda c: c.change_price(["1"], "1", "złoty"),
        lambda c: c.change_publication(["1"], "PAUSE"),
        lambda c: c.change_publication(["1"], "END", scheduled_for=datetime(2030, 1, 1)),
        lambda c: c.change_quantity(["1"], 1, command_id="not-a-uuid"),
        lambda c: c.get_command_tasks("quantity", "x", limit=1001),
    ],
)
def test_local_validation(client: AllegroClient, fake: FakeAllegro, call: object) -> None:
    with pytest.raises(InvalidRequest):
        call(client)  # type: ignore[operator]
    assert fake.requests == []


def test_exactly_1000_offers_allowed(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("PUT", QTY, reply(201, REPORT))
    client.change_quantity([str(i) for i in range(1000)], 1)
    body = json.loads(fake.calls("PUT", QTY)[0].content)
    assert len(body["offerCriteria"][0]["offers"]) == 1000


def test_409_means_already_accepted_and_reads_no_report(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    # Allegro may answer 404 for a command's report for a while after its PUT was taken:
    # a 409 is not followed by a report read that could fail that way (the caller polls).
    command_id = str(uuid.uuid4())
    fake.on("PUT", QTY, reply(409, {"errors": [{"code": "CommandAlreadyExists"}]}))
    fake.on("GET", QTY, reply(404, {"errors": [{"code": "NotFoundException"}]}))
    result = client.change_quantity(["1"], 5, command_id=command_id)
    assert result.already_accepted and result.status == 409
    assert result.command_id == command_id and result.report.id == command_id
    assert not result.report.completed
    assert fake.calls("GET", QTY) == []


def test_lost_put_is_retried_with_the_same_id(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock
) -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("lost")

    fake.on("PUT", QTY, lost, reply(409), reply(409))
    result = client.change_quantity(["1"], 5)
    first, second = fake.calls("PUT", QTY)
    assert first.url.path == second.url.path
    assert result.already_accepted


def test_tasks_and_all_pages(client: AllegroClient, fake: FakeAllegro) -> None:
    tasks = [
        {"offer": {"id": str(i)}, "status": "SUCCESS", "field": "quantity"} for i in range(500)
    ]
    fake.on(
        "GET",
        QTY + "/tasks",
        reply(200, {"tasks": tasks}),
        reply(
            200,
            {
                "tasks": [
                    {
                        "offer": {"id": "x"},
                        "status": "FAIL",
                        "errors": [{"code": "INVALID_OFFER_QUANTITY"}],
                    }
                ]
            },
        ),
    )
    every = client.get_all_command_tasks("quantity", "cid")
    assert len(every) == 501
    assert every[-1].offer_id == "x" and every[-1].errors
    assert every[-1].errors[0].code == "INVALID_OFFER_QUANTITY"
    first, second = fake.calls("GET", QTY + "/tasks")
    assert (first.url.params["limit"], first.url.params["offset"]) == ("500", "0")
    assert second.url.params["offset"] == "500"


def test_tasks_stop_at_allegros_offset_cap(client: AllegroClient, fake: FakeAllegro) -> None:
    full = [{"offer": {"id": "1"}, "status": "SUCCESS"}] * 500
    fake.on("GET", QTY + "/tasks", reply(200, {"tasks": full}))
    assert len(client.get_all_command_tasks("quantity", "cid")) == 1000
    assert len(fake.calls("GET", QTY + "/tasks")) == 2


def test_kind_names() -> None:
    assert CommandKind.of("price") is CommandKind.PRICE
    assert CommandKind.of("offer-publication-commands") is CommandKind.PUBLICATION
    with pytest.raises(ValueError, match="unknown command kind"):
        CommandKind.of("stock")
