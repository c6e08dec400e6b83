"""Offers: create (201, 202 → 303), non-idempotent POST, update, operations, finding."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from tests.unit.allegro.conftest import API, FakeAllegro, FakeClock, errors_body, reply
from workers.allegro import (
    AllegroClient,
    ApiTimeout,
    InvalidRequest,
    OperationFailed,
    OperationPending,
    ServerError,
)

POST = "/sale/product-offers"
OP = "/sale/product-offers/77/operations/op-1"
BODY = {"name": "Nice red kettle 1.7 l", "stock": {"available": 3}}
WITH_EXTERNAL = {**BODY, "external": {"id": "SKU-1"}}


def _accepted(retry_after: str = "5") -> httpx.Response:
    return reply(
        202,
        {"id": "77", "publication": {"status": "INACTIVE"}},
        headers={"Location": API + OP, "Retry-After": retry_after},
        trace_id="trace-post",
    )


def _running(retry_after: str = "1") -> httpx.Response:
    return reply(
        202,
        {"offer": {"id": "77"}, "operation": {"id": "op-1", "status": "IN_PROGRESS"}},
        headers={"Retry-After": retry_after},
    )


def _done() -> httpx.Response:
    return reply(303, headers={"Location": API + "/sale/product-offers/77"}, trace_id="t-303")


def test_create_201(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("POST", POST, reply(201, {"id": "77", "publication": {"status": "ACTIVE"}}))
    result = client.create_offer(BODY)
    assert (result.status, result.offer_id, result.offer.status) == (201, "77", "ACTIVE")
    assert result.operation is None and not result.recovered
    assert json.loads(fake.calls("POST", POST)[0].content) == BODY


def test_create_202_polls_until_303_honouring_retry_after(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on("POST", POST, _accepted("5"))
    fake.on("GET", OP, _running("0"), _running("99"), _done())
    fake.on(
        "GET",
        "/sale/product-offers/77",
        reply(200, {"id": "77", "publication": {"status": "ACTIVE"}}),
    )
    result = client.create_offer(BODY)
    assert result.status == 202 and result.trace_id == "trace-post"
    assert result.offer.status == "ACTIVE"
    assert result.operation is not None
    assert result.operation.offer_id == "77" and result.operation.operation_id == "op-1"
    assert result.operation.polls == 3 and result.operation.trace_id == "t-303"
    # 5 s from the POST; 0 raised to the 0.2 s minimum; 99 capped at retry_after_max_s
    assert clock.sleeps == [5.0, 0.2, 10.0]


def test_operation_errors_are_permanent(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("POST", POST, _accepted("0"))
    fake.on(
        "GET",
        OP,
        reply(422, errors_body("AvailableStockMustEqualToOneOrBeGreaterThanOne", metadata={})),
    )
    with pytest.raises(OperationFailed) as caught:
        client.create_offer(BODY)
    assert caught.value.offer_id == "77"
    assert caught.value.codes == ["AvailableStockMustEqualToOneOrBeGreaterThanOne"]


def test_operation_still_running_raises_pending_and_can_be_resumed(
    client: AllegroClient, fake: FakeAllegro, clock: FakeClock
) -> None:
    fake.on("POST", POST, _accepted("5"))
    fake.on("GET", OP, _running("5"))
    with pytest.raises(OperationPending) as caught:
        client.create_offer(BODY)
    pending = caught.value
    assert pending.offer_id == "77" and pending.operation_url == API + OP
    assert pending.transient
    assert sum(clock.sleeps) <= 30  # operation_poll_max_s
    fake.on("GET", OP, _done())
    fake.on("GET", "/sale/product-offers/77", reply(200, {"id": "77"}))
    resumed = client.wait_operation(pending.operation_url)
    assert resumed.offer_id == "77" and resumed.status == 303


def test_post_not_resent_after_ambiguous_failure_without_external_id(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on("POST", POST, reply(502))
    with pytest.raises(ServerError) as caught:
        client.create_offer(BODY)
    assert caught.value.maybe_applied
    assert len(fake.calls("POST", POST)) == 1


def _post_lost_and_offer_77_listed(fake: FakeAllegro) -> None:
    """The POST's answer is lost; the look-up by external.id SKU-1 finds offer 77."""

    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    fake.on("POST", POST, drop)
    fake.on(
        "GET",
        "/sale/offers",
        reply(200, {"offers": [{"id": "77", "external": {"id": "SKU-1"}}], "totalCount": 1}),
    )
    fake.on("GET", "/sale/product-offers/77", reply(200, {"id": "77", "external": {"id": "SKU-1"}}))


