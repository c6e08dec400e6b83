"""Offer-level rules of the local offer validation: name, price, stock, publication, external
id, images, delivery, unknown properties (FACTS.md §6, §8)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.offer import OfferRequest
from workers.domain.rules_text import name_length
from workers.domain.validate import validate_offer

IMAGE = "https://shop.example/img/1.jpg"
LINKED_PRODUCT = "8b6270a8-06c6-4ad7-a9c2-7443a79ea4ab"
CONDITION = {
    "id": "11323",
    "name": "Stan",
    "type": "dictionary",
    "required": True,
    "requiredForProduct": False,
    "requiredIf": None,
    "options": {"describesProduct": False, "ambiguousValueId": None},
    "dictionary": [{"id": "11323_1", "value": "Nowy", "dependsOnValueIds": []}],
    "restrictions": {"multipleChoices": False},
}


def body() -> dict[str, Any]:
    """A new product's body that passes every rule."""
    return {
        "productSet": [
            {
                "product": {
                    "name": "Słuchawki Acme X200 czarne",
                    "category": {"id": "165"},
                    "images": [IMAGE],
                }
            }
        ],
        "name": "Słuchawki Acme X200 czarne",
        "category": {"id": "165"},
        "parameters": [{"id": "11323", "valuesIds": ["11323_1"]}],
        "description": {"sections": [{"items": [{"type": "TEXT", "content": "<p>Opis</p>"}]}]},
        "external": {"id": "AH-129834"},
        "stock": {"available": 5, "unit": "UNIT"},
        "sellingMode": {"format": "BUY_NOW", "price": {"amount": "129.99", "currency": "PLN"}},
        "images": [IMAGE],
        "delivery": {"handlingTime": "PT24H", "shippingRates": {"name": "default"}},
    }


def run(data: Any, *, linked: bool = False, currency: str = "PLN") -> list[Any]:
    return validate_offer(data, [CONDITION], currency=currency, catalogue_linked=linked)


def codes(data: Any, *, linked: bool = False, currency: str = "PLN") -> list[str]:
    return [e.code for e in run(data, linked=linked, currency=currency)]


def test_the_reference_body_passes_here_and_in_the_schema() -> None:
    assert run(body()) == []
    OfferRequest.model_validate(body())


def test_not_an_object() -> None:
    [problem] = run(["not", "a", "body"])
    assert problem.code == "JsonMappingException"
    assert problem.path is None


def test_every_error_has_allegros_shape() -> None:
    data = body()
    data["name"] = "Bad&x"  # 9 characters as Allegro counts them, 1 word
    data["stock"] = {"available": -1, "unit": "BOX"}
    data["sellingMode"]["price"] = {"amount": "0.5", "currency": "EUR"}
    data["images"] = ["ftp://x/1.jpg"]
    data["productSet"][0]["product"]["images"] = []
    found = run(data)
    assert [e.code for e in found] == [
        "ConstraintViolationException.StringLength",
        "ConstraintViolationException.NotEnoughWords",
        "ConstraintViolationException.Price",
        "ConstraintViolationException.Currency",
        "AvailableStockMustEqualToZeroOrBeGreaterThanZero",
        "ConstraintViolationException.StockUnit",
        "ConstraintViolationException.ImageUrl",
        "GallerySizeException",
    ]
    for error in found:
        dumped = error.model_dump()
        assert set(dumped) == {"code", "message", "path", "userMessage"}
        assert error.path and error.message and error.user_message


# --- name -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("abc", 3),
        ("a & b", 9),
        ("a < b > c", 15),
        ('say "hi"', 18),
        ("it's", 4),
        ("zażółć", 6),
    ],
)
def test_name_length_counts_entities(text: str, length: int) -> None:
    assert name_length(text) == length


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Abc defgh ijk", []),  # 13
        ("Ab cdefg hij", []),  # 12
        ("Ab cdefg hi", ["ConstraintViolationException.StringLength"]),  # 11
        ("Word " * 14 + "abcde", []),  # 75
        ("Word " * 14 + "abcdef", ["ConstraintViolationException.StringLength"]),  # 76
        ("Word " * 14 + "abc&", ["ConstraintViolationException.StringLength"]),  # 74 + 4
        ("Word " * 13 + "ab & c", []),  # 71 + 4 = 75
        ("Twowords only!", ["ConstraintViolationException.NotEnoughWords"]),
        ("Kabel " + "x" * 31 + " USB", ["ConstraintViolationException.MaxWordLength"]),
        ("Kabel " + "x" * 30 + " USB", []),
        ("Kabel USB\ttyp C 2 m", ["CharacterNotAllowed"]),
    ],
)
def test_name_rules(name: str, expected: list[str]) -> None:
    data = body()
    data["name"] = name
    assert codes(data) == expected


