"""categorize: override, exact, prefix (longest, on segments), default, UNMAPPED_CATEGORY;
check_leaf."""

from __future__ import annotations

from typing import Any

import pytest

from schemas import parse_mapping
from tests.unit.domain import category
from workers.domain.categorize import UNMAPPED_CATEGORY, categorize, check_leaf
from workers.domain.model import CategoryChoice, Rejected

MAPPING = parse_mapping(
    """\
version: 1
categories:
  exact:
    "Elektronika > Telefony > Smartfony": "165"
    "SKU-CAT-17": "259347"
    "Dom i ogród > Kuchnia > Kubki": "260556"
  prefix:
    "Dom i ogród": "257931"
    "Dom i ogród > Kuchnia": "67490"
    "Dom i ogród > Kuchnia > Ekspresy": "67461"
"""
)
WITH_DEFAULT = parse_mapping('version: 1\ncategories: {prefix: {"AGD": "67490"}, default: "491"}\n')


def product(category_path: str | None = None, **allegro: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"name": "Czajnik elektryczny stalowy 1,7 l"}
    if category_path is not None:
        result["category"] = category_path
    if allegro:
        result["allegro"] = allegro
    return result


def reason(exc: pytest.ExceptionInfo[Rejected]) -> str:
    (error,) = exc.value.errors
    assert error.code == UNMAPPED_CATEGORY
    assert error.user_message == error.message
    return error.message


def test_the_override_wins_over_every_mapping_rule() -> None:
    choice = categorize(product("Elektronika > Telefony > Smartfony", category_id="85166"), MAPPING)
    assert choice == CategoryChoice("85166", "override", "Elektronika > Telefony > Smartfony")


def test_the_override_works_without_a_mapping_or_store_category() -> None:
    assert categorize(product(category_id=" 165 "), None) == CategoryChoice("165", "override", None)


@pytest.mark.parametrize(
    "path",
    [
        "Elektronika > Telefony > Smartfony",
        "elektronika/telefony/smartfony",
        "  ELEKTRONIKA |Telefony|  Smartfony ",
        "Elektronika>Telefony>Smartfony",
    ],
)
def test_exact_paths_match_whatever_the_separators_spaces_and_case(path: str) -> None:
    assert categorize(product(path), MAPPING) == CategoryChoice("165", "exact", path.strip())


def test_exact_matches_a_store_category_id() -> None:
    assert categorize(product("SKU-CAT-17"), MAPPING).category_id == "259347"
    assert categorize(product("sku-cat-17"), MAPPING).source == "exact"


def test_exact_wins_over_a_longer_or_shorter_prefix() -> None:
    choice = categorize(product("Dom i ogród > Kuchnia > Kubki"), MAPPING)
    assert (choice.category_id, choice.source) == ("260556", "exact")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Dom i ogród > Kuchnia > Czajniki", "67490"),
        ("Dom i ogród > Kuchnia > Ekspresy > Kolbowe", "67461"),
        ("Dom i ogród > Kuchnia", "67490"),
        ("Dom i ogród > Ogród > Kosiarki", "257931"),
        # A prefix matches whole segments: "Kuchnia2" is not under "Kuchnia".
        ("Dom i ogród > Kuchnia2 > Garnki", "257931"),
    ],
)
def test_the_longest_prefix_on_whole_segments_wins(path: str, expected: str) -> None:
    choice = categorize(product(path), MAPPING)
    assert (choice.category_id, choice.source) == (expected, "prefix")


def test_a_prefix_does_not_match_a_longer_first_segment() -> None:
    with pytest.raises(Rejected):
        categorize(product("Dom i ogrody > Kuchnia"), MAPPING)


def test_the_default_takes_everything_else() -> None:
    assert categorize(product("Książki > Fantastyka"), WITH_DEFAULT) == CategoryChoice(
        "491", "default", "Książki > Fantastyka"
    )
    assert categorize(product("AGD > Czajniki"), WITH_DEFAULT).source == "prefix"


def test_an_unmapped_category_names_the_category_and_both_fixes() -> None:
    with pytest.raises(Rejected) as caught:
        categorize(product("Książki > Fantastyka"), MAPPING)
    message = reason(caught)
    assert 'Store category "Książki > Fantastyka" matches no entry' in message
    assert "categories.exact or categories.prefix in the mapping file" in message
    assert "categories.default" in message
    assert '"allegro": {"category_id": "<Allegro leaf id>"}' in message
    assert caught.value.errors[0].path == "category"


def test_without_a_mapping_file_only_overrides_are_categorized() -> None:
    with pytest.raises(Rejected) as caught:
        categorize(product("Elektronika > Telefony > Smartfony"), None)
    message = reason(caught)
    assert "no mapping file is configured (ALLEGRO_FEED_MAPPING_FILE)" in message
    assert "allegro" in message and "category_id" in message


def test_a_product_without_any_category_is_rejected() -> None:
    with pytest.raises(Rejected) as caught:
        categorize(product(), MAPPING)
    assert "no store category and no allegro.category_id" in reason(caught)


def test_a_leaf_category_passes() -> None:
    check_leaf(category("165"))


def test_a_non_leaf_category_is_rejected_with_its_name() -> None:
    with pytest.raises(Rejected) as caught:
        check_leaf(category("4"))
    message = reason(caught)
    assert 'Allegro category "Telefony i Akcesoria" (4) is not a leaf category' in message
    assert "offers can only be listed in a leaf category" in message
    assert caught.value.errors[0].path == "category.id"


def test_the_non_leaf_fix_names_where_the_id_came_from() -> None:
    with pytest.raises(Rejected) as caught:
        check_leaf(category("4"), CategoryChoice("4", "override", None))
    assert "Change the product's allegro.category_id" in reason(caught)

    with pytest.raises(Rejected) as caught:
        check_leaf(category("4"), CategoryChoice("4", "prefix", "Telefony"))
    assert 'the mapping file\'s categories.prefix entry for "Telefony"' in reason(caught)


def test_a_category_without_the_leaf_flag_is_not_trusted() -> None:
    with pytest.raises(Rejected):
        check_leaf({"id": "x", "name": "Bez flagi"})
