"""The sandbox's API surface apart from offers: media types, Trace-Id, error shapes,
categories, products, marketplaces and the admin endpoints."""

from __future__ import annotations

import httpx
import pytest

from sandbox.testing import (
    ALLEGRO_MEDIA_TYPE,
    SAMPLE_GTIN,
    SandboxError,
    SandboxHandle,
    error_codes,
    offer_body,
)

ROOT = "954b95b6-43cf-4104-8354-dea4d9b10ddf"
ELECTRONICS = "42540aec-367a-4e5e-b411-17c09b08e41f"


# -- media types, Trace-Id, error shapes -------------------------------------------------------


def test_accept_must_name_allegros_media_type(api: httpx.Client) -> None:
    for accept in ("application/json", "*/*"):
        response = api.get("/sale/categories", headers={"Accept": accept})
        assert response.status_code == 406
        assert error_codes(response) == ["NotAcceptableException"]
    assert api.get("/sale/categories").headers["content-type"] == ALLEGRO_MEDIA_TYPE


def test_bodies_need_allegros_content_type_and_valid_json(api: httpx.Client) -> None:
    wrong_type = api.post(
        "/sale/product-offers", json=offer_body(), headers={"Content-Type": "application/json"}
    )
    assert wrong_type.status_code == 415
    unreadable = api.post("/sale/product-offers", content=b"{not json")
    assert unreadable.status_code == 400
    assert unreadable.json()["errors"][0]["message"] == "Message is not readable."


def test_every_response_has_a_unique_trace_id(api: httpx.Client, sandbox: SandboxHandle) -> None:
    ids = {api.get("/sale/categories").headers["trace-id"] for _ in range(3)}
    ids.add(httpx.get(sandbox.url + "/__sandbox/config").headers["trace-id"])
    ids.add(api.get("/no/such/resource").headers["trace-id"])
    assert len(ids) == 5


def test_unknown_paths_and_methods_answer_in_allegros_shape(api: httpx.Client) -> None:
    missing = api.get("/sale/nothing-here")
    assert missing.status_code == 404 and error_codes(missing) == ["NotFoundException"]
    wrong_method = api.delete("/sale/categories")
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()["errors"][0]) == {
        "code",
        "message",
        "details",
        "path",
        "userMessage",
        "metadata",
    }


# -- categories ---------------------------------------------------------------------------------


def test_category_tree(api: httpx.Client) -> None:
    roots = api.get("/sale/categories").json()["categories"]
    assert ELECTRONICS in {c["id"] for c in roots}
    assert all("parent" not in c for c in roots)  # the schema does not allow parent: null
    assert api.get("/sale/categories", params={"parent.id": ROOT}).json()["categories"] == roots
    children = api.get("/sale/categories", params={"parent.id": ELECTRONICS}).json()
    assert children["categories"]
    assert all(c["parent"] == {"id": ELECTRONICS} for c in children["categories"])
    unknown = api.get("/sale/categories", params={"parent.id": "no-such-category"})
    assert unknown.status_code == 404


def test_category_and_its_parameters(api: httpx.Client) -> None:
    category = api.get("/sale/categories/85166").json()
    assert category["leaf"] is True
    parameters = api.get("/sale/categories/85166/parameters").json()["parameters"]
    assert "11323" in {p["id"] for p in parameters}
    product_parameters = api.get("/sale/categories/85166/product-parameters").json()
    assert "11323" not in {p["id"] for p in product_parameters["parameters"]}
    for path in (
        "/sale/categories/0",
        "/sale/categories/0/parameters",
        "/sale/categories/0/product-parameters",
    ):
        assert api.get(path).status_code == 404


