"""Offers over real HTTP: create, read, merge-patch, the publication lifecycle, parts and
``GET /sale/offers``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.testing import SandboxHandle, error_codes, offer_body


def create(api: httpx.Client, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post("/sale/product-offers", json=body or offer_body())
    assert response.status_code == 201, response.text
    offer: dict[str, Any] = response.json()
    return offer


def patch(api: httpx.Client, offer_id: str, changes: dict[str, Any]) -> httpx.Response:
    return api.patch(f"/sale/product-offers/{offer_id}", json=changes)


# -- create ---------------------------------------------------------------------------------


def test_create_resolves_the_product_and_fills_defaults(api: httpx.Client) -> None:
    offer = create(api)
    assert offer["id"].isdigit()
    assert offer["publication"]["status"] == "ACTIVE"
    product = offer["productSet"][0]["product"]
    assert len(product["id"]) == 36 and product["publication"]["status"] == "LISTED"
    assert offer["name"]  # the product's name, since the body gave none
    assert offer["category"]["id"] == "85166"
    assert offer["sellingMode"] == {
        "format": "BUY_NOW",
        "startingPrice": None,
        "minimalPrice": None,
        "price": {"amount": "999.00", "currency": "PLN"},
    }
    assert offer["stock"] == {"available": 5, "unit": "UNIT"}
    assert offer["delivery"]["handlingTime"] == "PT24H"
    assert offer["delivery"]["shippingRates"]["id"]
    assert offer["payments"] == {"invoice": "VAT"}
    assert offer["parameters"][0]["values"] == ["Nowy"]  # label filled from the dictionary
    assert offer["validation"]["errors"] == []
    assert offer["external"] == {"id": "SKU-1"}
    assert api.get(f"/sale/product-offers/{offer['id']}").json() == offer


def test_every_post_creates_a_new_offer(api: httpx.Client) -> None:
    first, second = create(api), create(api)  # POST is not idempotent
    assert first["id"] != second["id"]
    assert api.get("/sale/offers", params={"external.id": "SKU-1"}).json()["totalCount"] == 2


def test_draft_keeps_its_activation_problems_in_validation(api: httpx.Client) -> None:
    body = offer_body(publication={"status": "INACTIVE"})
    del body["parameters"]  # condition is required to publish, not to save a draft
    offer = create(api, body)
    assert offer["publication"]["status"] == "INACTIVE"
    assert offer["validation"]["errors"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**offer_body(), "id": "123"}, "UnknownJSONProperty"),
        ({**offer_body(), "stock": {"available": "ten"}}, "JsonMappingException"),
        (
            {**offer_body(), "images": [{"url": "https://example.com/a.jpg"}]},
            "JsonMappingException",
        ),
        (offer_body(stock=0), "AvailableStockMustEqualToOneOrBeGreaterThanOne"),
    ],
)
def test_create_refusals(api: httpx.Client, body: dict[str, Any], code: str) -> None:
    response = api.post("/sale/product-offers", json=body)
    assert response.status_code == 422
    assert code in error_codes(response)
    assert api.get("/sale/offers").json()["totalCount"] == 0


def test_create_reports_all_validation_problems_at_once(api: httpx.Client) -> None:
    body = offer_body(name="x", sellingMode={"price": {"amount": "0.10", "currency": "EUR"}})
    response = api.post("/sale/product-offers", json=body)
    assert response.status_code == 422
    assert len(response.json()["errors"]) >= 2


def test_offers_of_other_sellers_are_forbidden(api: httpx.Client, sandbox: SandboxHandle) -> None:
    offer = create(api)
    with sandbox.client(sandbox.issue_user_token("seller-cz")["access_token"]) as czech:
        assert czech.get(f"/sale/product-offers/{offer['id']}").status_code == 403
        assert (
            czech.patch(
                f"/sale/product-offers/{offer['id']}", json={"stock": {"available": 1}}
            ).status_code
            == 403
        )
    assert api.get("/sale/product-offers/99999999999").status_code == 404
    assert api.get("/sale/product-offers/not-a-number").status_code == 400


# -- PATCH ------------------------------------------------------------------------------------


def test_patch_is_a_json_merge_patch(api: httpx.Client) -> None:
    offer = create(
        api,
        offer_body(
            images=["https://example.com/1.jpg", "https://example.com/2.jpg"],
            delivery={"handlingTime": "P2D", "additionalInfo": "fragile"},
        ),
    )
    response = patch(
        api,
        offer["id"],
        {
            "images": ["https://example.com/3.jpg"],  # arrays are replaced whole
            "delivery": {"additionalInfo": None},  # null removes
            "sellingMode": {"price": {"amount": "1049.5", "currency": "PLN"}},
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["images"] == ["https://example.com/3.jpg"]
    assert changed["delivery"]["handlingTime"] == "P2D"
    assert changed["delivery"]["additionalInfo"] is None
    assert changed["sellingMode"]["price"] == {"amount": "1049.50", "currency": "PLN"}
    assert changed["stock"]["available"] == 5


def test_patch_refuses_read_only_fields_and_revalidates(api: httpx.Client) -> None:
    offer = create(api)
    read_only = patch(api, offer["id"], {"publication": {"endedBy": "USER"}})
    assert (read_only.status_code, error_codes(read_only)) == (422, ["UnknownJSONProperty"])
    invalid = patch(api, offer["id"], {"sellingMode": {"price": {"amount": "0"}}})
    assert invalid.status_code == 422
    assert (
        api.get(f"/sale/product-offers/{offer['id']}").json()["sellingMode"]["price"]["amount"]
        == "999.00"
    )


def test_stock_zero_ends_an_active_offer(api: httpx.Client) -> None:
    offer = create(api)
    ended = patch(api, offer["id"], {"stock": {"available": 0}}).json()
    assert ended["publication"]["status"] == "ENDED"
    assert ended["publication"]["endedBy"] == "EMPTY_STOCK"


def test_end_and_reactivate(api: httpx.Client) -> None:
    offer = create(api)
    ended = patch(api, offer["id"], {"publication": {"status": "ENDED"}}).json()
    assert (ended["publication"]["status"], ended["publication"]["endedBy"]) == ("ENDED", "USER")
    back = patch(api, offer["id"], {"publication": {"status": "ACTIVE"}}).json()
    assert back["publication"]["status"] == "ACTIVE"
    assert back["id"] == offer["id"]


def test_ended_offers_are_archived_after_60_days(api: httpx.Client, sandbox: SandboxHandle) -> None:
    offer = create(api)
    patch(api, offer["id"], {"publication": {"status": "ENDED"}})
    sandbox.advance_clock(59 * 24 * 3600)
    with sandbox.client() as later:  # access tokens live 12 h: a fresh one each time
        assert later.get(f"/sale/product-offers/{offer['id']}").status_code == 200
    sandbox.advance_clock(24 * 3600)
    with sandbox.client() as later:
        assert later.get(f"/sale/product-offers/{offer['id']}").status_code == 404
        assert later.get("/sale/offers").json()["totalCount"] == 0


def test_a_policy_patched_by_name_replaces_the_stored_one(api: httpx.Client) -> None:
    offer = create(api)
    default_policy = offer["afterSalesServices"]["returnPolicy"]["id"]
    changed = patch(api, offer["id"], {"afterSalesServices": {"returnPolicy": {"name": "30 dni"}}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["afterSalesServices"]["returnPolicy"]["id"] != default_policy


def test_reactivation_needs_stock(api: httpx.Client) -> None:
    offer = create(api)
    patch(api, offer["id"], {"stock": {"available": 0}})
    refused = patch(api, offer["id"], {"publication": {"status": "ACTIVE"}})
    assert refused.status_code == 422
    assert error_codes(refused) == ["AvailableStockMustEqualToOneOrBeGreaterThanOne"]
    restocked = patch(
        api, offer["id"], {"stock": {"available": 2}, "publication": {"status": "ACTIVE"}}
    )
    assert restocked.json()["publication"]["status"] == "ACTIVE"


def test_never_back_to_inactive(api: httpx.Client) -> None:
    offer = create(api)
    refused = patch(api, offer["id"], {"publication": {"status": "INACTIVE"}})
    assert refused.status_code == 422


def test_ending_applies_even_when_the_rest_of_the_patch_fails(api: httpx.Client) -> None:
    offer = create(api)
    response = patch(
        api,
        offer["id"],
        {"publication": {"status": "ENDED"}, "sellingMode": {"price": {"amount": "0"}}},
    )
    assert response.status_code == 422
    assert api.get(f"/sale/product-offers/{offer['id']}").json()["publication"]["status"] == "ENDED"


def test_a_draft_can_be_activated(api: httpx.Client) -> None:
    offer = create(api, offer_body(publication={"status": "INACTIVE"}))
    assert offer["publication"]["status"] == "INACTIVE"
    active = patch(api, offer["id"], {"publication": {"status": "ACTIVE"}}).json()
    assert active["publication"]["status"] == "ACTIVE"


def test_scheduled_activation_waits_for_its_time(api: httpx.Client, sandbox: SandboxHandle) -> None:
    start = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    offer = create(api, offer_body(publication={"startingAt": start}))
    assert offer["publication"]["status"] == "ACTIVATING"
    assert offer["publication"]["startingAt"] == start
    sandbox.advance_clock(3600)
    assert (
        api.get(f"/sale/product-offers/{offer['id']}").json()["publication"]["status"] == "ACTIVE"
    )


# -- parts and search ---------------------------------------------------------------------------


def test_parts(api: httpx.Client) -> None:
    offer = create(api)
    parts = api.get(
        f"/sale/product-offers/{offer['id']}/parts",
        params=[("include", "stock"), ("include", "price")],
    ).json()
    assert parts == {
        "id": offer["id"],
        "stock": {"available": 5},
        "sellingMode": {"price": {"amount": "999.00", "currency": "PLN"}},
        "additionalMarketplaces": {},
    }
    stock_only = api.get(
        f"/sale/product-offers/{offer['id']}/parts", params={"include": "stock"}
    ).json()
    assert set(stock_only) == {"id", "stock"}
    assert api.get(f"/sale/product-offers/{offer['id']}/parts").status_code == 400
    assert (
        api.get(f"/sale/product-offers/{offer['id']}/parts", params={"include": "name"}).status_code
        == 400
    )


def test_search_by_external_id_status_and_paging(api: httpx.Client) -> None:
    ids = [create(api, offer_body(f"SKU-{n}"))["id"] for n in range(3)]
    patch(api, ids[0], {"publication": {"status": "ENDED"}})
    found = api.get(
        "/sale/offers", params=[("external.id", "SKU-0"), ("external.id", "SKU-2")]
    ).json()
    assert {o["id"] for o in found["offers"]} == {ids[0], ids[2]}
    assert found["offers"][0]["sellingMode"]["price"]["amount"] == "999.0"  # listing format
    ended = api.get("/sale/offers", params={"publication.status": "ENDED"}).json()
    assert [o["id"] for o in ended["offers"]] == [ids[0]]
    page = api.get("/sale/offers", params={"limit": 2, "offset": 0}).json()
    assert (page["count"], page["totalCount"]) == (2, 3)
    assert [o["id"] for o in page["offers"]] == [ids[2], ids[1]]  # newest first
    assert api.get("/sale/offers", params={"offer.id": ids[1]}).json()["offers"][0]["id"] == ids[1]


def test_search_by_external_id_follows_every_change_of_it(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    """The search looks offers up in an index of external.id: creates, edits that change or
    drop the id, batch commands that rewrite the offer and archiving must all show."""

    def found(external_id: str, client: httpx.Client = api) -> list[str]:
        listing = client.get("/sale/offers", params={"external.id": external_id}).json()
        return [o["id"] for o in listing["offers"]]

    first, second, third = (create(api, offer_body(sku))["id"] for sku in ("A", "B", "A"))
    czk = {"price": {"amount": "999.00", "currency": "CZK"}}
    with sandbox.client(sandbox.issue_user_token("seller-cz")["access_token"]) as czech:
        assert czech.post("/sale/product-offers", json=offer_body("A", sellingMode=czk)).is_success
        assert len(found("A", czech)) == 1  # each seller sees their own
    assert (found("A"), found("B")) == ([third, first], [second])

    assert patch(api, first, {"external": {"id": "B"}}).status_code == 200
    assert patch(api, third, {"external": None}).status_code == 200
    assert (found("A"), found("B")) == ([], [second, first])
    assert patch(api, third, {"external": {"id": "C"}}).status_code == 200
    assert found("C") == [third]

    command = "/sale/offer-quantity-change-commands/6f1d7c7e-5d7a-4c55-9d43-8a3ff7f8a001"
    change = {"changeType": "FIXED", "value": 9}
    criteria = [{"type": "CONTAINS_OFFERS", "offers": [{"id": second}]}]
    assert api.put(command, json={"modification": change, "offerCriteria": criteria}).is_success
    sandbox.advance_clock(2)  # the command's tasks run: a new body for the offer
    with sandbox.client() as later:
        assert found("B", later) == [second, first]
        assert later.get(f"/sale/product-offers/{second}").json()["stock"]["available"] == 9
        assert patch(later, first, {"publication": {"status": "ENDED"}}).status_code == 200
    sandbox.advance_clock(60 * 24 * 3600)  # the ended offer is archived
    with sandbox.client() as later:
        assert found("B", later) == [second]
        both = [("external.id", "B"), ("offer.id", first), ("offer.id", second)]
        assert [o["id"] for o in later.get("/sale/offers", params=both).json()["offers"]] == [
            second
        ]


def test_search_lags_behind_new_offers_by_search_lag_s(
    api: httpx.Client, sandbox: SandboxHandle
) -> None:
    sandbox.configure(search_lag_s=30)
    offer = create(api, offer_body("SKU-LAG"))

    def listed() -> list[str]:
        found = api.get("/sale/offers", params={"external.id": "SKU-LAG"}).json()
        return [o["id"] for o in found["offers"]]

    assert listed() == []  # created, but not in the search yet
    assert api.get(f"/sale/product-offers/{offer['id']}").status_code == 200  # readable by id
    sandbox.advance_clock(29)
    assert listed() == []
    sandbox.advance_clock(1)
    assert listed() == [offer["id"]]
    sandbox.configure(search_lag_s=0)
    assert listed() == [offer["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"limit": "x"},
        {"external.id": "x" * 101},
        {"publication.status": "SOLD"},
        {"sort": "name"},
    ],
)
def test_search_refuses_bad_parameters(api: httpx.Client, params: dict[str, Any]) -> None:
    assert api.get("/sale/offers", params=params).status_code == 422
