"""Category-parameter rules of the local offer validation (FACTS.md §4)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from workers.domain.validate import gtin_ok, validate_offer

IMAGE = "https://shop.example/img/x200-1.jpg"


def dictionary(
    pid: str,
    name: str,
    values: list[tuple[str, str, list[str]]],
    *,
    product: bool,
    required: bool = False,
    required_for_product: bool = False,
    multiple: bool = False,
    ambiguous: str | None = None,
    custom: bool = False,
    depends_on: str | None = None,
    required_if: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "type": "dictionary",
        "required": required,
        "requiredForProduct": required_for_product,
        "requiredIf": required_if,
        "displayedIf": None,
        "unit": None,
        "options": {
            "ambiguousValueId": ambiguous,
            "dependsOnParameterId": depends_on,
            "describesProduct": product,
            "customValuesEnabled": custom,
        },
        "dictionary": [
            {"id": vid, "value": label, "dependsOnValueIds": deps} for vid, label, deps in values
        ],
        "restrictions": {"multipleChoices": multiple},
    }


def simple(
    pid: str,
    name: str,
    kind: str,
    restrictions: dict[str, Any],
    *,
    product: bool,
    required: bool = False,
    required_for_product: bool = False,
    required_if: dict[str, Any] | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "type": kind,
        "required": required,
        "requiredForProduct": required_for_product,
        "requiredIf": required_if,
        "displayedIf": None,
        "unit": unit,
        "options": {
            "ambiguousValueId": None,
            "dependsOnParameterId": None,
            "describesProduct": product,
            "customValuesEnabled": False,
        },
        "restrictions": restrictions,
    }


PARAMETERS: list[dict[str, Any]] = [
    dictionary(
        "11323",
        "Stan",
        [("11323_1", "Nowy", []), ("11323_2", "Używany", []), ("11323_238066", "Po zwrocie", [])],
        product=False,
        required=True,
    ),
    dictionary(
        "248811",
        "Marka",
        [("248811_1", "Acme", []), ("248811_2", "Sony", []), ("248811_0", "inna", [])],
        product=True,
        required_for_product=True,
        ambiguous="248811_0",
        custom=True,
    ),
    simple(
        "224017",
        "Kod producenta",
        "string",
        {"minLength": 2, "maxLength": 35, "allowedNumberOfValues": 1},
        product=True,
        required_for_product=True,
    ),
    simple(
        "225693",
        "EAN (GTIN)",
        "string",
        {"minLength": 1, "maxLength": 14, "allowedNumberOfValues": 1},
        product=True,
    ),
    simple(
        "17448",
        "Waga (z opakowaniem)",
        "float",
        {"min": 0, "max": 1000000, "range": False, "precision": 3},
        product=False,
        unit="kg",
    ),
    simple(
        "202877", "Liczba rdzeni", "integer", {"min": 0, "max": 1000, "range": False}, product=True
    ),
    simple(
        "211966",
        "Zakres regulacji",
        "float",
        {"min": 0, "max": 1000, "range": True, "precision": 2},
        product=True,
        unit="cm",
    ),
    dictionary(
        "202870",
        "Typ",
        [("202870_1", "dokanałowe", []), ("202870_2", "nauszne", [])],
        product=True,
        multiple=True,
    ),
    dictionary(
        "4388",
        "Kolor",
        [
            ("4388_1", "czarny", ["202870_1"]),
            ("4388_2", "biały", ["202870_2"]),
            ("4388_3", "inny", []),
        ],
        product=True,
        ambiguous="4388_3",
        depends_on="202870",
    ),
    simple(
        "300",
        "Gwarancja producenta",
        "string",
        {"minLength": 1, "maxLength": 50, "allowedNumberOfValues": 1},
        product=False,
        required=True,
        required_if={
            "parametersWithValue": [{"id": "202870", "oneOfValueIds": ["202870_1"]}],
            "parametersWithoutValue": [],
        },
    ),
    simple(
        "301",
        "Waga szacunkowa",
        "string",
        {"minLength": 1, "maxLength": 50, "allowedNumberOfValues": 1},
        product=False,
        required=True,
        required_if={"parametersWithValue": [], "parametersWithoutValue": [{"id": "17448"}]},
    ),
]


def body() -> dict[str, Any]:
    return {
        "productSet": [
            {
                "product": {
                    "name": "Słuchawki Acme X200 nauszne",
                    "category": {"id": "165"},
                    "parameters": [
                        {"id": "248811", "valuesIds": ["248811_1"]},
                        {"id": "224017", "values": ["X200-BLK"]},
                        {"id": "225693", "values": ["5902719471797"]},
                        {"id": "202870", "valuesIds": ["202870_2"]},
                    ],
                    "images": [IMAGE],
                }
            }
        ],
        "name": "Słuchawki Acme X200 nauszne",
        "category": {"id": "165"},
        "parameters": [
            {"id": "11323", "valuesIds": ["11323_1"]},
            {"id": "17448", "values": ["0.25"]},
        ],
        "external": {"id": "AH-129834"},
        "stock": {"available": 5, "unit": "UNIT"},
        "sellingMode": {"format": "BUY_NOW", "price": {"amount": "129.99", "currency": "PLN"}},
        "images": [IMAGE],
    }


def run(data: dict[str, Any], *, linked: bool = False) -> list[Any]:
    return validate_offer(data, PARAMETERS, currency="PLN", catalogue_linked=linked)


def codes(data: dict[str, Any], *, linked: bool = False) -> list[str]:
    return [e.code for e in run(data, linked=linked)]


def product_parameters(data: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = data["productSet"][0]["product"]["parameters"]
    return result


def test_the_reference_body_passes() -> None:
    assert run(body()) == []


# --- ids, names, placement --------------------------------------------------------------------


def test_unknown_parameter_id_is_reported_with_its_path() -> None:
    data = body()
    data["parameters"].append({"id": "999999", "values": ["x"]})
    [problem] = run(data)
    assert problem.code == "ParameterIdNotFoundException"
    assert problem.path == "parameters[2]"
    assert "999999" in problem.message and "165" in problem.message
    assert problem.user_message and "mapping" in problem.user_message


def test_parameters_may_be_named_instead_of_numbered() -> None:
    data = body()
    data["parameters"][0] = {"name": " stan ", "valuesIds": ["11323_1"]}
    assert run(data) == []
    data["parameters"][0] = {"name": "Condition", "valuesIds": ["11323_1"]}
    assert "ParameterIdNotFoundException" in codes(data)


def test_offer_parameter_among_product_parameters_is_misplaced() -> None:
    data = body()
    condition = data["parameters"].pop(0)
    product_parameters(data).append(condition)
    [problem] = run(data)
    assert problem.code == "ParameterCategoryException"
    assert problem.path == "productSet[0].product.parameters[4]"


def test_product_parameter_among_offer_parameters_is_misplaced() -> None:
    data = body()
    brand = product_parameters(data).pop(0)
    data["parameters"].append(brand)
    assert codes(data) == ["ParameterCategoryException"]


def test_a_parameter_given_twice_is_reported() -> None:
    data = body()
    data["parameters"].append({"id": "11323", "valuesIds": ["11323_2"]})
    [problem] = run(data)
    assert problem.code == "ConstraintViolationException.DuplicatedParameter"
    assert problem.path == "parameters[2]"


def test_a_parameter_without_value() -> None:
    data = body()
    data["parameters"][0] = {"id": "11323", "valuesIds": []}
    assert codes(data) == ["ConstraintViolationException.ParameterValueMissing"]


def test_an_empty_parameter_counts_as_without_value_for_required_if() -> None:
    data = body()
    data["parameters"][1] = {"id": "17448", "values": []}  # so 301 is required
    assert codes(data) == [
        "ConstraintViolationException.ParameterValueMissing",
        "ConstraintViolationException.MissingRequiredParameters",
    ]


def test_malformed_parameter_entries() -> None:
    data = body()
    data["parameters"] = [{"id": "11323", "valuesIds": "11323_1"}, "11323", {"values": ["x"]}]
    found = run(data)
    assert [e.code for e in found].count("JsonMappingException") == 3
    assert [e.path for e in found if e.code == "JsonMappingException"] == [
        "parameters[0].valuesIds",
        "parameters[1]",
        "parameters[2]",
    ]


# --- required ---------------------------------------------------------------------------------


def test_missing_required_offer_parameter() -> None:
    data = body()
    del data["parameters"][0]
    [problem] = run(data)
    assert problem.code == "ConstraintViolationException.MissingRequiredParameters"
    assert problem.path == "parameters"
    assert problem.message == "Missing required parameters: 11323"
    assert problem.user_message and '"Stan" (11323)' in problem.user_message


def test_missing_required_for_product_parameters_are_listed_together() -> None:
    data = body()
    data["productSet"][0]["product"]["parameters"] = [{"id": "202870", "valuesIds": ["202870_2"]}]
    [problem] = run(data)
    assert problem.code == "ConstraintViolationException.MissingRequiredParameters"
    assert problem.path == "productSet[0].product.parameters"
    assert problem.message == "Missing required parameters: 248811, 224017"


def test_catalogue_product_brings_its_product_parameters() -> None:
    data = body()
    data["productSet"] = [{"product": {"id": "8b6270a8-06c6-4ad7-a9c2-7443a79ea4ab"}}]
    assert run(data, linked=True) == []
    del data["parameters"][0]
    assert codes(data, linked=True) == ["ConstraintViolationException.MissingRequiredParameters"]


def test_required_if_with_value() -> None:
    data = body()
    product_parameters(data)[3] = {"id": "202870", "valuesIds": ["202870_1"]}
    [problem] = run(data)
    assert problem.message == "Missing required parameters: 300"
    data["parameters"].append({"id": "300", "values": ["24 miesiące"]})
    assert run(data) == []


def test_required_if_with_value_given_by_label() -> None:
    data = body()
    product_parameters(data)[3] = {"id": "202870", "values": ["Dokanałowe"]}
    assert [e.message for e in run(data)] == ["Missing required parameters: 300"]


def test_required_if_without_value() -> None:
    data = body()
    del data["parameters"][1]  # 17448 has no value, so 301 is required
    assert [e.message for e in run(data)] == ["Missing required parameters: 301"]


def test_required_if_narrows_the_flag_only() -> None:
    data = body()
    parameters = copy.deepcopy(PARAMETERS)
    parameters[9]["required"] = False  # 300: conditions hold, but it is not required
    product_parameters(data)[3] = {"id": "202870", "valuesIds": ["202870_1"]}
    assert validate_offer(data, parameters, currency="PLN", catalogue_linked=False) == []


def test_snake_case_category_parameters_are_read_too() -> None:
    snake = [
        {
            "id": "11323",
            "name": "Stan",
            "type": "dictionary",
            "required": True,
            "required_for_product": False,
            "options": {"describes_product": False},
            "dictionary": [{"id": "11323_1", "value": "Nowy"}],
        }
    ]
    data = body()
    data["productSet"] = [{"product": {"id": "8b6270a8-06c6-4ad7-a9c2-7443a79ea4ab"}}]
    data["parameters"] = [{"id": "11323", "valuesIds": ["11323_1"]}]
    assert validate_offer(data, snake, currency="PLN", catalogue_linked=True) == []


# --- dictionaries -----------------------------------------------------------------------------


def test_unknown_dictionary_value_id() -> None:
    data = body()
    data["parameters"][0] = {"id": "11323", "valuesIds": ["11323_3"]}
    [problem] = run(data)
    assert problem.code == "DictionaryParameterIdNotFound"
    assert problem.path == "parameters[0].valuesIds[0]"


def test_renamed_dictionary_value_id_gets_a_hint() -> None:
    parameters = copy.deepcopy(PARAMETERS)
    parameters[0]["dictionary"][2]["formerData"] = {"ids": ["11323_1223635"], "values": ["Stary"]}
    data = body()
    data["parameters"][0] = {"id": "11323", "valuesIds": ["11323_1223635"]}
    [problem] = validate_offer(data, parameters, currency="PLN", catalogue_linked=False)
    assert "11323_238066" in problem.message
    data["parameters"][0] = {"id": "11323", "values": ["Stary"]}
    [problem] = validate_offer(data, parameters, currency="PLN", catalogue_linked=False)
    assert problem.code == "DictionaryParameterValueNotFound"
    assert problem.user_message and "Po zwrocie" in problem.user_message


def test_dictionary_values_by_label() -> None:
    data = body()
    data["parameters"][0] = {"id": "11323", "values": ["nowy"]}
    assert run(data) == []
    data["parameters"][0] = {"id": "11323", "values": ["Nówka"]}
    [problem] = run(data)
    assert problem.code == "DictionaryParameterValueNotFound"
    assert problem.path == "parameters[0].values[0]"
    assert problem.user_message and '"Nowy"' in problem.user_message  # the allowed values


def test_ids_and_labels_must_agree() -> None:
    data = body()
    data["parameters"][0] = {"id": "11323", "valuesIds": ["11323_1"], "values": ["Nowy"]}
    assert run(data) == []
    data["parameters"][0] = {"id": "11323", "valuesIds": ["11323_1"], "values": ["Używany"]}
    assert codes(data) == ["DictionaryParameterIdsAndValuesNotMatch"]


def test_custom_value_through_the_ambiguous_entry_when_enabled() -> None:
    data = body()
    product_parameters(data)[0] = {"id": "248811", "valuesIds": ["248811_0"], "values": ["Zorro"]}
    assert run(data) == []


def test_custom_value_without_the_ambiguous_entry() -> None:
    data = body()
    product_parameters(data)[0] = {"id": "248811", "values": ["Zorro"]}
    [problem] = run(data)
    assert problem.code == "DictionaryParameterValueNotFound"
    assert problem.user_message and "248811_0" in problem.user_message


def test_custom_value_where_custom_values_are_disabled() -> None:
    data = body()
    product_parameters(data).append({"id": "4388", "valuesIds": ["4388_3"], "values": ["zielony"]})
    assert codes(data) == ["ConstraintViolationException.CustomValueNotAllowed"]
    product_parameters(data)[-1] = {"id": "4388", "valuesIds": ["4388_3"], "values": ["inny"]}
    assert run(data) == []


def test_multiple_choices() -> None:
    data = body()
    data["parameters"][0] = {"id": "11323", "valuesIds": ["11323_1", "11323_2"]}
    [problem] = run(data)
    assert problem.code == "ConstraintViolationException.MultipleChoices"
    data = body()
    product_parameters(data)[3] = {"id": "202870", "valuesIds": ["202870_1", "202870_2"]}
    data["parameters"].append({"id": "300", "values": ["24 miesiące"]})
    assert run(data) == []


def test_depends_on_value_ids() -> None:
    data = body()  # Typ = nauszne (202870_2)
    product_parameters(data).append({"id": "4388", "valuesIds": ["4388_2"]})
    assert run(data) == []
    product_parameters(data)[-1] = {"id": "4388", "valuesIds": ["4388_1"]}
    [problem] = run(data)
    assert problem.code == "ConstraintViolationException.DependencyValidator"
    assert problem.path == "productSet[0].product.parameters[4]"
    assert '"dokanałowe"' in problem.message and '"nauszne"' in problem.message


def test_depends_on_a_parameter_that_is_not_set() -> None:
    data = body()
    del product_parameters(data)[3]
    product_parameters(data).append({"id": "4388", "values": ["czarny"]})
    [problem] = run(data)
    assert problem.code == "ConstraintViolationException.DependencyValidator"
    assert "not set" in problem.message
    product_parameters(data)[-1] = {"id": "4388", "valuesIds": ["4388_3"]}  # any combination
    assert run(data) == []


def test_rangevalue_on_a_dictionary() -> None:
    data = body()
    data["parameters"][0] = {"id": "11323", "rangeValue": {"from": "1", "to": "2"}}
    assert codes(data) == ["ConstraintViolationException.ParameterValueType"]


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0.25", None),
        ("1000000", None),
        ("0", None),
        ("0.2501", "ConstraintViolationException.Precision"),
        ("-1", "ConstraintViolationException.ValueOutOfRange"),
        ("1000000.5", "ConstraintViolationException.ValueOutOfRange"),
        ("0,25", "ConstraintViolationException.NotANumber"),
        ("abc", "ConstraintViolationException.NotANumber"),
        ("1e3", "ConstraintViolationException.NotANumber"),
    ],
)
def test_float_values(value: str, code: str | None) -> None:
    data = body()
    data["parameters"][1] = {"id": "17448", "values": [value]}
    assert codes(data) == ([code] if code else [])


def test_decimal_comma_gets_a_hint() -> None:
    data = body()
    data["parameters"][1] = {"id": "17448", "values": ["0,25"]}
    [problem] = run(data)
    assert "dot" in problem.message
    assert problem.path == "parameters[1].values[0]"


def test_out_of_range_names_the_unit() -> None:
    data = body()
    data["parameters"][1] = {"id": "17448", "values": ["2000000"]}
    [problem] = run(data)
    assert "0-1000000 kg" in problem.message


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("8", None),
        (8, None),  # Allegro reads a JSON number as its text
        ("4.5", "ConstraintViolationException.NotAnInteger"),
        ("1001", "ConstraintViolationException.ValueOutOfRange"),
    ],
)
def test_integer_values(value: Any, code: str | None) -> None:
    data = body()
    product_parameters(data).append({"id": "202877", "values": [value]})
    assert codes(data) == ([code] if code else [])


def test_one_number_only() -> None:
    data = body()
    product_parameters(data).append({"id": "202877", "values": ["1", "2"]})
    assert codes(data) == ["ConstraintViolationException.AllowedNumberOfValues"]


def test_rangevalue_on_a_plain_number() -> None:
    data = body()
    product_parameters(data).append({"id": "202877", "rangeValue": {"from": "1", "to": "2"}})
    assert codes(data) == ["ConstraintViolationException.RangeValue"]


def test_value_ids_on_a_number() -> None:
    data = body()
    product_parameters(data).append({"id": "202877", "valuesIds": ["202877_1"]})
    assert "ConstraintViolationException.ParameterValueType" in codes(data)


@pytest.mark.parametrize(
    ("range_value", "expected"),
    [
        ({"from": "10", "to": "25.5"}, []),
        ({"from": "10", "to": "10"}, []),
        ({"from": "25", "to": "10"}, ["ConstraintViolationException.RangeValue"]),
        ({"from": "10", "to": "2000"}, ["ConstraintViolationException.ValueOutOfRange"]),
        ({"from": "-1", "to": "5"}, ["ConstraintViolationException.ValueOutOfRange"]),
        ({"from": "1.555", "to": "5"}, ["ConstraintViolationException.Precision"]),
        ({"from": "1"}, ["ConstraintViolationException.NotANumber"]),
    ],
)
def test_range_values(range_value: dict[str, str], expected: list[str]) -> None:
    data = body()
    product_parameters(data).append({"id": "211966", "rangeValue": range_value})
    assert codes(data) == expected


def test_range_parameter_needs_rangevalue() -> None:
    data = body()
    product_parameters(data).append({"id": "211966", "values": ["10"]})
    [problem] = run(data)
    assert problem.code == "ConstraintViolationException.RangeValue"
    assert "rangeValue" in problem.message


def test_range_path_points_at_the_end() -> None:
    data = body()
    product_parameters(data).append({"id": "211966", "rangeValue": {"from": "x", "to": "5"}})
    [problem] = run(data)
    assert problem.path == "productSet[0].product.parameters[4].rangeValue.from"


# --- strings and GTINs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["X2"], []),
        (["X"], ["ConstraintViolationException.StringLength"]),
        (["X" * 36], ["ConstraintViolationException.StringLength"]),
        (["A1", "B2"], ["ConstraintViolationException.AllowedNumberOfValues"]),
    ],
)
def test_string_values(values: list[str], expected: list[str]) -> None:
    data = body()
    product_parameters(data)[1] = {"id": "224017", "values": values}
    assert codes(data) == expected


def test_value_ids_on_a_string() -> None:
    data = body()
    product_parameters(data)[1] = {"id": "224017", "valuesIds": ["224017_1"]}
    assert codes(data) == ["ConstraintViolationException.ParameterValueType"]


@pytest.mark.parametrize(
    ("gtin", "code"),
    [
        ("5902719471797", None),
        ("96385074", None),
        ("036000291452", None),
        ("00036000291452", None),
        ("0306406152", None),  # 10 digits: Allegro's own check
        ("5902719471798", "ConstraintViolationException.WrongChecksumInGtinParameter"),
        ("12345", "NotStandardLengthInGtinParameter"),
        ("590271947179712", "NotStandardLengthInGtinParameter"),
        ("59027194717A", "ConstraintViolationException.GtinDigitsOnly"),
        ("5902 7194 71797", "ConstraintViolationException.GtinDigitsOnly"),
    ],
)
def test_gtin_parameter(gtin: str, code: str | None) -> None:
    data = body()
    product_parameters(data)[2] = {"id": "225693", "values": [gtin]}
    found = [c for c in codes(data) if c != "ConstraintViolationException.StringLength"]
    assert found == ([code] if code else [])


def test_gtin_parameter_found_by_name() -> None:
    parameters = copy.deepcopy(PARAMETERS)
    parameters[3]["id"] = "1234"
    data = body()
    product_parameters(data)[2] = {"id": "1234", "values": ["5902719471798"]}
    found = validate_offer(data, parameters, currency="PLN", catalogue_linked=False)
    assert [e.code for e in found] == ["ConstraintViolationException.WrongChecksumInGtinParameter"]


@pytest.mark.parametrize(
    ("gtin", "ok"),
    [
        ("5902719471797", True),
        ("96385074", True),
        ("036000291452", True),
        ("00036000291452", True),
        ("5902719471798", False),
        ("0306406152", False),
        ("", False),
        ("abcdefgh", False),
        ("\uff15\uff19\uff10\uff12\uff17\uff11\uff19\uff14", False),  # full-width digits
    ],
)
def test_gtin_ok(gtin: str, ok: bool) -> None:
    assert gtin_ok(gtin) is ok


# --- all at once ------------------------------------------------------------------------------


def test_every_parameter_problem_is_reported_together() -> None:
    data = body()
    data["parameters"] = [
        {"id": "17448", "values": ["0,5"]},
        {"id": "999", "values": ["x"]},
    ]
    product_parameters(data)[2] = {"id": "225693", "values": ["5902719471798"]}
    found = codes(data)
    assert found == [
        "ConstraintViolationException.NotANumber",
        "ParameterIdNotFoundException",
        "ConstraintViolationException.WrongChecksumInGtinParameter",
        "ConstraintViolationException.MissingRequiredParameters",
    ]
    assert all(e.user_message for e in run(data))


# --- catalogue products: values the body does not carry ---------------------------------------


def linked_body() -> dict[str, Any]:
    data = body()
    data["productSet"] = [{"product": {"id": "8b6270a8-06c6-4ad7-a9c2-7443a79ea4ab"}}]
    return data


def test_required_if_on_a_catalogue_value_is_left_to_allegro() -> None:
    parameters = copy.deepcopy(PARAMETERS)
    parameters.append(
        simple(
            "302",
            "Liczba rdzeni (opis)",
            "string",
            {},
            product=False,
            required=True,
            required_if={"parametersWithValue": [], "parametersWithoutValue": [{"id": "202877"}]},
        )
    )
    found = validate_offer(body(), parameters, currency="PLN", catalogue_linked=False)
    assert [e.message for e in found] == ["Missing required parameters: 302"]
    found = validate_offer(linked_body(), parameters, currency="PLN", catalogue_linked=True)
    assert found == []


def test_dependency_on_a_catalogue_value_is_left_to_allegro() -> None:
    data = linked_body()
    data["productSet"][0]["product"]["parameters"] = [{"id": "4388", "valuesIds": ["4388_1"]}]
    assert run(data, linked=True) == []
    data["productSet"][0]["product"]["parameters"].append(
        {"id": "202870", "valuesIds": ["202870_2"]}
    )
    assert codes(data, linked=True) == ["ConstraintViolationException.DependencyValidator"]


def test_category_parameters_give_the_same_problems_and_are_read_once() -> None:
    from workers.domain.model import CategoryParameters

    shared = CategoryParameters(copy.deepcopy(PARAMETERS))
    broken = body()
    broken["parameters"].append({"id": "999999", "values": ["x"]})
    product_parameters(broken).pop()  # required 202870 missing
    for data in (body(), broken, body()):
        expected = validate_offer(data, PARAMETERS, currency="PLN", catalogue_linked=False)
        assert validate_offer(data, shared, currency="PLN", catalogue_linked=False) == expected
    built: list[int] = []
    assert shared.derived("test", lambda p: built.append(len(p)) or len(built)) == 1
    assert shared.derived("test", lambda p: built.append(len(p)) or len(built)) == 1
    assert built == [len(PARAMETERS)]
    assert shared == PARAMETERS  # still the list it was made from
