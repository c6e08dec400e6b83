"""``find_offers_by_id``: ``GET /sale/offers`` with ``offer.id`` repeated (FACTS §9), at
most 100 ids a request, the ``publication.status`` filter passed on."""

from __future__ import annotations

import httpx
import pytest

from workers.allegro import AllegroClient, InvalidRequest

from .conftest import FakeAllegro, reply


def _listing(request: httpx.Request) -> httpx.Response:
    ids = request.url.params.get_list("offer.id")
    offers = [{"id": i, "publication": {"status": "ENDED"}} for i in ids if int(i) % 2]
    return reply(200, {"offers": offers, "count": len(offers), "totalCount": len(offers)})


def test_ids_in_requests_of_at_most_100_with_the_status_filter(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    fake.on("GET", "/sale/offers", _listing, _listing, _listing)
    ids = [str(n) for n in range(250)]
    found = client.find_offers_by_id([*ids, "3"], statuses=("ENDED",))
    assert sorted(int(o.id or "") for o in found) == list(range(1, 250, 2))
    assert {o.status for o in found} == {"ENDED"}
    calls = fake.calls("GET", "/sale/offers")
    assert [len(c.url.params.get_list("offer.id")) for c in calls] == [100, 100, 50]
    assert all(c.url.params.get_list("publication.status") == ["ENDED"] for c in calls)
    assert calls[2].url.params.get_list("offer.id")[-1] == "249"  # duplicates sent once


def test_no_ids_no_request_and_an_empty_id_is_refused(
    client: AllegroClient, fake: FakeAllegro
) -> None:
    assert client.find_offers_by_id([]) == []
    assert fake.calls("GET", "/sale/offers") == []
    with pytest.raises(InvalidRequest, match="must not be empty"):
        client.find_offers_by_id(["1", " "])
