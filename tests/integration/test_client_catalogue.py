"""The Allegro client's category and catalogue endpoints against the sandbox over HTTP.

Expected values come from the sandbox's own reference data (``sandbox.catalog``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sandbox.testing", reason="the sandbox is not available")

from sandbox.catalog import ROOT_CATEGORY_ID, Catalog
from sandbox.testing import SandboxHandle
from tests.integration._support import sandbox_settings
from workers.allegro import (
    AllegroClient,
    FileTokenStore,
    InvalidRequest,
    NotFound,
    TokenSet,
)

pytestmark = pytest.mark.integration

MULTI_GTIN = "0194253317807"  # belongs to several catalogue products


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load_default()


@pytest.fixture(scope="module")
def client(
    sandbox: SandboxHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AllegroClient]:
    path: Path = tmp_path_factory.mktemp("catalogue") / "tokens.json"
    settings = sandbox_settings(sandbox, path)
    store = FileTokenStore(path)
    store.put("default", TokenSet.from_token_response(sandbox.issue_user_token(), time.time()))
    with AllegroClient(settings, store) as allegro:
        yield allegro


def test_main_categories(client: AllegroClient, catalog: Catalog) -> None:
    categories = client.list_categories()
    assert [c.id for c in categories] == [c["id"] for c in catalog.root_categories()]
    assert all(c.parent is None and c.leaf is False for c in categories)
    assert all(c.trace_id for c in categories)
    # Allegro's invisible top node gives the same list.
    assert [c.id for c in client.list_categories(ROOT_CATEGORY_ID)] == [c.id for c in categories]


def test_walk_down_to_a_leaf(client: AllegroClient, catalog: Catalog) -> None:
    path = catalog.category_path("67490")
    assert path is not None
    parent = None
    for step in path:
        children = client.list_categories(parent)
        assert step["id"] in [c.id for c in children]
        parent = step["id"]
    leaf = client.get_category("67490")
    assert leaf.leaf is True and leaf.name == "Czajniki elektryczne"
    assert leaf.parent and leaf.parent.id == path[-2]["id"]
    assert client.list_categories("67490") == []


def test_category_parameters(client: AllegroClient, catalog: Catalog) -> None:
    params = {p.id: p for p in client.get_category_parameters("165")}
    expected = catalog.parameters("165") or []
    assert set(params) == {p["id"] for p in expected}
    condition = params["11323"]
    assert condition.type == "dictionary" and condition.required
    assert not condition.describes_product  # an offer parameter
    assert condition.dictionary and "11323_1" in [d.id for d in condition.dictionary]
    ean = params["225693"]
    assert ean.type == "string" and ean.describes_product
    # The product-parameters resource lists only product parameters (without ``options``,
    # as Allegro's CategoryProductParameter has none).
    product_only = {p.id for p in client.get_category_product_parameters("165")}
    assert product_only == {i for i, p in params.items() if p.describes_product}


def test_unknown_category(client: AllegroClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.get_category("999999999")
    assert caught.value.trace_id


def test_matching_categories(client: AllegroClient) -> None:
    (best, *_rest) = client.match_categories("czajnik elektryczny")
    assert best.id == "67490"
    assert best.path()[0].name == "Elektronika"


def test_search_products_by_gtin_mpn_and_phrase(client: AllegroClient, catalog: Catalog) -> None:
    (kettle,) = client.products_by_gtin("4242002375502")
    assert kettle.name and "Bosch" in kettle.name
    assert "4242002375502" in kettle.gtins()
    several = client.products_by_gtin(MULTI_GTIN)
    assert len(several) == len(catalog.products_by_gtin(MULTI_GTIN)) > 1
    mpn = next(p for p in kettle.parameters or [] if p.id == "224017")
    by_mpn = client.search_products((mpn.values or [""])[0], mode="MPN")
    assert kettle.id in [p.id for p in by_mpn.products or []]
    by_phrase = client.search_products("czajnik", category_id="67490")
    assert kettle.id in [p.id for p in by_phrase.products or []]
    with pytest.raises(InvalidRequest):
        client.search_products(None, category_id="67490")


def test_get_product(client: AllegroClient) -> None:
    (kettle,) = client.products_by_gtin("4242002375502")
    assert kettle.id
    product = client.get_product(kettle.id)
    assert product.id == kettle.id and product.category and product.category.id == "67490"
    with pytest.raises(NotFound):
        client.get_product("00000000-0000-0000-0000-000000000000")
