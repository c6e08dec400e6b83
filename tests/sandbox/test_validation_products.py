"""Offer validation: productSet resolution, catalogue conflicts and the offer's category."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sandbox.catalog import normalize_gtin
from tests.sandbox.test_validation import (
    CATALOG,
    SONY_GTIN,
    SONY_ID,
    check,
    codes,
    new_phone_product,
    offer_for_new_product,
    offer_for_product,
    only,
    unused_gtin,
)


def _shared_gtin() -> str:
    counts = Counter(
        normalize_gtin(v)
        for p in CATALOG.products()
        for param in p["parameters"]
        if param["id"] == "225693"
        for v in param["values"]
    )
    return next(g for g, n in counts.items() if n > 1).lstrip("0").zfill(13)


def _by_reference(product: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = offer_for_product(**changes)
    body["productSet"] = [{"product": product}]
    return body


# -- references to catalogue products ----------------------------------------------


def test_product_by_gtin_and_by_mpn() -> None:
    by_gtin = check(_by_reference({"id": SONY_GTIN, "idType": "GTIN"}))
    assert by_gtin.errors == [] and by_gtin.product_ids == [SONY_ID]
    by_mpn = check(_by_reference({"id": "WH1000XM5B.CE7", "idType": "MPN"}))
    assert by_mpn.errors == [] and by_mpn.product_ids == [SONY_ID]


def test_bare_gtin_without_id_type_is_looked_up_as_a_gtin() -> None:
    result = check(_by_reference({"id": SONY_GTIN}))
    assert result.errors == [] and result.product_ids == [SONY_ID]


def test_gtin_matching_several_products() -> None:
    gtin = _shared_gtin()
    item = only(
        check(_by_reference({"id": gtin, "idType": "GTIN"})), "MultipleProductsFoundException"
    )
    assert item["path"] == "productSet[0].product.id"
    found = item["metadata"]["foundProductsIds"].split(",")
    assert len(found) >= 2
    assert sorted(found) == sorted(p["id"] for p in CATALOG.products_by_gtin(gtin))
    # choosing one of them by its id works
    chosen = check(_by_reference({"id": found[0]}, category=None, name=None))
    assert chosen.errors == [] and chosen.product_ids == [found[0]]


def test_unknown_product_id() -> None:
    missing = "5c1b0f7e-2d3a-4e5f-8a9b-0c1d2e3f4a5b"
    item = only(check(_by_reference({"id": missing})), "ProductNotFoundException")
    assert item["metadata"] == {"productId": missing}
    assert item["path"] == "productSet[0].product.id"


def test_unknown_gtin_without_product_data_is_not_found() -> None:
    gtin = unused_gtin()
    item = only(check(_by_reference({"id": gtin, "idType": "GTIN"})), "ProductNotFoundException")
    assert item["metadata"] == {"productId": gtin}


def test_unknown_gtin_with_product_data_creates_a_new_product() -> None:
    gtin = unused_gtin()
    product = new_phone_product(gtin)
    product["parameters"] = [p for p in product["parameters"] if p.get("id") != "225693"]
    product.update(id=gtin, idType="GTIN")
    result = check(offer_for_new_product(product))
    assert result.errors == [] and result.product_ids == [None]


def test_product_gtin_reference_with_a_bad_check_digit() -> None:
    result = check(_by_reference({"id": "5901234123458", "idType": "GTIN"}))
    assert codes(result)[0] == (
        "ConstraintViolationException.WrongChecksumInGtinParameter",
        "productSet[0].product.id",
    )


# -- new products matching the catalogue ---------------------------------------------


def _sony_as_new(*extra: dict[str, Any], category: str = "85166") -> dict[str, Any]:
    product = {
        "name": "Sony WH-1000XM5 czarne",
        "category": {"id": category},
        "parameters": [{"id": "225693", "values": [SONY_GTIN]}, *extra],
        "images": ["https://img.example.com/sony-xm5.jpg"],
    }
    return offer_for_new_product(product, category={"id": category})


def test_new_product_whose_gtin_is_in_the_catalogue_gets_linked() -> None:
    result = check(_sony_as_new({"id": "248811", "values": ["Sony"]}))
    assert result.errors == [] and result.product_ids == [SONY_ID]


def test_parameter_mismatch_with_the_catalogue_product() -> None:
    result = check(
        _sony_as_new({"id": "248811", "values": ["JBL"]}, {"id": "203725", "values": ["40"]})
    )
    mismatches = [e for e in result.errors if e["code"] == "PARAMETER_MISMATCH"]
    assert [e["metadata"]["parameterId"] for e in mismatches] == ["248811", "203725"]
    brand = mismatches[0]
    assert brand["path"] == "productSet[0].product.parameters"
    assert brand["metadata"]["productId"] == SONY_ID
    assert brand["metadata"]["currentParameterValue"] == "JBL"
    assert brand["metadata"]["expectedParameterValue"] == "Sony"
    assert brand["metadata"]["expectedParameterValueId"].startswith("248811_")
    hours = mismatches[1]["metadata"]
    assert (hours["currentParameterValue"], hours["expectedParameterValue"]) == ("40", "30")


def test_equal_numbers_are_no_mismatch() -> None:
    assert check(_sony_as_new({"id": "17448", "values": ["0.540"]})).errors == []


def test_category_mismatch_for_a_new_product() -> None:
    result = check(_sony_as_new(category="165"))
    item = only(result, "CATEGORY_MISMATCH")  # reported once, for the product
    assert item["path"] == "productSet[0].product.category.id"
    assert item["metadata"] == {
        "requestedCategoryId": "165",
        "requestedCategoryName": "Smartfony i telefony komórkowe",
        "existingCategoryId": "85166",
        "existingCategoryName": "Bezprzewodowe",
        "existingProductId": SONY_ID,
    }


def test_offer_category_must_fit_the_product() -> None:
    item = only(check(offer_for_product(category={"id": "165"})), "CATEGORY_MISMATCH")
    assert item["path"] == "category.id"
    assert item["metadata"]["existingCategoryId"] == "85166"


def test_offer_may_use_a_similar_category_of_the_product() -> None:
    assert check(offer_for_product(category={"id": "85167"})).errors == []


# -- the offer's category -----------------------------------------------------------


def test_unknown_category() -> None:
    item = only(check(offer_for_product(category={"id": "123456789"})), "CATEGORY_NOT_EXISTS")
    assert (item["path"], item["metadata"]) == ("category.id", {"categoryId": "123456789"})


def test_category_must_be_a_leaf() -> None:
    item = only(check(offer_for_product(category={"id": "4"})), "INVALID_CATEGORY_ID")
    assert (item["path"], item["metadata"]) == ("category.id", {"categoryId": "4"})


def test_new_product_category_must_be_a_leaf() -> None:
    product = new_phone_product(category={"id": "42540aec-367a-4e5e-b411-17c09b08e41f"})
    result = check(offer_for_new_product(product))
    assert ("INVALID_CATEGORY_ID", "productSet[0].product.category.id") in codes(result)


def test_new_product_takes_the_offer_category_when_it_has_none() -> None:
    product = new_phone_product()
    del product["category"]
    result = check(offer_for_new_product(product, category={"id": "165"}))
    assert result.errors == []


def test_new_product_needs_a_name_and_a_category() -> None:
    product = new_phone_product()
    del product["category"], product["name"]
    result = check(offer_for_new_product(product))
    assert ("ConstraintViolationException.NotNull", "productSet[0].product.name") in codes(result)
    assert ("ConstraintViolationException.NotNull", "productSet[0].product.category.id") in codes(
        result
    )


def test_new_product_name_at_most_75_characters() -> None:
    product = new_phone_product(name="Apple iPhone " + "x" * 70)
    result = check(offer_for_new_product(product, name="Apple iPhone 13 zielony 128 GB"))
    assert codes(result) == [
        ("ConstraintViolationException.StringLength", "productSet[0].product.name")
    ]


# -- the product set ----------------------------------------------------------------


def test_product_set_has_1_to_10_entries() -> None:
    empty = check(offer_for_product(productSet=[]))
    assert ("ConstraintViolationException.Size", "productSet") in codes(empty)
    eleven = [{"product": {"id": SONY_ID}}] * 11
    assert ("ConstraintViolationException.Size", "productSet") in codes(
        check(offer_for_product(productSet=eleven))
    )
    ten = [{"product": {"id": SONY_ID}}] * 10
    result = check(offer_for_product(productSet=ten))
    assert result.errors == [] and result.product_ids == [SONY_ID] * 10


def test_bundle_reports_each_entry_by_index() -> None:
    body = offer_for_product(
        productSet=[
            {"product": {"id": SONY_ID}},
            {"product": {"id": "00000000-0000-4000-8000-000000000000"}},
            {"product": {"id": _shared_gtin(), "idType": "GTIN"}, "quantity": {"value": 0}},
        ]
    )
    result = check(body)
    assert set(codes(result)) == {
        ("ProductNotFoundException", "productSet[1].product.id"),
        ("MultipleProductsFoundException", "productSet[2].product.id"),
        ("ConstraintViolationException.Min", "productSet[2].quantity.value"),
    }
    assert result.product_ids == [SONY_ID, None, None]


def test_entry_without_product() -> None:
    result = check(offer_for_product(productSet=[{"quantity": {"value": 1}}]))
    assert ("ConstraintViolationException.NotNull", "productSet[0].product") in codes(result)


def _required_offer_parameters(category_id: str) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for d in CATALOG.parameters(category_id) or []:
        if not d["required"] or d["options"]["describesProduct"]:
            continue
        if d["type"] == "dictionary":
            params.append({"id": d["id"], "valuesIds": [d["dictionary"][0]["id"]]})
        elif d["restrictions"].get("range"):
            low, high = d["restrictions"]["min"], d["restrictions"]["max"]
            params.append({"id": d["id"], "rangeValue": {"from": str(low), "to": str(high)}})
        else:
            params.append({"id": d["id"], "values": [str(d["restrictions"]["min"])]})
    return params


def test_every_catalogue_product_can_be_offered_with_offer_parameters_only() -> None:
    for product in CATALOG.products():
        body = {
            "productSet": [{"product": {"id": product["id"]}}],
            "parameters": _required_offer_parameters(product["category"]["id"]),
            "sellingMode": {"price": {"amount": "10.00", "currency": "PLN"}},
            "stock": {"available": 1},
        }
        result = check(body)
        assert result.errors == [], (product["name"], codes(result))
        assert result.product_ids == [product["id"]]
