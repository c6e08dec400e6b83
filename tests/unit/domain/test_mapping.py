"""The mapping file: YAML 1.2 reading, validation with every problem listed, helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from schemas import MappingError, SchemaError, load_mapping, parse_mapping
from schemas.errors import ErrorCode
from schemas.generate import default_directory
from schemas.mapping import (
    EXAMPLE_MAPPING,
    AttributeRule,
    MappingFile,
    normalize_category_path,
)

FULL = """\
version: 1
defaults:
  condition: 11323_1          # unquoted: YAML 1.1 would read the integer 113231
  handling_time: PT24H
  shipping_rates: default
  return_policy: 30 dni
categories:
  exact:
    "Elektronika > Telefony > Smartfony": "165"
    SKU-CAT-17: 165            # an unquoted id is taken as its text
  prefix: {"Dom i ogród > Kuchnia": "67490"}
  default: null
attributes:
  - attribute: kolor
    parameter: "127448"
    categories: ["165"]
    values: {"grafit": "szary", no: nie, 16: 16 GB}
  - attribute: waga_g
    parameter_name: Waga produktu z opakowaniem jednostkowym
    scale: 0.001
  - attribute: dlugosc
    parameter: 207838
    unit: cm
"""


def problems(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text)
    return [str(e) for e in caught.value.field_errors]


def test_a_full_file_loads_with_yaml_1_2_rules() -> None:
    mapping = parse_mapping(FULL)
    assert mapping.version == 1
    assert mapping.defaults.condition == "11323_1"
    assert mapping.defaults.handling_time == "PT24H"
    assert mapping.defaults.return_policy == "30 dni"
    assert mapping.categories.exact == {
        "Elektronika > Telefony > Smartfony": "165",
        "SKU-CAT-17": "165",
    }
    assert mapping.categories.default is None
    kolor, waga, dlugosc = mapping.attributes
    # "no" stays a word (YAML 1.1: false) and 16 becomes "16".
    assert kolor.values == {"grafit": "szary", "no": "nie", "16": "16 GB"}
    assert waga.parameter is None and waga.scale == 0.001
    assert dlugosc.parameter == "207838" and dlugosc.unit == "cm"


def test_the_example_mapping_is_valid_and_validates_against_the_json_schema() -> None:
    assert MappingFile.model_validate(EXAMPLE_MAPPING).attributes[0].parameter == "246561"
    schema = json.loads((default_directory() / "mapping-file.v1.schema.json").read_text("utf-8"))
    check = Draft202012Validator(schema)
    assert list(check.iter_errors(EXAMPLE_MAPPING)) == []
    assert schema["examples"] == [EXAMPLE_MAPPING]
    assert not check.is_valid({**EXAMPLE_MAPPING, "categoriez": {}})
    assert not check.is_valid({"version": 2})


def test_the_sample_shop_mapping_loads() -> None:
    sample = Path(__file__).resolve().parents[3] / "workers" / "sample" / "mapping.yaml"
    if not sample.is_file():
        pytest.skip("no sample mapping in this checkout")
    mapping = load_mapping(sample)
    assert mapping.categories.exact and mapping.attributes


def test_every_problem_is_listed_with_path_line_and_fix() -> None:
    text = """\
version: 2
defaults:
  condition: 246561_3
  handling_time: 2 days
categories:
  exact: {"A > B": "1", "a/b": "2"}
  prefx: {}
attributes:
  - attribute: kolor
    parameter: "1"
    values: {Grafit: b, grafit: c}
    scale: -1
  - {attribute: x, parameter: "1", parameter_name: y}
  - {attribute: z, parameter: "2", categories: []}
"""
    found = problems(text)
    assert found == [
        "version: must be 1, got 2 (line 1); write version: 1 at the top of the file",
        "defaults.condition: 246561_3 is a value id of parameter 246561, not of 11323 (Stan) "
        '(line 3); use "11323_1" (Nowy), "11323_2" (Używany) or a label such as "Nowy"',
        'defaults.handling_time: must be an ISO 8601 duration such as PT24H, P2D or P3D, got "2 '
        'days" (line 4); use one of PT0S, PT24H, P2D, P3D, P4D, P5D, P7D, P10D, P14D, P21D, '
        "P30D, P60D",
        'categories.exact.a/b: is the same category as "A > B" once separators, spaces and case '
        "are normalised (line 6); keep one of the two keys",
        'categories.prefx: is not a field of this schema (line 7); did you mean "prefix"?',
        'attributes[0].values.grafit: is the same store value as "Grafit" once case and spaces '
        "are normalised (line 11); keep one of the two",
        "attributes[0].scale: must be greater than 0.0, got -1 (line 12); raise it",
        "attributes[1].parameter: needs exactly one of parameter and parameter_name (line 13); "
        'give the Allegro parameter id (parameter: "246561") or its name',
        "attributes[2].categories: must have at least 1 item(s) (an empty list never applies; "
        "leave categories out to apply in every category) (line 14); add items",
    ]


def test_the_message_has_a_header_and_one_dash_separated_line_per_problem() -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping("version: 1\ncategories: {exact: {a: ''}}\n", source="shop.yaml")
    error = caught.value
    assert isinstance(error, SchemaError)
    assert error.source == "shop.yaml"
    lines = str(error).splitlines()
    assert lines[0] == "mapping file shop.yaml: 1 problem"
    assert lines[1].startswith("categories.exact.a: must not be empty (line 2) — ")


def test_a_repeated_rule_is_reported_after_the_fields_are_valid() -> None:
    text = """\
