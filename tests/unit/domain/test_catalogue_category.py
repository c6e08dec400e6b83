"""The linked catalogue product against the offer (FACTS.md §6): its category (audit #7),
its images in the offer's 1-16 (audit #8), and the product parameters it supplies when the
store's value does not convert (audit #9)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.domain import catalogue, category_parameters
from tests.unit.domain.test_enrich import MAPPING, phone, rejected, run
from workers.domain.catalogue_link import catalogue_category, category_fits
from workers.domain.model import CategoryChoice
from workers.domain.rules_common import Code
from workers.domain.validate import validate_offer

IPHONE_EAN = "0194253215431"  # catalogue product in 165 "Smartfony", no similar categories
SONY_EAN = "4548735214676"  # catalogue product in 85166, similar: 85167
MAPPED_HEADPHONES = CategoryChoice("85166", "prefix", "Elektronika > Audio")
DEFAULTED_HEADPHONES = CategoryChoice("85166", "default", "Elektronika > Inne")
OVERRIDDEN_HEADPHONES = CategoryChoice("85166", "override", None)


def iphone() -> dict[str, Any]:
    [item] = catalogue(ean=IPHONE_EAN)
    return item


# --- the category (audit #7) ------------------------------------------------------------------


def test_a_category_fits_the_product_or_one_of_its_similar_ones() -> None:
    [sony] = catalogue(ean=SONY_EAN)
    assert category_fits(sony, "85166") and category_fits(sony, "85167")
    assert not category_fits(sony, "165")
    assert category_fits({"id": "x"}, "165")  # its category unknown: Allegro decides


def test_a_similar_category_keeps_the_link() -> None:
    [sony] = catalogue(ean=SONY_EAN)
    product = {"name": "Sony WH-1000XM5 czarne", "ean": SONY_EAN, "brand": "Sony"}
    choice = CategoryChoice("85167", "exact", "Audio > Przewodowe")
    result = run(product, choice, found=[sony], parameters=category_parameters("85167"))
    assert result.product_id == sony["id"] and result.category_id == "85167"


def test_an_ean_match_in_a_category_the_mapping_chose_is_rejected() -> None:
    # The offer would carry the EAN, which Allegro links to the iPhone in 165 whatever the
    # body says: CATEGORY_MISMATCH either way, so it is refused before any write.
    [error] = rejected(phone(attributes={}), MAPPED_HEADPHONES, found=[iphone()])
    assert (error.code, error.path) == ("CATEGORY_MISMATCH", "category")
    assert error.message == (
        "Allegro category 85166 (from the mapping file's categories.prefix entry for "
        f'"Elektronika > Audio") does not fit catalogue product {iphone()["id"]} ("Apple '
        f"iPhone 15 128 GB czarny\") that the product's EAN {IPHONE_EAN} names, which Allegro "
        'lists in category 165 "Smartfony i telefony komórkowe": Allegro links an offer with '
        "this EAN to it and would answer CATEGORY_MISMATCH. Set allegro.category_id to one of "
        "these or change the mapping file's categories.prefix entry for \"Elektronika > "
        'Audio".'
    )


def test_an_explicit_product_id_in_another_category_is_rejected_naming_the_override() -> None:
    item = iphone()
    product = phone(attributes={}, allegro={"product_id": item["id"], "category_id": "85166"})
    [error] = rejected(product, OVERRIDDEN_HEADPHONES, found=[item])
    assert (error.code, error.path) == ("CATEGORY_MISMATCH", "allegro.category_id")
    assert "of allegro.product_id" in error.message
    assert 'category 165 "Smartfony i telefony komórkowe"' in error.message
    assert error.message.endswith(
        "Set allegro.category_id to one of these or send the allegro.product_id of a "
        "product listed in 85166."
    )


def test_an_mpn_match_that_does_not_fit_is_described_as_a_new_product() -> None:
    # No EAN goes out, so Allegro has nothing to link it by: a new product in 85166.
    product = phone(ean=None, attributes={})
    result = run(product, MAPPED_HEADPHONES, found=[iphone()])
    assert result.product_id is None and result.category_id == "85166"
    assert result.catalogue_images is None
    assert any(
        note.startswith(f"catalogue product {iphone()['id']}") and "not linked" in note
        for note in result.notes
    )


def test_the_mappings_default_gives_way_to_the_catalogue_products_category() -> None:
    choice, notes = catalogue_category(phone(), DEFAULTED_HEADPHONES, [iphone()])
    assert choice == CategoryChoice("165", "catalogue", "Elektronika > Inne")
    assert notes == [
        f'catalogue product {iphone()["id"]} ("Apple iPhone 15 128 GB czarny") is listed in '
        'category 165 "Smartfony i telefony komórkowe", not in 85166 (the mapping file\'s '
        "categories.default): the offer goes to the catalogue product's category"
    ]
    # ... and the product is then linked there.
    assert run(phone(), choice, found=[iphone()]).product_id == iphone()["id"]


@pytest.mark.parametrize("choice", [MAPPED_HEADPHONES, OVERRIDDEN_HEADPHONES])
def test_a_category_chosen_for_the_product_is_never_replaced(choice: CategoryChoice) -> None:
    assert catalogue_category(phone(), choice, [iphone()]) == (choice, [])


def test_a_fitting_default_or_no_link_keeps_the_default() -> None:
    fitting = CategoryChoice("165", "default", None)
    assert catalogue_category(phone(), fitting, [iphone()]) == (fitting, [])
    assert catalogue_category(phone(), DEFAULTED_HEADPHONES, []) == (DEFAULTED_HEADPHONES, [])


# --- the images (audit #8) --------------------------------------------------------------------


def _linked_body(images: list[str] | None, *, replaced: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "productSet": [{"product": {"id": iphone()["id"]}}],
        "name": "Apple iPhone 15 128 GB czarny",
        "category": {"id": "165"},
        "external": {"id": "SKU-1"},
        "stock": {"available": 1, "unit": "UNIT"},
        "sellingMode": {"format": "BUY_NOW", "price": {"amount": "10.00", "currency": "PLN"}},
    }
    if images is not None:
        body["images"] = images
    if replaced:
        body["productSet"][0]["product"]["images"] = []
    return body


def _gallery(body: dict[str, Any], catalogue_images: int | None) -> list[tuple[str, str | None]]:
    found = validate_offer(
        body, [], currency="PLN", catalogue_linked=True, catalogue_images=catalogue_images
    )
    return [(e.code, e.path) for e in found if e.code == Code.GALLERY_SIZE]


URLS = [f"https://shop.example/img/{n}.jpg" for n in range(16)]


def test_enrich_carries_how_many_images_the_catalogue_product_has() -> None:
    assert run(phone(), found=[iphone()]).catalogue_images == 2
    assert run(phone()).catalogue_images is None


def test_the_catalogue_products_images_count_unless_the_body_replaces_them() -> None:
    assert _gallery(_linked_body(URLS, replaced=False), 4) == [(Code.GALLERY_SIZE, "images")]
    assert _gallery(_linked_body(URLS, replaced=True), 4) == []
    assert _gallery(_linked_body(None, replaced=False), 4) == []


def test_no_images_anywhere_is_refused_when_the_catalogue_has_none() -> None:
    [error] = [
        e
        for e in validate_offer(
            _linked_body(None, replaced=False),
            [],
            currency="PLN",
            catalogue_linked=True,
            catalogue_images=0,
        )
        if e.code == Code.GALLERY_SIZE
    ]
    assert "add an image in the store" in (error.user_message or "")
    # Not knowing the catalogue product's images, an empty gallery is Allegro's to judge.
    assert _gallery(_linked_body(None, replaced=False), None) == []
    assert _gallery(_linked_body([], replaced=True), 2) == [(Code.GALLERY_SIZE, "images")]


# --- product parameters the catalogue supplies (audit #9) -------------------------------------


def _without_ean(item: dict[str, Any] | None = None) -> dict[str, Any]:
    """The phone without an EAN (so "Kod producenta" is required by its requiredIf), an
    MPN over its 35 characters, linked by allegro.product_id when ``item`` is given."""
    allegro = {"product_id": item["id"]} if item is not None else None
    return phone(ean=None, mpn="X" * 40, attributes={}, allegro=allegro)


def test_a_bad_store_value_the_catalogue_supplies_is_a_note_when_linked() -> None:
    item = iphone()
    result = run(_without_ean(item), found=[item], mapping=MAPPING)
    assert result.product_id == item["id"]
    assert "224017" not in {p["id"] for p in result.product_parameters}
    assert any(
        "Kod producenta" in note and f"(not sent: left to catalogue product {item['id']})" in note
        for note in result.notes
    )


def test_the_same_bad_value_rejects_a_new_product() -> None:
    errors = rejected(_without_ean())
    assert [(e.code, e.path) for e in errors] == [
        ("ConstraintViolationException.StringLength", "mpn")
    ]


def test_a_required_parameter_the_catalogue_product_lacks_still_rejects() -> None:
    item = iphone()
    item["parameters"] = [p for p in item["parameters"] if p["id"] != "224017"]
    errors = rejected(_without_ean(item), found=[item])
    assert [e.path for e in errors] == ["mpn"]


def test_an_offer_parameter_still_rejects_when_linked() -> None:
    errors = rejected(phone(attributes={"stan": "Zepsuty"}), found=[iphone()])
    assert [e.path for e in errors] == ["attributes.stan"]