def test_categories_accept_an_application_token(sandbox: SandboxHandle) -> None:
    response = httpx.post(
        sandbox.url + "/auth/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    with sandbox.client(response.json()["access_token"]) as app_client:
        assert app_client.get("/sale/categories/85166/parameters").status_code == 200
        assert (
            app_client.get("/sale/matching-categories", params={"name": "słuchawki"}).status_code
            == 401
        )


def test_matching_categories(api: httpx.Client) -> None:
    found = api.get(
        "/sale/matching-categories", params={"name": "Słuchawki bezprzewodowe Sony"}
    ).json()
    assert found["matchingCategories"]
    node = found["matchingCategories"][0]
    while "parent" in node:  # the chain ends at a main category, without parent: null
        assert node["parent"] is not None
        node = node["parent"]
    assert api.get("/sale/matching-categories").status_code == 422


# -- products and marketplaces ----------------------------------------------------------------


def test_products_by_gtin_and_by_id(api: httpx.Client) -> None:
    found = api.get("/sale/products", params={"phrase": SAMPLE_GTIN, "mode": "GTIN"}).json()
    (product,) = found["products"]
    assert set(found) >= {"products", "categories", "filters"}
    assert found["categories"]["subcategories"][0]["id"] == product["category"]["id"]
    again = api.get(f"/sale/products/{product['id']}")
    assert again.json()["id"] == product["id"]
    assert api.get("/sale/products/00000000-0000-0000-0000-000000000000").status_code == 404


def test_product_search_refusals(api: httpx.Client) -> None:
    assert api.get("/sale/products").status_code == 400
    assert api.get("/sale/products", params={"phrase": "x", "mode": "EAN"}).status_code == 422
    unknown_category = api.get("/sale/products", params={"phrase": "x", "category.id": "0"})
    assert unknown_category.status_code == 404


def test_product_search_refuses_a_made_up_cursor(api: httpx.Client) -> None:
    response = api.get("/sale/products", params={"phrase": "sony", "page.id": "made-up"})
    assert response.status_code == 422


def test_marketplaces(api: httpx.Client) -> None:
    markets = {m["id"]: m for m in api.get("/marketplaces").json()["marketplaces"]}
    assert markets["allegro-pl"]["currencies"]["base"]["code"] == "PLN"
    assert markets["allegro-cz"]["currencies"]["base"]["code"] == "CZK"


# -- admin ------------------------------------------------------------------------------------


def test_config_knobs_can_be_read_and_changed(sandbox: SandboxHandle) -> None:
    assert sandbox.config()["client_limit_per_min"] == 9000
    assert sandbox.configure(async_ratio=0.25)["async_ratio"] == 0.25
    with pytest.raises(SandboxError, match="unknown knob: no_such_knob"):
        sandbox.configure(no_such_knob=1)
    with pytest.raises(SandboxError, match="async_ratio"):
        sandbox.configure(async_ratio=2)
    sandbox.reset()
    assert sandbox.config()["async_ratio"] == 0.0


def test_reset_forgets_everything(sandbox: SandboxHandle, api: httpx.Client) -> None:
    assert api.post("/sale/product-offers", json=offer_body()).status_code == 201
    sandbox.inject_fault(method="GET", path="^/sale/offers$", kind="status", status=503)
    sandbox.advance_clock(100)
    assert sandbox.offers() and sandbox.requests()
    sandbox.reset()
    assert sandbox.offers() == []
    assert sandbox.requests() == []
    with sandbox.client() as fresh:  # old tokens are gone, the fault too
        assert fresh.get("/sale/offers").status_code == 200
    assert api.get("/sale/offers").status_code == 401


def test_request_log_records_api_calls_but_not_admin_calls(
    sandbox: SandboxHandle, api: httpx.Client
) -> None:
    api.post("/sale/product-offers", json=offer_body("LOG-1"))
    api.get("/sale/offers", params=[("external.id", "LOG-1"), ("external.id", "X")])
    sandbox.offers()
    first, second = sandbox.requests()
    assert (first["method"], first["path"], first["status"]) == (
        "POST",
        "/sale/product-offers",
        201,
    )
    assert first["headers"]["authorization"] == "Bearer <redacted>"
    assert first["body"]["external"] == {"id": "LOG-1"}
    assert first["response_body"]["external"] == {"id": "LOG-1"}
    assert first["response_headers"]["trace-id"]
    assert second["query"] == {"external.id": ["LOG-1", "X"]}
    assert sandbox.requests(since=first["seq"]) == [second]


def test_admin_offers_show_every_seller(sandbox: SandboxHandle, api: httpx.Client) -> None:
    api.post("/sale/product-offers", json=offer_body())
    with sandbox.client(sandbox.issue_user_token("seller-cz")["access_token"]) as czech:
        assert czech.get("/sale/offers").json()["totalCount"] == 0
    (offer,) = sandbox.offers()
    assert offer["seller"] == "seller"


def test_admin_refuses_unknown_users_and_codes(sandbox: SandboxHandle) -> None:
    with pytest.raises(SandboxError, match="unknown user"):
        sandbox.issue_user_token("nobody")
    with pytest.raises(SandboxError, match="unknown user_code"):
        sandbox.approve_device("zzzzzzzzz")
    with pytest.raises(SandboxError):
        sandbox.inject_fault(method="GET", path="(", kind="status", status=500)
    with pytest.raises(SandboxError):
        sandbox.inject_fault(method="GET", path="x", kind="explode")
    with pytest.raises(SandboxError):
        sandbox.advance_clock(-1)