version: 1
attributes:
  - {attribute: Kolor, parameter: "127448"}
  - {attribute: kolor, parameter: "127448"}
"""
    assert problems(text) == [
        "attributes[1]: repeats attributes[0] (same attribute, parameter and categories) "
        "(line 4); merge the two rules into one"
    ]


def test_missing_version_and_parameter_use_the_missing_code() -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping("attributes:\n  - attribute: kolor\n")
    codes = {e.field: e.code for e in caught.value.field_errors}
    assert codes["version"] == ErrorCode.MISSING_FIELD
    assert codes["attributes[0].parameter"] == ErrorCode.MISSING_FIELD


def test_a_yaml_syntax_error_names_line_and_column() -> None:
    (message,) = problems("version: 1\ncategories:\n  exact: {a: [1\n")
    assert message.startswith("is not valid YAML at line 4, column 1:")


def test_a_key_given_twice_is_an_error_with_both_lines() -> None:
    (message,) = problems("version: 1\ncategories:\n  exact:\n    A: '1'\n    A: '2'\n")
    assert "line 5" in message and "found the key 'A' a second time (first on line 4)" in message
    assert message.endswith("keep one of the two entries (merge their contents)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "it is empty"),
        ("# only a comment\n", "it is empty"),
        ("- 1\n- 2\n", "it is a list"),
        ("just text", "it is a str"),
    ],
)
def test_a_document_that_is_not_a_mapping_is_rejected(text: str, expected: str) -> None:
    (message,) = problems(text)
    assert expected in message


def test_bytes_must_be_utf8() -> None:
    with pytest.raises(MappingError, match="is not UTF-8"):
        parse_mapping("version: 1\nx: \xff\n".encode("latin-1"))


def test_load_mapping_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(FULL, encoding="utf-8")
    assert load_mapping(path).categories.prefix == {"Dom i ogród > Kuchnia": "67490"}
    assert load_mapping(str(path)).version == 1

    path.write_text("version: 1\nextra: true\n", encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert caught.value.source == str(path)
    assert str(caught.value).splitlines()[1].startswith("extra: is not a field")


def test_load_mapping_reports_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot be read") as caught:
        load_mapping(tmp_path / "missing.yaml")
    assert "ALLEGRO_FEED_MAPPING_FILE" in str(caught.value)
    with pytest.raises(MappingError, match="cannot be read"):
        load_mapping(tmp_path)


def test_ids_must_not_contain_spaces_and_booleans_are_not_ids() -> None:
    found = problems("version: 1\ncategories:\n  exact: {a: '16 5'}\n  default: true\n")
    assert found[0].startswith("categories.exact.a: must be an Allegro id without spaces")
    assert found[1].startswith("categories.default: must be a string")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dom i ogród > Kuchnia", ("dom i ogród", "kuchnia")),
        ("dom i ogród/kuchnia ", ("dom i ogród", "kuchnia")),
        ("Dom  i Ogród | KUCHNIA", ("dom i ogród", "kuchnia")),
        (" > Dom > > Kuchnia > ", ("dom", "kuchnia")),
        ("SKU-CAT-17", ("sku-cat-17",)),
        (" / ", ()),
    ],
)
def test_category_paths_are_normalised(text: str, expected: tuple[str, ...]) -> None:
    assert normalize_category_path(text) == expected


def test_rules_for_puts_category_specific_rules_first() -> None:
    mapping = parse_mapping(
        """\
version: 1
attributes:
  - {attribute: kolor, parameter: "1"}
  - {attribute: kolor, parameter: "1", categories: ["165"]}
  - {attribute: waga, parameter: "2", categories: ["491"]}
"""
    )
    general, specific, other = mapping.attributes
    assert mapping.rules_for("165") == [specific, general]
    assert mapping.rules_for("491") == [other, general]
    assert specific.applies_to("165") and not specific.applies_to("491")


def test_a_rule_translates_store_values_case_insensitively() -> None:
    rule = AttributeRule(attribute="kolor", parameter="1", values={"Tytan Naturalny": "szary"})
    assert rule.translate("tytan  naturalny") == "szary"
    assert rule.translate("czarny") is None
