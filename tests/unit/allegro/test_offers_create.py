"""create_offer: a 202 handed back at once (``wait=False``) so that the caller records the
offer before polling, and no second POST after one search miss by default."""

from __future__ import annotations

import pytest

from tests.unit.allegro.conftest import API, FakeAllegro, reply
from tests.unit.allegro.test_offers import OP, POST, WITH_EXTERNAL, _accepted, _done
from workers.allegro import AllegroClient, ServerError


def test_wait_false_returns_the_202_with_its_operation_unpolled(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on("POST", POST, _accepted("5"))
    result = client.create_offer(WITH_EXTERNAL, wait=False)
    assert result.pending and result.status == 202 and result.offer_id == "77"
    assert result.operation is not None
    assert result.operation.url == API + OP and result.operation.operation_id == "op-1"
    assert result.operation.retry_after_s == 5.0
    assert fake.calls("GET", OP) == []
    # The caller polls it later.
    fake.on("GET", OP, _done())
    fake.on("GET", "/sale/product-offers/77", reply(200, {"id": "77"}))
    done = client.wait_operation(result.operation.url)
    assert done.offer_id == "77" and not done.pending


def test_a_201_with_wait_false_is_final(client: AllegroClient, fake: FakeAllegro) -> None:
    fake.on("POST", POST, reply(201, {"id": "78", "publication": {"status": "ACTIVE"}}))
    result = client.create_offer(WITH_EXTERNAL, wait=False)
    assert not result.pending and result.offer_id == "78"


def test_by_default_one_search_miss_does_not_post_again(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    # POST is not idempotent and the search may lag (FACTS §1, §9): raise, never re-POST.
    fake.on("POST", POST, reply(500), reply(201, {"id": "78"}))
    fake.on("GET", "/sale/offers", reply(200, {"offers": [], "totalCount": 0}))
    with pytest.raises(ServerError) as caught:
        client.create_offer(WITH_EXTERNAL)
    assert caught.value.maybe_applied
    assert len(fake.calls("POST", POST)) == 1
