"""Offer validation: parameters against the category's definitions."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.rules_parameters import ParameterSet, read_parameters
from tests.sandbox.test_validation import (
    CATALOG,
    check,
    codes,
    new_phone_product,
    offer_for_new_product,
    offer_for_product,
    only,
    unused_gtin,
)

STAN_NOWY = {"id": "11323", "valuesIds": ["11323_1"]}


def _with_offer_params(*params: dict[str, Any]) -> dict[str, Any]:
    return offer_for_product(parameters=[STAN_NOWY, *params])


def _phone_with(replace: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """A new-phone offer whose product parameters are replaced (None removes) by id."""
    product = new_phone_product()
    params = []
    for param in product["parameters"]:
        key = param.get("id") or param.get("name")
        if key in replace:
            if replace[key] is not None:
                params.append(replace[key])
        else:
            params.append(param)
    params += [
        p
        for k, p in replace.items()
        if p is not None and k not in {q.get("id") or q.get("name") for q in product["parameters"]}
    ]
    product["parameters"] = params
    return offer_for_new_product(product)


# -- required parameters ------------------------------------------------------------


def test_missing_required_offer_parameters() -> None:
    item = only(
        check(offer_for_product(parameters=[])),
        "ConstraintViolationException.MissingRequiredParameters",
    )
    assert item["path"] == "parameters"
    assert item["message"] == "Missing required parameters: 11323"
    assert item["userMessage"] == "Missing mandatory parameters: Stan."
    assert item["metadata"] == {}


def test_required_product_parameters_of_a_new_product() -> None:
    result = check(_phone_with({"202869": None, "Marka telefonu": None}))
    item = only(result, "ConstraintViolationException.MissingRequiredParameters")
    assert item["path"] == "productSet[0].product.parameters"
    assert "202869" in item["message"] and "246705" in item["message"]


def test_required_for_product_applies_to_drafts_too() -> None:
    result = check(_phone_with({"202869": None}), activating=False)
    assert codes(result) == [
        (
            "ConstraintViolationException.MissingRequiredParameters",
            "productSet[0].product.parameters",
        )
    ]


def test_catalogue_product_needs_no_product_parameters() -> None:
    # The catalogue product already carries brand, type, colour ...: nothing is missing.
    assert check(offer_for_product()).errors == []


def test_required_if_parameters_with_value() -> None:
    dual_sim = {"id": "202829", "valuesIds": ["202829_1"]}
    item = only(
        check(_phone_with({"202829": dual_sim})),
        "ConstraintViolationException.MissingRequiredParameters",
    )
    assert item["message"] == "Missing required parameters: 202833"
    second_sim = {"id": "202833", "values": ["eSIM"]}
    assert check(_phone_with({"202829": dual_sim, "202833": second_sim})).errors == []


def test_required_if_parameters_without_value() -> None:
    # Phone cases: no GTIN needed for a product, but then the manufacturer code is.
    product = {
        "name": "Etui pancerne do Galaxy S24 czarne",
        "category": {"id": "259347"},
        "parameters": [
            {"id": "248817", "values": ["Spigen"]},
            {"id": "202941", "values": ["pancerne"]},
        ],
        "images": ["https://img.example.com/etui.jpg"],
    }
    item = only(
        check(offer_for_new_product(product)),
        "ConstraintViolationException.MissingRequiredParameters",
    )
    assert item["message"] == "Missing required parameters: 224017"
    product["parameters"].append({"id": "225693", "values": [unused_gtin()]})
    assert check(offer_for_new_product(product)).errors == []


# -- unknown parameters and values --------------------------------------------------


def test_unknown_parameter_id_and_name() -> None:
    result = check(
        _with_offer_params(
            {"id": "999999", "values": ["x"]}, {"name": "Kolor ramki", "values": ["czarny"]}
        )
    )
    by_id = only(result, "ParameterIdNotFoundException")
    assert by_id["path"] == "parameters[1]"
    assert by_id["metadata"] == {"categoryId": "85166", "parameterId": "999999"}
    by_name = only(result, "ParameterNameNotFoundException")
    assert by_name["metadata"] == {"categoryId": "85166", "parameterName": "Kolor ramki"}


def test_parameter_by_former_name() -> None:
    assert check(_phone_with({"225693": {"name": "EAN", "values": [unused_gtin()]}})).errors == []


def test_unknown_dictionary_value_id() -> None:
    item = only(
        check(offer_for_product(parameters=[{"id": "11323", "valuesIds": ["11323_3"]}])),
        "DictionaryParameterIdNotFound",
    )
    assert item["path"] == "parameters[0]"
    assert item["metadata"] == {
        "parameterId": "11323",
        "parameterName": "Stan",
        "requestedDictionaryValueId": "11323_3",
    }


def test_unknown_dictionary_label() -> None:
    item = only(
        check(offer_for_product(parameters=[{"id": "11323", "values": ["Po zwrocie!"]}])),
        "DictionaryParameterValueNotFound",
    )
    assert item["metadata"] == {
        "parameterId": "11323",
        "parameterName": "Stan",
        "requestedDictionaryValue": "Po zwrocie!",
    }


def test_dictionary_label_is_matched_without_case() -> None:
    assert check(offer_for_product(parameters=[{"id": "11323", "values": ["nowy"]}])).errors == []


def test_ids_and_values_must_match() -> None:
    body = offer_for_product(
        parameters=[{"id": "11323", "valuesIds": ["11323_1"], "values": ["Używany"]}]
    )
    item = only(check(body), "DictionaryParameterIdsAndValuesNotMatch")
    assert item["metadata"] == {"parameterId": "11323", "parameterName": "Stan"}
    same = offer_for_product(
        parameters=[{"id": "11323", "valuesIds": ["11323_2"], "values": ["Używany"]}]
    )
    assert check(same).errors == []


def test_repeated_dictionary_value() -> None:
    body = _phone_with({"202685": {"id": "202685", "values": ["5G", "5G"]}})
    item = only(check(body), "DictionaryParameterValueNotUnique")
    assert item["metadata"] == {
        "parameterName": "Transmisja danych",
        "requestedDictionaryValue": "5G",
    }


def test_custom_value_through_the_ambiguous_entry() -> None:
    custom = {"name": "Marka telefonu", "valuesIds": ["246705_1"], "values": ["Fairphone"]}
    model = {"id": "246709", "valuesIds": ["246709_1"], "values": ["Fairphone 5"]}
    assert check(_phone_with({"Marka telefonu": custom, "246709": model})).errors == []


def test_custom_value_without_the_ambiguous_entry_is_not_found() -> None:
    result = check(_phone_with({"Marka telefonu": {"id": "246705", "values": ["Fairphone"]}}))
    assert "DictionaryParameterValueNotFound" in {c for c, _ in codes(result)}


def test_custom_value_where_custom_values_are_disabled() -> None:
    # "Stan" has no custom values: the text must be the label of the id sent
    body = offer_for_product(
        parameters=[{"id": "11323", "valuesIds": ["11323_1"], "values": ["Prawie nowy"]}]
    )
    assert codes(check(body)) == [("DictionaryParameterIdsAndValuesNotMatch", "parameters[0]")]


def test_depends_on_value_ids() -> None:
    samsung_iphone = _phone_with(
        {
            "Marka telefonu": {"id": "246705", "valuesIds": ["246705_598621"]},
        }
    )
    item = only(check(samsung_iphone), "ConstraintViolationException.DependencyValidator")
    assert item["metadata"]["dependsOnParameterId"] == "246705"
    assert item["path"].startswith("productSet[0].product.parameters[")


# -- values by type -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0", "ConstraintViolationException.ParameterValueRange"),
        ("4097", "ConstraintViolationException.ParameterValueRange"),
        ("12.5", "ConstraintViolationException.ParameterValueFormat"),
        ("128 GB", "ConstraintViolationException.ParameterValueFormat"),
    ],
)
def test_integer_values(value: str, code: str) -> None:
    result = check(_phone_with({"202869": {"id": "202869", "values": [value]}}))
    assert only(result, code)["metadata"]["parameterId"] == "202869"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0.1234", "ConstraintViolationException.ParameterValuePrecision"),
        ("-1", "ConstraintViolationException.ParameterValueRange"),
        ("0,28", "ConstraintViolationException.ParameterValueFormat"),
    ],
)
def test_float_values(value: str, code: str) -> None:
    result = check(_phone_with({"17448": {"id": "17448", "values": [value]}}))
    assert only(result, code)["path"].startswith("productSet[0].product.parameters[")


def test_float_trailing_zeros_do_not_count_as_precision() -> None:
    assert check(_phone_with({"17448": {"id": "17448", "values": ["0.2800"]}})).errors == []


def test_numbers_sent_as_json_numbers_are_accepted() -> None:
    assert check(_phone_with({"202869": {"id": "202869", "values": [128]}})).errors == []


def _mower(range_param: dict[str, Any]) -> dict[str, Any]:
    product = {
        "name": "Kosiarka elektryczna Bosch Rotak 32 1200 W",
        "category": {"id": "257931"},
        "parameters": [
            {"id": "225693", "values": [unused_gtin("400598012")]},
            {"id": "224017", "values": ["06008A6000"]},
            {"id": "248831", "values": ["Bosch"]},
            {"id": "211962", "values": ["elektryczny"]},
            {"id": "211958", "values": ["32"]},
            range_param,
        ],
        "images": ["https://img.example.com/rotak.jpg"],
    }
    return offer_for_new_product(product)


def test_range_parameter_valid() -> None:
    body = _mower({"id": "211966", "rangeValue": {"from": "2", "to": "6.5"}})
    assert check(body).errors == []


@pytest.mark.parametrize(
    ("param", "code"),
    [
        (
            {"id": "211966", "rangeValue": {"from": "8", "to": "2"}},
            "ConstraintViolationException.RangeParameter",
        ),
        (
            {"id": "211966", "rangeValue": {"from": "-1", "to": "5"}},
            "ConstraintViolationException.ParameterValueRange",
        ),
        (
            {"id": "211966", "rangeValue": {"from": "2", "to": "1001"}},
            "ConstraintViolationException.ParameterValueRange",
        ),
        (
            {"id": "211966", "rangeValue": {"from": "2.125", "to": "5"}},
            "ConstraintViolationException.ParameterValuePrecision",
        ),
        ({"id": "211966", "values": ["5"]}, "ConstraintViolationException.RangeParameter"),
        (
            {"id": "211966", "rangeValue": {"from": "2"}},
            "ConstraintViolationException.RangeParameter",
        ),
    ],
)
def test_range_parameter_problems(param: dict[str, Any], code: str) -> None:
    assert only(check(_mower(param)), code)["metadata"]["parameterId"] == "211966"


def test_range_value_on_a_plain_parameter() -> None:
    body = _phone_with({"202869": {"id": "202869", "rangeValue": {"from": "64", "to": "128"}}})
    assert "ConstraintViolationException.RangeParameter" in {c for c, _ in codes(check(body))}


def test_string_length_and_number_of_values() -> None:
    too_long = _phone_with({"224017": {"id": "224017", "values": ["M" * 36]}})
    item = only(check(too_long), "ConstraintViolationException.StringLength")
    assert item["metadata"]["maxLength"] == "35"
    two = _phone_with({"224017": {"id": "224017", "values": ["A1", "A2"]}})
    assert (
        only(check(two), "ConstraintViolationException.ParameterNumberOfValues")["metadata"][
            "allowedNumberOfValues"
        ]
        == "1"
    )


def test_multiple_choices() -> None:
    two_conditions = offer_for_product(
        parameters=[{"id": "11323", "valuesIds": ["11323_1", "11323_2"]}]
    )
    assert codes(check(two_conditions)) == [
        ("ConstraintViolationException.ParameterNumberOfValues", "parameters[0]")
    ]
    networks = _phone_with({"202685": {"id": "202685", "values": ["4G (LTE)", "5G"]}})
    assert check(networks).errors == []


# -- placement ----------------------------------------------------------------------


def test_product_parameter_in_offer_parameters() -> None:
    body = _with_offer_params({"id": "225693", "values": [SONY_GTIN_FOR_TEST]})
    item = only(check(body), "ParameterCategoryException")
    assert item["path"] == "parameters[1]"
    assert item["metadata"] == {
        "parameterId": "225693",
        "parameterName": "EAN (GTIN)",
        "requestedParameterType": "OFFER",
    }


def test_offer_parameter_in_product_parameters() -> None:
    body = _phone_with({"11323": {"id": "11323", "valuesIds": ["11323_1"]}})
    item = only(check(body), "ParameterCategoryException")
    assert item["metadata"]["requestedParameterType"] == "PRODUCT"
    assert item["path"].startswith("productSet[0].product.parameters[")


SONY_GTIN_FOR_TEST = "4548735214676"


# -- GTIN ---------------------------------------------------------------------------


def test_gtin_with_a_wrong_check_digit() -> None:
    good = unused_gtin()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    item = only(
        check(_phone_with({"225693": {"id": "225693", "values": [bad]}})),
        "ConstraintViolationException.WrongChecksumInGtinParameter",
    )
    assert item["path"] == "productSet[0].product.parameters[0]"


@pytest.mark.parametrize("value", ["1234567", "590123412345", "59012341234567890", "ABC12345"])
def test_gtin_of_a_non_standard_length_or_not_digits(value: str) -> None:
    result = check(_phone_with({"225693": {"id": "225693", "values": [value]}}))
    codes_found = {c for c, _ in codes(result)}
    assert codes_found & {
        "ConstraintViolationException.NotStandardLengthInGtinParameter",
        "ConstraintViolationException.WrongChecksumInGtinParameter",
    }


def test_gtin_lengths_8_12_13_14_and_isbn10_are_accepted() -> None:
    pset = ParameterSet("165", CATALOG.parameters("165") or [])
    for value in ("40058009", "046000000008", "5901234123457", "05901234123457", "0306406152"):
        errors, given = read_parameters(
            [{"id": "225693", "values": [value]}], pset, path="p", product_level=True
        )
        assert errors == [], value
        assert "225693" in given
