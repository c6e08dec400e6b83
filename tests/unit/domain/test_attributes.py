"""Store values -> Allegro parameter values: dictionaries, numbers, units, ranges, text."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from schemas.mapping import AttributeRule
from tests.unit.domain import category_parameters, parameter
from workers.domain.attributes import (
    ParameterIndex,
    ValueProblem,
    allowed_labels,
    convert,
    fold,
    format_number,
    is_required,
)

KOLOR = parameter("165", "127448")  # dictionary: czarny, biały, szary, ... złoty
MARKA = parameter("165", "246705")  # dictionary with "inna" (246705_1), custom values on
MODEL = parameter("165", "246709")  # depends on 246705
TRANSMISJA = parameter("165", "202685")  # multipleChoices
PAMIEC = parameter("165", "202869")  # integer GB 1..4096
PRZEKATNA = parameter("165", "202749")  # float cal, precision 2, 1..20
WAGA = parameter("165", "17448")  # float kg, precision 3
EAN = parameter("165", "225693")  # string, 1 value, max 14
MPN = parameter("165", "224017")  # string, required unless an EAN is given
DEDYKOWANY = parameter("259347", "202945")  # string, up to 5 values, max 60
ZAKRES = parameter("257931", "211966")  # float range cm, 0..1000, precision 2
WIEK = parameter("12041", "249205")  # integer range "lata", 0..18
POJEMNOSC = parameter("67490", "205297")  # float l, 0.1..10, precision 1

# A dictionary written out here: accents in labels, former labels and ids, 12 entries.
KOLOR_OBUDOWY: dict[str, Any] = {
    "id": "300001",
    "name": "Kolor obudowy",
    "type": "dictionary",
    "required": False,
    "requiredForProduct": False,
    "requiredIf": None,
    "displayedIf": None,
    "unit": None,
    "options": {
        "ambiguousValueId": None,
        "dependsOnParameterId": None,
        "describesProduct": True,
        "customValuesEnabled": False,
    },
    "dictionary": [
        {"id": "300001_1", "value": "Zielony", "dependsOnValueIds": []},
        {"id": "300001_2", "value": "Żółty", "dependsOnValueIds": []},
        {
            "id": "300001_3",
            "value": "Grafitowy",
            "dependsOnValueIds": [],
            "formerData": {"ids": ["300001_99"], "values": ["Antracytowy"]},
        },
        *(
            {"id": f"300001_{n}", "value": label, "dependsOnValueIds": []}
            for n, label in enumerate(
                ["Czerwony", "Biały", "Czarny", "Niebieski", "Łososiowy", "Różowy", "Beżowy"],
                start=4,
            )
        ),
        {"id": "300001_11", "value": "Fioletowy", "dependsOnValueIds": []},
        {"id": "300001_12", "value": "Brązowy", "dependsOnValueIds": []},
    ],
    "restrictions": {"multipleChoices": False},
}


def rule(**fields: Any) -> AttributeRule:
    return AttributeRule(attribute="a", parameter="1", **fields)


# --- folding and lookups --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Zielony", "zielony"),
        ("Żółty", "zolty"),
        ("ŻÓŁTY ", "żółty"),
        ("Łososiowy", "lososiowy"),
        ("Straße", "strasse"),
        ("  biały\tkolor ", "bialy kolor"),
    ],
)
def test_fold_ignores_case_accents_and_spacing(left: str, right: str) -> None:
    assert fold(left) == fold(right)


def test_the_index_finds_parameters_by_id_name_and_former_name() -> None:
    index = ParameterIndex(category_parameters("165"))
    assert index.by_id("225693") is not None
    assert index.by_name("ean (gtin)") is index.by_id("225693")
    assert index.by_name("GTIN") is index.by_id("225693")  # formerData.names
    assert index.by_name("MPN") is index.by_id("224017")
    assert index.by_name("Pamiec wbudowana") is index.by_id("202869")
    assert index.by_name("nope") is None


# --- dictionaries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zielony", "300001_1"),
        ("ZIELONY", "300001_1"),
        ("zolty", "300001_2"),
        ("Żółty", "300001_2"),
        ("lososiowy", "300001_8"),
        ("300001_2", "300001_2"),  # a value id is taken as is
        ("antracytowy", "300001_3"),  # a former label
        ("300001_99", "300001_3"),  # a former id
    ],
)
@pytest.mark.parametrize("through_index", [False, True])
def test_dictionary_labels_match_case_and_accent_insensitively(
    value: str, expected: str, through_index: bool
) -> None:
    index = ParameterIndex([KOLOR_OBUDOWY])
    definition = index.by_id("300001") if through_index else KOLOR_OBUDOWY
    assert definition is not None
    converted = convert(definition, value, index=index if through_index else None)
    assert converted.parameter == {"id": "300001", "valuesIds": [expected]}


def test_a_current_label_wins_over_an_earlier_entrys_former_one() -> None:
    renamed = {
        **KOLOR_OBUDOWY,
        "dictionary": [
            {"id": "r_1", "value": "Grafit", "formerData": {"ids": ["r_2"], "values": ["Szary"]}},
            {"id": "r_2", "value": "Szary"},
        ],
    }
    assert convert(renamed, "szary").value_ids == ["r_2"]
    assert convert(renamed, "r_2").value_ids == ["r_2"]


def test_the_index_keeps_a_dictionarys_labels_for_its_own_definitions_only() -> None:
    index = ParameterIndex([KOLOR_OBUDOWY])
    own = index.by_id("300001")
    assert own is not None
    assert index.labels(own) is index.labels(own)
    # A definition the index does not hold (same id) is looked up afresh, never cached.
    other = {**KOLOR_OBUDOWY, "dictionary": [{"id": "x_1", "value": "Zielony"}]}
    assert index.labels(other) is not index.labels(other)
    assert convert(other, "zielony", index=index).value_ids == ["x_1"]
    assert convert(own, "zielony", index=index).value_ids == ["300001_1"]


def test_a_rule_translates_the_store_value_first() -> None:
    converted = convert(KOLOR, "Grafit", rule=rule(values={"grafit": "szary"}))
    assert converted.parameter == {"id": "127448", "valuesIds": ["127448_3"]}
    by_id = convert(KOLOR, "tytan", rule=rule(values={"Tytan": "127448_4"}))
    assert by_id.value_ids == ["127448_4"]


def test_a_label_not_in_the_dictionary_lists_the_first_ten_allowed() -> None:
    with pytest.raises(ValueProblem) as caught:
        convert(KOLOR_OBUDOWY, "Turkusowy")
    problem = caught.value
    assert problem.code == "DictionaryParameterValueNotFound"
    assert problem.reason == (
        '"Turkusowy" is not in its dictionary (allowed: Zielony, Żółty, Grafitowy, Czerwony, '
        "Biały, Czarny, Niebieski, Łososiowy, Różowy, Beżowy (+2 more))"
    )
    assert 'values: {"Turkusowy": "<allowed label>"}' in problem.fix


def test_allowed_labels_without_more() -> None:
    assert allowed_labels(KOLOR, limit=3) == "czarny, biały, szary (+7 more)"
    assert allowed_labels(MARKA).endswith("inna")


def test_an_unknown_label_becomes_a_custom_value_where_allowed() -> None:
    converted = convert(MARKA, "Nokia")
    assert converted.parameter == {"id": "246705", "valuesIds": ["246705_1"], "values": ["Nokia"]}
    assert converted.notes == [
        'parameter "Marka telefonu" (246705): "Nokia" is not in the dictionary; sent as a '
        'custom value of "inna"'
    ]
    assert convert(MARKA, "apple").parameter == {"id": "246705", "valuesIds": ["246705_598617"]}


def test_a_dependent_dictionary_prefers_the_value_allowed_with_the_parent() -> None:
    assert convert(MODEL, "iphone 15", chosen={"246705": ["246705_598617"]}).value_ids == [
        "246709_700101"
    ]
    # "inny" exists once, allowed with every brand.
    assert convert(MODEL, "Inny", chosen={"246705": ["246705_598621"]}).value_ids == ["246709_1"]
    twin = {
        **MODEL,
        "dictionary": [
            {"id": "m_1", "value": "Pro", "dependsOnValueIds": ["246705_598617"]},
            {"id": "m_2", "value": "Pro", "dependsOnValueIds": ["246705_598621"]},
        ],
    }
    assert convert(twin, "pro", chosen={"246705": ["246705_598621"]}).value_ids == ["m_2"]
    assert convert(twin, "pro", chosen={"246705": ["246705_598617"]}).value_ids == ["m_1"]
    assert convert(twin, "pro").value_ids == ["m_1"]


def test_booleans_are_tak_and_nie() -> None:
    dual_sim = parameter("165", "202829")
    assert convert(dual_sim, True).value_ids == ["202829_1"]
    assert convert(dual_sim, False).value_ids == ["202829_2"]


def test_multiple_choices_take_lists_and_split_text() -> None:
    g2, g3, g4, g5 = "202685_212925", "202685_212927", "202685_212929", "202685_212931"
    assert convert(TRANSMISJA, ["4g (LTE)", "5G"]).value_ids == [g4, g5]
    assert convert(TRANSMISJA, "2G, 3G; 5G").value_ids == [g2, g3, g5]
    assert convert(TRANSMISJA, ["5G", "5g"]).value_ids == [g5]
    # A label that itself holds the separator still matches as a whole.
    assert convert(
        {**TRANSMISJA, "dictionary": [{"id": "x", "value": "A, B"}]}, "a, b"
    ).value_ids == ["x"]


def test_a_single_choice_dictionary_takes_one_value() -> None:
    with pytest.raises(ValueProblem, match="it has 2 values; the parameter takes one"):
        convert(KOLOR, ["czarny", "biały"])


def test_an_empty_value_is_a_problem() -> None:
    with pytest.raises(ValueProblem, match="empty"):
        convert(KOLOR, [])


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "value", "expected"),
    [
        (PAMIEC, 128, "128"),
        (PAMIEC, "128 GB", "128"),
        (PAMIEC, "128GB", "128"),
        (PAMIEC, "1 024", "1024"),
        (PAMIEC, "1 TB", None),  # TB -> GB is not converted (1000 or 1024?): a problem
        (PRZEKATNA, "6,1", "6.1"),
        (PRZEKATNA, '6.1"', "6.1"),
        (PRZEKATNA, "6.10 cala", None),  # an unknown unit
        (PRZEKATNA, 6.1, "6.1"),
        (PRZEKATNA, "6", "6"),
        (WAGA, "171 g", "0.171"),
        (WAGA, "1,5 kg", "1.5"),
        (WAGA, "0.25", "0.25"),
        (POJEMNOSC, "1700 ml", "1.7"),
        (POJEMNOSC, "1,7 l", "1.7"),
        (POJEMNOSC, "1.7 litra", None),
    ],
)
def test_numbers_are_parsed_and_converted_to_the_parameters_unit(
    definition: dict[str, Any], value: Any, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(ValueProblem, match="cannot be converted"):
            convert(definition, value)
    else:
        assert convert(definition, value).parameter == {
            "id": definition["id"],
            "values": [expected],
        }


def test_the_rules_scale_and_unit_apply_to_bare_numbers() -> None:
    assert convert(WAGA, 171, rule=rule(scale=0.001)).parameter["values"] == ["0.171"]
    assert convert(WAGA, "171", rule=rule(unit="g")).parameter["values"] == ["0.171"]
    # The value's own unit wins over the rule's unit; scale ignores units altogether.
    assert convert(WAGA, "2 kg", rule=rule(unit="g")).parameter["values"] == ["2"]
    assert convert(WAGA, "2000 g", rule=rule(scale=0.001)).parameter["values"] == ["2"]
    cm = parameter("85167", "207838")  # Długość przewodu, m, precision 2
    assert convert(cm, 120, rule=rule(unit="cm")).parameter["values"] == ["1.2"]


def test_inches_convert_to_lengths() -> None:
    szerokosc = parameter("85166", "223333")  # cm
    assert convert(szerokosc, '10"').parameter["values"] == ["25.4"]
    assert convert(PRZEKATNA, "155 mm").parameter["values"] == ["6.1"]


def test_floats_are_rounded_to_the_precision_with_a_note() -> None:
    converted = convert(WAGA, "171.4567 g")
    assert converted.parameter["values"] == ["0.171"]
    assert converted.notes == [
        'parameter "Waga produktu z opakowaniem jednostkowym" (17448): 0.1714567 rounded to '
        "0.171 (3 decimal places)"
    ]
    assert convert(WAGA, "0.1235").parameter["values"] == ["0.124"]  # half up


def test_integers_must_come_out_whole() -> None:
    with pytest.raises(ValueProblem, match=r"6\.5 GB is not a whole number"):
        convert(PAMIEC, "6,5")


@pytest.mark.parametrize("value", ["0", "5000", "-1"])
def test_min_and_max_are_checked(value: str) -> None:
    with pytest.raises(ValueProblem, match=r"is outside 1\.\.4096 GB"):
        convert(PAMIEC, value)


@pytest.mark.parametrize("value", ["około 5", "dużo", True, "5 5 5"])
def test_text_that_is_not_a_number_is_a_problem(value: Any) -> None:
    with pytest.raises(ValueProblem, match="is not a number"):
        convert(PAMIEC, value)


def test_a_number_parameter_takes_one_value() -> None:
    with pytest.raises(ValueProblem, match="takes one"):
        convert(PAMIEC, ["64", "128"])


def test_format_number() -> None:
    assert format_number(Decimal("0.250")) == "0.25"
    assert format_number(Decimal("1E+2")) == "100"
    assert format_number(Decimal("-0.0")) == "0"


# --- ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("25-75", "25", "75"),
        ("2,5 - 7,5", "2.5", "7.5"),
        ("25 \u2013 75 mm", "2.5", "7.5"),
        ("od 3 do 8 cm", "3", "8"),
        ("30mm-80mm", "3", "8"),
        ("3..8", "3", "8"),
        (["3", "8"], "3", "8"),
        ([3, 8.5], "3", "8.5"),
        ("5", "5", "5"),
        (5, "5", "5"),
    ],
)
def test_range_values_come_from_text_or_lists(value: Any, low: str, high: str) -> None:
    assert convert(ZAKRES, value).parameter == {
        "id": "211966",
        "rangeValue": {"from": low, "to": high},
    }


def test_integer_ranges_and_their_problems() -> None:
    assert convert(WIEK, "6-12 lat").parameter["rangeValue"] == {"from": "6", "to": "12"}
    assert convert(WIEK, "od 24 miesięcy do 3 lat").parameter["rangeValue"] == {
        "from": "2",
        "to": "3",
    }
    with pytest.raises(ValueProblem, match=r"1\.5 lata is not a whole number"):
        convert(WIEK, "od 18 miesięcy do 3 lat")
    with pytest.raises(ValueProblem, match="starts at 12 after its end 6"):
        convert(WIEK, "12-6")
    with pytest.raises(ValueProblem, match=r"outside 0\.\.18"):
        convert(WIEK, "6-20")
    with pytest.raises(ValueProblem, match="a range takes one or two"):
        convert(WIEK, ["1", "2", "3"])


# --- text -------------------------------------------------------------------------------------


def test_strings_take_text_and_numbers() -> None:
    assert convert(EAN, "0194253215431").parameter == {"id": "225693", "values": ["0194253215431"]}
    assert convert(MPN, 12345).parameter["values"] == ["12345"]
    assert convert(MPN, 1.0).parameter["values"] == ["1"]
    assert convert(DEDYKOWANY, ["iPhone 15", "iPhone 15 Pro"]).parameter["values"] == [
        "iPhone 15",
        "iPhone 15 Pro",
    ]


def test_string_limits() -> None:
    with pytest.raises(ValueProblem, match="takes at most 1"):
        convert(MPN, ["A1", "A2"])
    with pytest.raises(ValueProblem) as caught:
        convert(MPN, "X" * 36)
    assert caught.value.code == "ConstraintViolationException.StringLength"
    assert "has 36 characters; the parameter takes 1..35" in caught.value.reason


# --- required -------------------------------------------------------------------------------


def test_required_follows_required_if() -> None:
    assert is_required(KOLOR, {})
    assert not is_required(WAGA, {})
    # Kod producenta: required only while the EAN (225693) has no value.
    assert is_required(MPN, {})
    assert not is_required(MPN, {"225693": set()})
    conditional = {
        **KOLOR,
        "requiredIf": {"parametersWithValue": [{"id": "11323", "oneOfValueIds": ["11323_2"]}]},
    }
    assert is_required(conditional, {"11323": {"11323_2"}})
    assert not is_required(conditional, {"11323": {"11323_1"}})
    assert not is_required(conditional, {})