def test_name_message_explains_the_entity_count() -> None:
    data = body()
    data["name"] = "Word " * 14 + "abc&"
    [problem] = run(data)
    assert problem.path == "name"
    assert "counts 78" in problem.message
    assert problem.user_message and "& as 5" in problem.user_message
    assert problem.user_message.startswith("Shorten the product name in the store")


def test_name_of_the_wrong_type() -> None:
    data = body()
    data["name"] = 12345
    assert codes(data) == ["JsonMappingException"]


def test_without_name_the_product_name_is_the_title() -> None:
    data = body()
    del data["name"]
    data["productSet"][0]["product"]["name"] = "Too short x"
    found = run(data)
    assert [(e.code, e.path) for e in found] == [
        ("ConstraintViolationException.StringLength", "productSet[0].product.name"),
    ]


def test_product_name_at_most_75() -> None:
    data = body()
    data["productSet"][0]["product"]["name"] = "x " * 38  # 76
    assert [(e.code, e.path) for e in run(data)] == [
        ("ConstraintViolationException.StringLength", "productSet[0].product.name"),
    ]


def test_new_product_without_any_name() -> None:
    data = body()
    del data["name"]
    del data["productSet"][0]["product"]["name"]
    assert codes(data) == ["ConstraintViolationException.MissingName"]


def test_new_product_without_category() -> None:
    data = body()
    del data["category"]
    del data["productSet"][0]["product"]["category"]
    assert codes(data) == ["ConstraintViolationException.MissingCategory"]


def test_catalogue_product_needs_no_name_category_or_images() -> None:
    data = body()
    data["productSet"] = [{"product": {"id": LINKED_PRODUCT}}]
    for key in ("name", "category", "images"):
        del data[key]
    assert run(data, linked=True) == []


# --- price ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "ok"),
    [
        ("1", True),
        ("1.00", True),
        ("129.9", True),
        ("1000000000", True),
        ("1000000000.00", True),
        ("0.99", False),
        ("0", False),
        ("1000000000.01", False),
        ("129.999", False),
        ("-5", False),
        ("12,50", False),
        ("1e3", False),
        ("0129.99", False),
        (129.99, False),
        (None, False),
    ],
)
def test_price_amount(amount: Any, ok: bool) -> None:
    data = body()
    data["sellingMode"]["price"]["amount"] = amount
    found = run(data)
    assert [e.code for e in found] == ([] if ok else ["ConstraintViolationException.Price"])
    assert all(e.path == "sellingMode.price.amount" for e in found)


def test_price_must_be_in_the_marketplace_currency() -> None:
    [problem] = run(body(), currency="CZK")
    assert problem.code == "ConstraintViolationException.Currency"
    assert problem.path == "sellingMode.price.currency"
    assert problem.user_message and "CZK" in problem.user_message


def test_price_missing() -> None:
    data = body()
    del data["sellingMode"]
    assert codes(data) == ["ConstraintViolationException.Price"]


def test_selling_format() -> None:
    data = body()
    data["sellingMode"]["format"] = "RAFFLE"
    assert codes(data) == ["ConstraintViolationException.SellingModeFormat"]


# --- stock and publication --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stock", "expected"),
    [
        ({"available": 1}, []),
        ({"available": 3, "unit": "PAIR"}, []),
        ({"available": 3, "unit": "SET"}, []),
        ({"available": -1, "unit": "UNIT"}, ["AvailableStockMustEqualToZeroOrBeGreaterThanZero"]),
        ({"available": "5"}, ["JsonMappingException"]),
        ({"available": True}, ["JsonMappingException"]),
        ({"available": 2.5}, ["JsonMappingException"]),
        ({"available": 2**31}, ["ConstraintViolationException.Stock"]),
        ({"available": 1, "unit": "BOX"}, ["ConstraintViolationException.StockUnit"]),
        (None, ["ConstraintViolationException.Stock"]),
    ],
)
def test_stock(stock: dict[str, Any] | None, expected: list[str]) -> None:
    data = body()
    if stock is None:
        del data["stock"]
    else:
        data["stock"] = stock
    assert codes(data) == expected


