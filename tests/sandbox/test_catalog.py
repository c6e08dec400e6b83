"""The sandbox's reference data: lookups and integrity of the shipped JSON."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from sandbox.catalog import ROOT_CATEGORY_ID, Catalog, Seller, normalize_gtin
from sandbox.rules_common import gtin_problem, is_uuid
from sandbox.rules_offer import check_name

ELEKTRONIKA = "42540aec-367a-4e5e-b411-17c09b08e41f"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load_default()


def _gtins(product: dict) -> list[str]:
    for param in product["parameters"]:
        if param["id"] == "225693":
            return list(param["values"])
    return []


# -- lookups ------------------------------------------------------------------------


def test_root_categories_are_main_categories_with_null_parent(catalog: Catalog) -> None:
    roots = catalog.root_categories()
    assert len(roots) >= 8
    assert all(c["parent"] is None and c["leaf"] is False for c in roots)
    assert ELEKTRONIKA in {c["id"] for c in roots}


def test_children_of_the_allegro_root_are_the_main_categories(catalog: Catalog) -> None:
    assert catalog.children(ROOT_CATEGORY_ID) == catalog.root_categories()


def test_children_lists_direct_children_and_none_for_unknown(catalog: Catalog) -> None:
    names = [c["name"] for c in catalog.children(ELEKTRONIKA) or []]
    assert "Telefony i Akcesoria" in names
    assert catalog.children("no-such-category") is None
    assert catalog.children("165") == []


def test_category_dto_shape(catalog: Catalog) -> None:
    smartphones = catalog.category("165")
    assert smartphones is not None
    assert smartphones["name"] == "Smartfony i telefony komórkowe"
    assert smartphones["parent"] == {"id": "4"}
    assert smartphones["leaf"] is True
    assert set(smartphones["options"]) == {
        "advertisement",
        "offersWithProductPublicationEnabled",
        "productCreationEnabled",
        "sellerCanRequirePurchaseComments",
    }
    assert catalog.category("0") is None


def test_parameters_for_leaf_inner_and_unknown_categories(catalog: Catalog) -> None:
    leaf = catalog.parameters("165")
    assert leaf and {p["id"] for p in leaf} >= {"11323", "225693", "224017"}
    assert catalog.parameters("4") == []
    assert catalog.parameters("nope") is None


def test_product_parameters_use_the_category_product_parameter_shape(catalog: Catalog) -> None:
    params = catalog.product_parameters("165")
    assert params is not None
    ids = {p["id"] for p in params}
    assert "225693" in ids and "11323" not in ids
    ean = next(p for p in params if p["id"] == "225693")
    assert ean["required"] is True  # requiredForProduct of the full definition
    assert "options" not in ean and "requiredForProduct" not in ean
    brand = next(p for p in params if p["id"] == "246705")
    assert all("dependsOnValueIds" not in v for v in brand["dictionary"])
    assert catalog.product_parameters("nope") is None


def test_matching_categories_returns_suggestions_with_parent_chain(catalog: Catalog) -> None:
    found = catalog.matching_categories("Smartfon Apple iPhone 15 128 GB czarny")
    assert found[0]["id"] == "165"
    chain = []
    node = found[0]
    while node is not None:
        chain.append(node["id"])
        node = node["parent"]
    assert chain == ["165", "4", ELEKTRONIKA]
    assert catalog.matching_categories("zzzz qqqq") == []


def test_matching_categories_ignores_case_and_diacritics(catalog: Catalog) -> None:
    found = catalog.matching_categories("SLUCHAWKI bezprzewodowe Bluetooth")
    assert found[0]["id"] == "85166"


def test_search_products_by_gtin_ignores_leading_zeros(catalog: Catalog) -> None:
    upc = "194644131784"
    assert [p["name"] for p in catalog.search_products(upc, mode="GTIN")] == [
        p["name"] for p in catalog.search_products("0" + upc, mode="GTIN")
    ]
    assert len(catalog.search_products(upc, mode="GTIN")) == 1


def test_search_products_by_mpn_and_by_name(catalog: Catalog) -> None:
    by_mpn = catalog.search_products("wh1000xm5b.ce7", mode="MPN")
    assert [p["name"] for p in by_mpn] == ["Sony WH-1000XM5 słuchawki bezprzewodowe nauszne czarne"]
    by_name = catalog.search_products("iphone 15 pro")
    assert [p["name"] for p in by_name] == ["Apple iPhone 15 Pro 256 GB tytan naturalny"]


def test_search_products_filters_by_category_including_parents(catalog: Catalog) -> None:
    assert all(p["category"]["id"] == "165" for p in catalog.search_products("apple", None, "165"))
    in_electronics = catalog.search_products("apple", None, ELEKTRONIKA)
    assert {p["category"]["id"] for p in in_electronics} >= {"165", "85166", "491"}


def test_products_by_gtin_can_return_several(catalog: Catalog) -> None:
    counts = Counter(normalize_gtin(g) for p in catalog.products() for g in _gtins(p))
    shared = [g for g, n in counts.items() if n > 1]
    assert shared
    assert len(catalog.products_by_gtin(shared[0])) >= 2
    assert catalog.products_by_gtin("5901234123457") == []


def test_product_lookup_and_product_shape(catalog: Catalog) -> None:
    first = catalog.products()[0]
    product = catalog.product(first["id"])
    assert product == first
    assert set(product) >= {
        "id",
        "name",
        "category",
        "images",
        "parameters",
        "description",
        "publication",
    }
    assert product["category"]["path"][0] == {"id": ROOT_CATEGORY_ID, "name": "Allegro"}
    assert product["publication"]["status"] in ("LISTED", "PROPOSED")
    param = product["parameters"][0]
    assert set(param) >= {
        "id",
        "name",
        "values",
        "valuesIds",
        "valuesLabels",
        "unit",
        "rangeValue",
        "options",
    }
    assert set(param["options"]) == {"identifiesProduct", "isGTIN", "isTrusted"}
    assert catalog.product("00000000-0000-0000-0000-000000000000") is None


def test_results_are_deep_copies(catalog: Catalog) -> None:
    catalog.category("165")["name"] = "changed"  # type: ignore[index]
    catalog.parameters("165")[0]["name"] = "changed"  # type: ignore[index]
    product = catalog.products()[0]
    product["parameters"].clear()
    catalog.seller("seller").shipping_rates[0]["name"] = "changed"  # type: ignore[union-attr]
    assert catalog.category("165")["name"] != "changed"  # type: ignore[index]
    assert catalog.parameters("165")[0]["name"] != "changed"  # type: ignore[index]
    assert catalog.product(product["id"])["parameters"]  # type: ignore[index]
    assert catalog.seller("seller").shipping_rates[0]["name"] == "default"  # type: ignore[union-attr]


def test_sellers(catalog: Catalog) -> None:
    seller = catalog.seller("seller")
    assert isinstance(seller, Seller)
    assert (seller.marketplace, seller.currency) == ("allegro-pl", "PLN")
    assert seller.user_id.isdigit()
    assert [r["name"] for r in seller.shipping_rates] == ["default"]
    assert all(is_uuid(r["id"]) for r in seller.shipping_rates)
    assert seller.return_policies and seller.implied_warranties and seller.warranties
    czech = catalog.seller("seller-cz")
    assert czech is not None and (czech.marketplace, czech.currency) == ("allegro-cz", "CZK")
    assert catalog.seller("nobody") is None
    assert {s.login for s in catalog.sellers()} == {"seller", "seller-cz"}


# -- data integrity -----------------------------------------------------------------


def test_category_ids_are_unique_numeric_or_uuid_and_tree_is_deep(catalog: Catalog) -> None:
    categories = catalog.all_categories()
    ids = [c["id"] for c in categories]
    assert len(ids) == len(set(ids))
    assert all(i.isdigit() or is_uuid(i) for i in ids)
    assert any(is_uuid(i) for i in ids) and any(i.isdigit() for i in ids)
    leaves = catalog.leaf_categories()
    assert len(leaves) >= 20
    depths = [len(catalog.category_path(c["id"]) or []) for c in leaves]
    assert max(depths) >= 4 and min(depths) >= 3
    for c in categories:
        assert (catalog.children(c["id"]) == []) == c["leaf"]


def test_every_leaf_has_the_common_parameters(catalog: Catalog) -> None:
    for leaf in catalog.leaf_categories():
        params = {p["id"]: p for p in catalog.parameters(leaf["id"]) or []}
        stan = params["11323"]
        assert stan["required"] and not stan["options"]["describesProduct"]
        assert {"11323_1", "11323_2"} <= {v["id"] for v in stan["dictionary"]}
        assert params["225693"]["type"] == "string"
        assert params["225693"]["options"]["describesProduct"]
        assert params["224017"]["type"] == "string"
        brands = [
            p
            for p in params.values()
            if p["type"] == "dictionary"
            and p["options"]["customValuesEnabled"]
            and p["options"]["ambiguousValueId"]
        ]
        assert brands, leaf["id"]
        for brand in brands:
            assert brand["options"]["ambiguousValueId"] in {v["id"] for v in brand["dictionary"]}


def test_parameter_definitions_are_well_formed(catalog: Catalog) -> None:
    keys = {
        "id",
        "name",
        "type",
        "required",
        "requiredForProduct",
        "requiredIf",
        "displayedIf",
        "unit",
        "options",
        "restrictions",
    }
    restriction_keys = {
        "dictionary": {"multipleChoices"},
        "integer": {"min", "max", "range"},
        "float": {"min", "max", "range", "precision"},
        "string": {"minLength", "maxLength", "allowedNumberOfValues"},
    }
    for leaf in catalog.leaf_categories():
        params = catalog.parameters(leaf["id"]) or []
        ids = {p["id"] for p in params}
        assert len(ids) == len(params)
        value_ids = [v["id"] for p in params for v in p.get("dictionary", [])]
        assert len(value_ids) == len(set(value_ids)), leaf["id"]
        all_value_ids = set(value_ids)
        for p in params:
            assert keys <= set(p), p["id"]
            assert set(p["restrictions"]) == restriction_keys[p["type"]]
            for v in p.get("dictionary", []):
                assert v["id"].startswith(p["id"] + "_")
                assert set(v["dependsOnValueIds"]) <= all_value_ids
            parent = p["options"]["dependsOnParameterId"]
            assert parent is None or parent in ids
            for cond in (p["requiredIf"] or {}).get("parametersWithValue", []):
                assert cond["id"] in ids and set(cond["oneOfValueIds"]) <= all_value_ids
            for cond in (p["requiredIf"] or {}).get("parametersWithoutValue", []):
                assert cond["id"] in ids


def test_the_data_covers_every_parameter_feature(catalog: Catalog) -> None:
    params = [p for leaf in catalog.leaf_categories() for p in catalog.parameters(leaf["id"]) or []]
    assert {p["type"] for p in params} == {"dictionary", "integer", "float", "string"}
    assert any(p["requiredIf"] and p["requiredIf"]["parametersWithValue"] for p in params)
    assert any(p["requiredIf"] and p["requiredIf"]["parametersWithoutValue"] for p in params)
    assert any(p["displayedIf"] for p in params)
    assert any(p["options"]["dependsOnParameterId"] for p in params)
    assert any(p["type"] == "float" and p["restrictions"]["range"] for p in params)
    assert any(p["type"] == "integer" and p["restrictions"]["range"] for p in params)
    assert any(p["type"] == "dictionary" and p["restrictions"]["multipleChoices"] for p in params)
    weight = next(p for p in params if p["id"] == "17448")
    assert (weight["unit"], weight["restrictions"]["precision"]) == ("kg", 3)


def test_every_gtin_is_valid_and_some_are_ean8_or_upc12(catalog: Catalog) -> None:
    lengths = Counter()
    for product in catalog.products():
        gtins = _gtins(product)
        assert gtins, product["name"]
        for gtin in gtins:
            assert gtin_problem(gtin) is None, (product["name"], gtin)
            lengths[len(gtin)] += 1
    assert lengths[13] and lengths[8] and lengths[12]


def test_products_are_consistent_with_their_categories(catalog: Catalog) -> None:
    products = catalog.products()
    assert len(products) >= 40
    assert {"LISTED", "PROPOSED"} == {p["publication"]["status"] for p in products}
    for product in products:
        assert is_uuid(product["id"])
        category = catalog.category(product["category"]["id"])
        assert category is not None and category["leaf"]
        assert [n["id"] for n in product["category"]["path"][1:]] == [
            n["id"] for n in catalog.category_path(category["id"]) or []
        ]
        definitions = {p["id"]: p for p in catalog.parameters(category["id"]) or []}
        for param in product["parameters"]:
            definition = definitions[param["id"]]
            assert definition["options"]["describesProduct"]
            if definition["type"] == "dictionary":
                labels = {v["id"]: v["value"] for v in definition["dictionary"]}
                assert [labels[i] for i in param["valuesIds"]] == param["values"]
        # catalogue names are valid offer names, so an offer may take them as its own
        assert check_name(product["name"]) == [], product["name"]
        assert all(re.match(r"^https://", i["url"]) for i in product["images"])