def test_post_lost_response_with_external_id_returns_existing_offer(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    _post_lost_and_offer_77_listed(fake)
    result = client.create_offer(WITH_EXTERNAL)
    assert result.recovered and result.offer_id == "77"
    assert len(fake.calls("POST", POST)) == 1
    lookup = fake.calls("GET", "/sale/offers")[0]
    assert lookup.url.params.get_list("external.id") == ["SKU-1"]


def test_post_resent_when_lookup_finds_nothing(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("POST", POST, reply(500), reply(201, {"id": "78"}))
    fake.on("GET", "/sale/offers", reply(200, {"offers": [], "totalCount": 0}))
    result = client.create_offer(WITH_EXTERNAL, resend_if_unsure=True)
    assert result.offer_id == "78" and not result.recovered
    assert len(fake.calls("POST", POST)) == 2
    assert len(fake.calls("GET", "/sale/offers")) == 1


def test_post_not_resent_when_the_caller_keeps_pending_creations(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    # The search may lag behind the POST: "not found" proves nothing, so the caller decides.
    fake.on("POST", POST, reply(500), reply(201, {"id": "78"}))
    fake.on("GET", "/sale/offers", reply(200, {"offers": [], "totalCount": 0}))
    with pytest.raises(ServerError) as caught:
        client.create_offer(WITH_EXTERNAL, resend_if_unsure=False)
    assert caught.value.maybe_applied
    assert len(fake.calls("POST", POST)) == 1
    assert len(fake.calls("GET", "/sale/offers")) == 1


def test_post_once_still_returns_an_offer_the_lookup_finds(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    _post_lost_and_offer_77_listed(fake)
    result = client.create_offer(WITH_EXTERNAL, resend_if_unsure=False)
    assert result.recovered and result.offer_id == "77"
    assert len(fake.calls("POST", POST)) == 1


def test_post_once_is_still_retried_when_certainly_not_applied(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on("POST", POST, reply(429), reply(201, {"id": "79"}))
    assert client.create_offer(WITH_EXTERNAL, resend_if_unsure=False).offer_id == "79"
    assert len(fake.calls("POST", POST)) == 2
    assert fake.calls("GET", "/sale/offers") == []


def test_post_retried_when_certainly_not_applied(client: AllegroClient, fake: FakeAllegro) -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return reply(201, {"id": "79"})

    fake.on("POST", POST, reply(429), refuse)
    assert client.create_offer(BODY).offer_id == "79"
    assert len(fake.calls("POST", POST)) == 3


def test_post_connection_broken_without_external_id_raises(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    fake.on("POST", POST, drop)
    with pytest.raises(ApiTimeout) as caught:
        client.create_offer(BODY)
    assert caught.value.maybe_applied
    assert len(fake.calls("POST", POST)) == 1


def test_external_id_length_checked_locally(client: AllegroClient, fake: FakeAllegro) -> None:
    with pytest.raises(InvalidRequest, match="100"):
        client.create_offer({**BODY, "external": {"id": "x" * 101}})
    assert fake.requests == []


def test_update_offer_200_and_202(client: AllegroClient, fake: FakeAllegro) -> None:
    path = "/sale/product-offers/77"
    fake.on("PATCH", path, reply(200, {"id": "77", "stock": {"available": 2}}), _accepted("0"))
    fake.on("GET", OP, _done())
    fake.on("GET", path, reply(200, {"id": "77", "publication": {"status": "ENDED"}}))
    first = client.update_offer("77", {"stock": {"available": 2}})
    assert first.status == 200 and first.offer.stock and first.offer.stock.available == 2
    second = client.update_offer("77", {"publication": {"status": "ENDED"}, "name": None})
    assert second.status == 202 and second.offer.status == "ENDED"
    assert json.loads(fake.calls("PATCH", path)[1].content) == {
        "publication": {"status": "ENDED"},
        "name": None,
    }


def test_get_offer_parts(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on(
        "GET",
        "/sale/product-offers/77/parts",
        reply(
            200,
            {
                "id": "77",
                "stock": {"available": 1},
                "sellingMode": {"price": {"amount": "179.0", "currency": "PLN"}},
            },
        ),
    )
    parts = client.get_offer_parts("77")
    assert parts.selling_mode and parts.selling_mode.price
    assert parts.selling_mode.price.amount == Decimal("179.00")
    request = fake.calls("GET", "/sale/product-offers/77/parts")[0]
    assert request.url.params.get_list("include") == ["stock", "price"]


def test_find_offers_by_external_id_pages(client: AllegroClient, fake: FakeAllegro) -> None:
    page1 = [{"id": str(i), "external": {"id": "A" if i % 2 else "B"}} for i in range(1000)]
    page2 = [{"id": "x", "external": {"id": "A"}}, {"id": "y", "external": {"id": "other"}}]
    fake.on(
        "GET",
        "/sale/offers",
        reply(200, {"offers": page1, "count": 1000, "totalCount": 1002}),
        reply(200, {"offers": page2, "count": 2, "totalCount": 1002}),
    )
    found = client.find_offers_by_external_id(["A", "B", "A"])
    assert len(found) == 1001  # "other" filtered out
    first, second = fake.calls("GET", "/sale/offers")
    assert first.url.params.get_list("external.id") == ["A", "B"]
    assert (first.url.params["limit"], first.url.params["offset"]) == ("1000", "0")
    assert second.url.params["offset"] == "1000"