def test_stock_zero_needs_a_draft() -> None:
    data = body()
    data["stock"]["available"] = 0
    [problem] = run(data)
    assert problem.code == "AvailableStockMustEqualToOneOrBeGreaterThanOne"
    data["publication"] = {"status": "INACTIVE"}
    assert run(data) == []


def test_publication_status_of_a_new_offer() -> None:
    data = body()
    data["publication"] = {"status": "ENDED"}
    assert codes(data) == ["ConstraintViolationException.PublicationStatus"]


# --- external id, images, delivery ------------------------------------------------------------


def test_external_id_length() -> None:
    data = body()
    data["external"]["id"] = "x" * 100
    assert run(data) == []
    data["external"]["id"] = "x" * 101
    [problem] = run(data)
    assert (problem.code, problem.path) == (
        "ConstraintViolationException.StringLength",
        "external.id",
    )
    data["external"]["id"] = ""
    assert codes(data) == ["ConstraintViolationException.StringLength"]


def test_images_are_http_urls() -> None:
    data = body()
    data["images"] = [IMAGE, "ftp://shop.example/2.jpg", "/relative.jpg", "", 5]
    found = run(data)
    assert [(e.code, e.path) for e in found] == [
        ("ConstraintViolationException.ImageUrl", "images[1]"),
        ("ConstraintViolationException.ImageUrl", "images[2]"),
        ("ConstraintViolationException.ImageUrl", "images[3]"),
        ("ConstraintViolationException.ImageUrl", "images[4]"),
    ]


def test_a_new_product_needs_an_image() -> None:
    data = body()
    del data["images"]
    data["productSet"][0]["product"]["images"] = []
    [problem] = run(data)
    assert (problem.code, problem.path) == ("GallerySizeException", "images")


def test_catalogue_product_may_bring_all_images() -> None:
    data = body()
    data["productSet"] = [{"product": {"id": LINKED_PRODUCT}}]
    del data["images"]
    assert run(data, linked=True) == []


def test_at_most_16_images_counting_the_products() -> None:
    data = body()
    own = [f"https://shop.example/{i}.jpg" for i in range(10)]
    data["images"] = own
    data["productSet"][0]["product"]["images"] = own[:5] + [
        f"https://shop.example/p{i}.jpg" for i in range(6)
    ]
    assert run(data) == []  # 16 distinct
    data["productSet"][0]["product"]["images"].append("https://shop.example/p7.jpg")
    assert codes(data) == ["GallerySizeException"]


def test_handling_time() -> None:
    data = body()
    for good in ("PT0S", "PT24H", "PT48H", "P2D", "P60D"):
        data["delivery"]["handlingTime"] = good
        assert run(data) == []
    data["delivery"]["handlingTime"] = "2 days"
    assert codes(data) == ["ConstraintViolationException.HandlingTime"]


# --- unknown properties -----------------------------------------------------------------------


def test_unknown_properties_are_reported_with_their_paths() -> None:
    data = body()
    data["colour"] = "black"
    data["publication"] = {"status": "INACTIVE", "endedBy": "USER", "marketplaces": {}}
    data["sellingMode"]["price"]["gross"] = True
    data["productSet"][0]["product"]["publication"] = {"status": "LISTED"}
    data["parameters"][0]["unit"] = "kg"
    found = [(e.code, e.path) for e in run(data)]
    assert found == [
        ("UnknownJSONProperty", "productSet[0].product.publication"),
        ("UnknownJSONProperty", "parameters[0].unit"),
        ("UnknownJSONProperty", "sellingMode.price.gross"),
        ("UnknownJSONProperty", "colour"),
        ("UnknownJSONProperty", "publication.endedBy"),
        ("UnknownJSONProperty", "publication.marketplaces"),
    ]


def test_request_fields_from_allegros_examples_are_known() -> None:
    data = body()
    data.update(
        {
            "afterSalesServices": {"impliedWarranty": {"name": "zabawki"}},
            "location": {
                "countryCode": "PL",
                "province": "LUBUSKIE",
                "city": "X",
                "postCode": "66-400",
            },
            "payments": {"invoice": "NO_INVOICE"},
            "language": "pl-PL",
        }
    )
    data["productSet"][0]["quantity"] = {"value": 1}
    data["description"]["sections"].append(
        {"items": [{"type": "IMAGE", "url": IMAGE}, {"type": "TEXT", "content": "<p>x</p>"}]}
    )
    assert run(data) == []
