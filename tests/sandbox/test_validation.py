"""Offer validation: valid bodies, offer-level field rules, reporting of all errors at once.

The body builders here are shared with the other ``test_validation_*`` modules.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sandbox.catalog import Catalog, Seller
from sandbox.rules_common import gtin_problem
from sandbox.validation import DEFERRED_CODES, OfferCheck, validate_offer

CATALOG = Catalog.load_default()
SELLER = CATALOG.seller("seller")
SELLER_CZ = CATALOG.seller("seller-cz")
assert SELLER is not None and SELLER_CZ is not None

SONY_GTIN = "4548735214676"
SONY_ID = CATALOG.products_by_gtin(SONY_GTIN)[0]["id"]
IMAGE = "https://a.allegroimg.com/original/11aa22/5f0c3d9e8b7a4c1d2e3f4a5b"


def unused_gtin(prefix: str = "590123412") -> str:
    """A valid EAN-13 that no catalogue product carries."""
    for n in range(1000):
        body = f"{prefix}{n:03d}"
        for check in "0123456789":
            candidate = body + check
            if gtin_problem(candidate) is None and not CATALOG.products_by_gtin(candidate):
                return candidate
    raise AssertionError("no free GTIN")


def offer_for_product(**changes: Any) -> dict[str, Any]:
    """A complete, valid body for the Sony headphones from the catalogue."""
    body: dict[str, Any] = {
        "productSet": [{"product": {"id": SONY_ID}, "quantity": {"value": 1}}],
        "name": "Sony WH-1000XM5 słuchawki nauszne ANC czarne",
        "category": {"id": "85166"},
        "parameters": [
            {"id": "11323", "valuesIds": ["11323_1"]},
        ],
        "sellingMode": {"format": "BUY_NOW", "price": {"amount": "1299.00", "currency": "PLN"}},
        "stock": {"available": 5, "unit": "UNIT"},
        "images": [IMAGE],
        "description": {
            "sections": [
                {
                    "items": [
                        {
                            "type": "TEXT",
                            "content": "<h1>Sony WH-1000XM5</h1><p>Nowe, <b>oryginalne</b>.</p>",
                        }
                    ]
                },
                {
                    "items": [
                        {"type": "IMAGE", "url": IMAGE},
                        {"type": "TEXT", "content": "<ul><li>ANC</li><li>30 h</li></ul>"},
                    ]
                },
            ]
        },
        "external": {"id": "SKU-SONY-XM5"},
        "delivery": {"shippingRates": {"name": "default"}, "handlingTime": "PT24H"},
        "afterSalesServices": {
            "returnPolicy": {"name": "30 dni"},
            "impliedWarranty": {"name": "default"},
        },
        "location": {
            "countryCode": "PL",
            "province": "MAZOWIECKIE",
            "city": "Warszawa",
            "postCode": "00-950",
        },
        "payments": {"invoice": "VAT"},
        "language": "pl-PL",
    }
    body.update(changes)
    return body


def new_phone_product(gtin: str | None = None, **product_changes: Any) -> dict[str, Any]:
    """A valid new smartphone product for category 165 (not in the catalogue)."""
    product: dict[str, Any] = {
        "name": "Apple iPhone 13 128 GB zielony",
        "category": {"id": "165"},
        "parameters": [
            {"id": "225693", "values": [gtin or unused_gtin()]},
            {"id": "224017", "values": ["MLPH3PM/A"]},
            {"name": "Marka telefonu", "valuesIds": ["246705_598617"]},
            {"id": "246709", "values": ["iPhone 13"]},
            {"id": "202869", "values": ["128"]},
            {"id": "202749", "values": ["6.1"]},
            {"id": "202829", "valuesIds": ["202829_2"]},
            {"id": "127448", "valuesIds": ["127448_7"]},
            {"id": "17448", "values": ["0.28"]},
        ],
        "images": ["https://a.allegroimg.com/original/1b2c3d/iphone13-zielony"],
    }
    product.update(product_changes)
    return product


def offer_for_new_product(product: dict[str, Any] | None = None, **changes: Any) -> dict:
    body: dict[str, Any] = {
        "productSet": [{"product": product or new_phone_product()}],
        "parameters": [{"id": "11323", "values": ["Nowy"]}],
        "sellingMode": {"price": {"amount": "2199.99", "currency": "PLN"}},
        "stock": {"available": 3},
    }
    body.update(changes)
    return body


def check(body: dict[str, Any], seller: Seller = SELLER, **kwargs: Any) -> OfferCheck:
    return validate_offer(copy.deepcopy(body), CATALOG, seller, **kwargs)


def codes(result: OfferCheck) -> list[tuple[str, str | None]]:
    return [(e["code"], e["path"]) for e in result.errors]


def only(result: OfferCheck, code: str) -> dict[str, Any]:
    found = [e for e in result.errors if e["code"] == code]
    assert len(found) == 1, codes(result)
    return found[0]


# -- valid bodies -------------------------------------------------------------------


def test_valid_offer_for_a_catalogue_product() -> None:
    result = check(offer_for_product())
    assert result.errors == [] and result.pending == []
    assert result.product_ids == [SONY_ID]
    assert result.valid


def test_valid_offer_for_a_new_product() -> None:
    result = check(offer_for_new_product())
    assert result.errors == []
    assert result.product_ids == [None]
    assert result.filled["name"] == "Apple iPhone 13 128 GB zielony"
    assert result.filled["category.id"] == "165"


def test_smallest_body_by_gtin_needs_only_the_condition() -> None:
    body = {
        "productSet": [{"product": {"id": SONY_GTIN, "idType": "GTIN"}}],
        "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
        "sellingMode": {"price": {"amount": "220.85", "currency": "PLN"}},
        "stock": {"available": 10},
    }
    result = check(body)
    assert result.errors == []
    assert result.product_ids == [SONY_ID]
    # defaults the server stores: the only shipping rate, the policies named "default"
    assert result.filled["delivery.shippingRates"] == {"id": SELLER.shipping_rates[0]["id"]}
    assert set(result.filled) >= {
        "afterSalesServices.returnPolicy",
        "afterSalesServices.impliedWarranty",
        "name",
        "category.id",
    }


def test_draft_keeps_activation_problems_pending() -> None:
    body = offer_for_product(parameters=[], sellingMode=None, images=[])
    body["productSet"][0]["product"]["images"] = []
    body["stock"] = {"available": 0}
    result = check(body, activating=False)
    assert result.errors == []
    assert {e["code"] for e in result.pending} == {
        "ConstraintViolationException.MissingRequiredParameters",
        "ConstraintViolationException.NotNull",
        "ConstraintViolationException.MissingImages",
        "AvailableStockMustEqualToOneOrBeGreaterThanOne",
    }
    published = check(body)
    assert {e["code"] for e in published.errors} == {e["code"] for e in result.pending}
    assert published.pending == []


def test_all_errors_of_a_body_are_reported_together() -> None:
    body = offer_for_product(
        name="Za krótka",
        parameters=[{"id": "11323", "valuesIds": ["11323_999"]}],
        sellingMode={"price": {"amount": "0.50", "currency": "PLN"}},
        stock={"available": -1},
        external={"id": "x" * 101},
        images=["ftp://example.com/a.jpg"],
        delivery={"shippingRates": {"name": "ekspres"}},
    )
    found = {code for code, _ in codes(check(body))}
    assert found >= {
        "ConstraintViolationException.StringLength",
        "ConstraintViolationException.NotEnoughWords",
        "DictionaryParameterIdNotFound",
        "ConstraintViolationException.Price",
        "AvailableStockMustEqualToZeroOrBeGreaterThanZero",
        "ConstraintViolationException.ImageUrl",
        "ShippingRatesNotFoundException",
    }


def test_error_items_have_allegros_shape() -> None:
    result = check(offer_for_product(stock={"available": -3}))
    item = only(result, "AvailableStockMustEqualToZeroOrBeGreaterThanZero")
    assert set(item) == {"code", "message", "details", "path", "userMessage", "metadata"}
    assert item["path"] == "stock.available"
    assert isinstance(item["metadata"], dict)


# -- name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Krótka a b", "ConstraintViolationException.StringLength"),
        ("Słuchawki " + "bardzo " * 10 + "długa", "ConstraintViolationException.StringLength"),
        ("Słuchawkibezprzewodowe nauszne", "ConstraintViolationException.NotEnoughWords"),
        ("Słuchawki " + "x" * 31 + " czarne", "ConstraintViolationException.MaxWordLength"),
        ("Słuchawki Sony czarne \U0001f3a7", "ConstraintViolationException.CharacterNotAllowed"),
        ("Słuchawki Sony\tczarne nowe", "ConstraintViolationException.CharacterNotAllowed"),
    ],
)
def test_name_rules(name: str, code: str) -> None:
    assert (code, "name") in codes(check(offer_for_product(name=name)))


def test_name_counts_html_entities() -> None:
    # 71 characters as typed, but every "&" is stored as "&amp;" (5 characters)
    name = "Sony & JBL & Apple słuchawki nauszne bezprzewodowe czarne zestaw komplet"
    assert len(name) <= 75
    result = check(offer_for_product(name=name))
    assert ("ConstraintViolationException.StringLength", "name") in codes(result)
    assert check(offer_for_product(name="Sony & JBL słuchawki nauszne czarne")).errors == []


def test_name_accepts_letters_of_any_script_and_common_punctuation() -> None:
    name = "Słuchawki Žluťoučký kůň (2. gen.) 50% \u2013 100 zł, \u201enowe\u201d!"
    assert check(offer_for_product(name=name)).errors == []


# -- price, currency, marketplaces --------------------------------------------------


@pytest.mark.parametrize("amount", ["0.99", "1000000000.01", "12.345", "abc", "-5", "1,50"])
def test_price_out_of_bounds_or_malformed(amount: str) -> None:
    body = offer_for_product(sellingMode={"price": {"amount": amount, "currency": "PLN"}})
    assert only(check(body), "ConstraintViolationException.Price")["path"] == (
        "sellingMode.price.amount"
    )


@pytest.mark.parametrize("amount", ["1", "1.5", "1000000000.00", "19.99"])
def test_price_bounds_inclusive(amount: str) -> None:
    body = offer_for_product(sellingMode={"price": {"amount": amount, "currency": "PLN"}})
    assert check(body).errors == []


def test_price_must_be_in_the_sellers_currency() -> None:
    body = offer_for_product(sellingMode={"price": {"amount": "10.00", "currency": "EUR"}})
    item = only(check(body), "ConstraintViolationException.Currency")
    assert item["path"] == "sellingMode.price.currency"
    assert item["metadata"] == {"expectedCurrency": "PLN", "requestedCurrency": "EUR"}
    czech = offer_for_product(
        sellingMode={"price": {"amount": "999", "currency": "CZK"}},
        location=None,
        afterSalesServices=None,
    )
    assert check(czech, SELLER_CZ).errors == []
    in_pln = offer_for_product(location=None, afterSalesServices=None)
    assert codes(check(in_pln, SELLER_CZ)) == [
        ("ConstraintViolationException.Currency", "sellingMode.price.currency")
    ]


def test_missing_price_blocks_activation_only() -> None:
    body = offer_for_product(sellingMode={"format": "BUY_NOW"})
    assert ("ConstraintViolationException.NotNull", "sellingMode.price") in codes(check(body))
    assert check(body, activating=False).errors == []


def test_additional_marketplaces() -> None:
    body = offer_for_product(
        additionalMarketplaces={
            "allegro-cz": {"sellingMode": {"price": {"amount": "1299", "currency": "PLN"}}},
            "allegro-pl": {"sellingMode": {"price": {"amount": "1", "currency": "PLN"}}},
            "allegro-xx": {},
        }
    )
    found = codes(check(body))
    assert (
        "ConstraintViolationException.Currency",
        "additionalMarketplaces.allegro-cz.sellingMode.price.currency",
    ) in found
    assert (
        "BaseMarketplaceInAdditionalMarketplacesException",
        "additionalMarketplaces.allegro-pl",
    ) in found
    assert (
        "UnsupportedAdditionalMarketplaceException",
        "additionalMarketplaces.allegro-xx",
    ) in found
    ok = offer_for_product(
        additionalMarketplaces={
            "allegro-cz": {"sellingMode": {"price": {"amount": "1299", "currency": "CZK"}}}
        }
    )
    assert check(ok).errors == []


# -- stock --------------------------------------------------------------------------


def test_negative_stock() -> None:
    result = check(offer_for_product(stock={"available": -1}), activating=False)
    assert codes(result) == [
        ("AvailableStockMustEqualToZeroOrBeGreaterThanZero", "stock.available")
    ]


def test_zero_stock_fails_activation_and_is_a_deferred_code() -> None:
    result = check(offer_for_product(stock={"available": 0}))
    item = only(result, "AvailableStockMustEqualToOneOrBeGreaterThanOne")
    assert item["path"] == "stock.available"
    assert item["message"] == "The listed quantity cannot be less than 1."
    now, later = result.split()
    assert now == [] and later == [item]
    assert "AvailableStockMustEqualToOneOrBeGreaterThanOne" in DEFERRED_CODES


def test_zero_stock_is_fine_for_a_draft_or_an_ending_patch() -> None:
    result = check(offer_for_product(stock={"available": 0}), activating=False)
    assert result.errors == []
    assert [e["code"] for e in result.pending] == ["AvailableStockMustEqualToOneOrBeGreaterThanOne"]


def test_stock_is_required() -> None:
    body = offer_for_product()
    del body["stock"]
    assert ("ConstraintViolationException.NotNull", "stock") in codes(check(body, activating=False))


# -- images, external id ------------------------------------------------------------


def test_gallery_counts_product_images() -> None:
    product_images = len(CATALOG.product(SONY_ID)["images"])  # type: ignore[index]
    own = [f"https://img.example.com/{n}.jpg" for n in range(17 - product_images)]
    item = only(check(offer_for_product(images=own)), "GallerySizeException")
    assert item["metadata"] == {"gallerySizeLimit": "16"}
    body = offer_for_product(images=own)
    body["productSet"][0]["product"]["images"] = []  # use only the offer's own images
    assert check(body).errors == []


def test_image_urls_must_be_http() -> None:
    result = check(offer_for_product(images=[IMAGE, "ftp://example.com/x.jpg", "x"]))
    assert [p for c, p in codes(result) if c == "ConstraintViolationException.ImageUrl"] == [
        "images[1]",
        "images[2]",
    ]


def test_at_least_one_image_to_activate() -> None:
    body = offer_for_product(images=[])
    body["productSet"][0]["product"]["images"] = []
    assert ("ConstraintViolationException.MissingImages", "images") in codes(check(body))


def test_external_id_at_most_100_characters() -> None:
    assert check(offer_for_product(external={"id": "x" * 100})).errors == []
    assert codes(check(offer_for_product(external={"id": "x" * 101}))) == [
        ("ConstraintViolationException.StringLength", "external.id")
    ]


# -- shipping rates and after-sales services ----------------------------------------


def test_services_by_id_or_name_must_belong_to_the_seller() -> None:
    body = offer_for_product(
        delivery={"shippingRates": {"id": "3f1e9a52-1111-4c2b-9d3e-000000000000"}},
        afterSalesServices={
            "returnPolicy": {"name": "60 dni"},
            "impliedWarranty": {"id": "3f1e9a52-2222-4c2b-9d3e-000000000000"},
            "warranty": {"name": "Gwarancja 5 lat"},
        },
    )
    result = check(body)
    assert codes(result) == [
        ("ShippingRatesNotFoundException", "delivery.shippingRates"),
        ("ReturnPolicyNotFoundException", "afterSalesServices.returnPolicy"),
        ("ImpliedWarrantyNotFoundException", "afterSalesServices.impliedWarranty"),
        ("WarrantyNotFoundException", "afterSalesServices.warranty"),
    ]
    assert only(result, "ReturnPolicyNotFoundException")["metadata"]["requestedName"] == "60 dni"


def test_services_of_another_seller_are_not_found() -> None:
    cz_rate = SELLER_CZ.shipping_rates[0]["id"]
    body = offer_for_product(delivery={"shippingRates": {"id": cz_rate}})
    assert codes(check(body)) == [("ShippingRatesNotFoundException", "delivery.shippingRates")]


def test_default_services_need_a_single_or_default_entry() -> None:
    picky = Seller(
        login="picky",
        user_id="1",
        marketplace="allegro-pl",
        currency="PLN",
        shipping_rates=({"id": "a1", "name": "Kurier"}, {"id": "a2", "name": "Paczkomat"}),
        return_policies=({"id": "b1", "name": "14 dni"}, {"id": "b2", "name": "30 dni"}),
        implied_warranties=({"id": "c1", "name": "jedyna"},),
        warranties=(),
    )
    body = offer_for_product(delivery=None, afterSalesServices=None)
    result = check(body, picky)
    assert codes(result) == [
        ("DefaultShippingRatesNotFoundException", "delivery.shippingRates"),
        ("DefaultReturnPolicyNotFoundException", "afterSalesServices.returnPolicy"),
    ]
    assert result.filled["afterSalesServices.impliedWarranty"] == {"id": "c1"}


def test_handling_time_values() -> None:
    for ok in ("PT0S", "PT48H", "P30D"):
        assert check(offer_for_product(delivery={"handlingTime": ok})).errors == []
    assert codes(check(offer_for_product(delivery={"handlingTime": "P1W"}))) == [
        ("ConstraintViolationException.HandlingTime", "delivery.handlingTime")
    ]


# -- location, language, publication -------------------------------------------------


def test_polish_location_needs_a_province_code_and_post_code_format() -> None:
    body = offer_for_product(
        location={
            "countryCode": "PL",
            "province": "Mazowieckie",
            "city": "Warszawa",
            "postCode": "00950",
        }
    )
    assert codes(check(body)) == [
        ("ConstraintViolationException.Province", "location.province"),
        ("ConstraintViolationException.PostCode", "location.postCode"),
    ]


def test_language_and_duration() -> None:
    body = offer_for_product(language="de-DE", publication={"duration": "P2D"})
    assert codes(check(body)) == [
        ("UnsupportedLanguageException", "language"),
        ("ConstraintViolationException.Duration", "publication.duration"),
    ]
