"""The Allegro client's batch commands against the sandbox over HTTP: quantity, price and
publication, reports and task lists, and the idempotent PUT (a reused command id is 409)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.testing import SandboxHandle
from workers.allegro import (
    AllegroClient,
    CommandKind,
    InvalidRequest,
    NotFound,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("_fresh")]

GTINS = ("4242002375502", "5900516001810")  # complete catalogue products
QUANTITY_PATH = "/sale/offer-quantity-change-commands/"


@pytest.fixture
def offer_ids(client: AllegroClient) -> list[str]:
    ids = []
    for n, gtin in enumerate(GTINS):
        body: dict[str, Any] = {
            "productSet": [{"product": {"id": gtin, "idType": "GTIN"}}],
            "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
            "sellingMode": {"price": {"amount": "20.00", "currency": "PLN"}},
            "stock": {"available": 5},
            "external": {"id": f"SKU-{n}"},
        }
        offer_id = client.create_offer(body).offer_id
        assert offer_id
        ids.append(offer_id)
    return ids


def test_change_quantity_report_and_tasks(client: AllegroClient, offer_ids: list[str]) -> None:
    result = client.change_quantity(offer_ids, 30)
    assert result.status == 201 and not result.already_accepted and result.trace_id
    assert result.kind is CommandKind.QUANTITY
    assert result.report.id == result.command_id
    assert result.report.task_count and result.report.task_count.total == 0  # registered
    report = client.wait_command("quantity", result.command_id, interval_s=1.0)
    assert report.completed
    assert report.task_count and (report.task_count.total, report.task_count.success) == (2, 2)
    tasks = client.get_all_command_tasks(CommandKind.QUANTITY, result.command_id)
    assert sorted(t.offer_id or "" for t in tasks) == sorted(offer_ids)
    assert {t.status for t in tasks} == {"SUCCESS"}
    page = client.get_command_tasks("quantity", result.command_id, limit=1, offset=1)
    assert page.tasks and len(page.tasks) == 1
    assert all(client.get_offer(i).stock.available == 30 for i in offer_ids)  # type: ignore[union-attr]


def test_change_price(client: AllegroClient, offer_ids: list[str]) -> None:
    result = client.change_price(offer_ids, Decimal("25.5"), "PLN")
    assert client.wait_command(CommandKind.PRICE, result.command_id, interval_s=1.0).completed
    for offer_id in offer_ids:
        parts = client.get_offer_parts(offer_id, ["price"])
        assert parts.selling_mode and parts.selling_mode.price
        assert parts.selling_mode.price.amount == Decimal("25.50")


def test_change_publication_end_and_activate(client: AllegroClient, offer_ids: list[str]) -> None:
    ended = client.change_publication(offer_ids, "END")
    assert client.wait_command("publication", ended.command_id, interval_s=1.0).completed
    assert {client.get_offer(i).status for i in offer_ids} == {"ENDED"}
    activated = client.change_publication(offer_ids, "ACTIVATE")
    report = client.wait_command("publication", activated.command_id, interval_s=1.0)
    assert report.task_count and report.task_count.success == 2
    assert {client.get_offer(i).status for i in offer_ids} == {"ACTIVE"}


def test_reused_command_id_is_already_accepted(
    client: AllegroClient, sandbox: SandboxHandle, offer_ids: list[str]
) -> None:
    command_id = str(uuid.uuid4())
    first = client.change_quantity(offer_ids, 3, command_id=command_id)
    second = client.change_quantity(offer_ids, 3, command_id=command_id)
    assert first.status == 201 and not first.already_accepted
    assert second.status == 409 and second.already_accepted
    assert second.command_id == command_id and second.report.id == command_id
    puts = [r for r in sandbox.requests() if r["method"] == "PUT"]
    assert [r["status"] for r in puts] == [201, 409]


def test_lost_put_answer_is_retried_with_the_same_id(
    client: AllegroClient, sandbox: SandboxHandle, offer_ids: list[str]
) -> None:
    sandbox.inject_fault(method="PUT", path=f"^{QUANTITY_PATH}", kind="lost_response")
    result = client.change_quantity(offer_ids, 9)
    assert result.already_accepted  # the first PUT was applied; its answer was lost
    puts = [r for r in sandbox.requests() if r["method"] == "PUT"]
    assert len(puts) == 2 and puts[0]["path"] == puts[1]["path"]
    assert puts[1]["status"] == 409
    assert client.wait_command("quantity", result.command_id, interval_s=1.0).completed


def test_task_failure_carries_error_items(client: AllegroClient, offer_ids: list[str]) -> None:
    result = client.change_publication([*offer_ids, "99999999999"], "END")
    client.wait_command("publication", result.command_id, interval_s=1.0)
    tasks = {t.offer_id: t for t in client.get_all_command_tasks("publication", result.command_id)}
    failed = tasks["99999999999"]
    assert failed.status == "FAIL" and failed.errors and failed.errors[0].code


def test_local_validation_sends_nothing(client: AllegroClient, sandbox: SandboxHandle) -> None:
    before = len(sandbox.requests())
    with pytest.raises(InvalidRequest):
        client.change_quantity([str(n) for n in range(1001)], 1)
    with pytest.raises(InvalidRequest, match="END"):
        client.change_quantity(["1"], 0)
    assert len(sandbox.requests()) == before


def test_unknown_command(client: AllegroClient) -> None:
    with pytest.raises(NotFound):
        client.get_command_report("price", str(uuid.uuid4()))
