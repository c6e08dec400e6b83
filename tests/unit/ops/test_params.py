"""The mapping template of ``allegro-feed params``: complete, commented, and loadable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.mapping import parse_mapping
from workers.allegro import Category, CategoryParameter, MatchingCategory
from workers.ops.params import (
    DICTIONARY_VALUES_SHOWN,
    attribute_guess,
    describe_parameter,
    match_path,
    render_template,
)

FETCHED = datetime(2026, 7, 18, 12, 0, tzinfo=UTC)


def _parameter(**fields: Any) -> CategoryParameter:
    return CategoryParameter.model_validate(fields)


STAN = _parameter(
    id="11323",
    name="Stan",
    type="dictionary",
    required=True,
    requiredForProduct=False,
    options={"describesProduct": False, "customValuesEnabled": False},
    dictionary=[{"id": "11323_1", "value": "Nowy"}, {"id": "11323_2", "value": "Używany"}],
    restrictions={"multipleChoices": False},
)
COLOURS = _parameter(
    id="246561",
    name='Kolor "główny"',
    type="dictionary",
    required=False,
    requiredForProduct=True,
    options={
        "describesProduct": True,
        "customValuesEnabled": True,
        "ambiguousValueId": "246561_99",
    },
    dictionary=[{"id": f"246561_{n}", "value": f"kolor {n}"} for n in range(1, 26)],
    restrictions={"multipleChoices": True},
    requiredIf={"parametersWithValue": [{"id": "11323", "oneOfValueIds": ["11323_1"]}]},
)
WEIGHT = _parameter(
    id="17448",
    name="Waga produktu z opakowaniem jednostkowym",
    type="float",
    unit="kg",
    required=False,
    options={"describesProduct": True},
    restrictions={"min": 0, "max": "1000.50", "precision": 3, "range": False},
)
MPN = _parameter(
    id="224017",
    name="Kod producenta",
    type="string",
    options={"describesProduct": True},
    restrictions={"minLength": 1, "maxLength": 35, "allowedNumberOfValues": 1},
    formerData={"names": ["MPN"]},
)
CATEGORY = Category.model_validate(
    {"id": "165", "name": "Smartfony", "leaf": True, "parent": {"id": "4"}}
)
PATH = [
    Category.model_validate({"id": "42540aec", "name": "Elektronika", "leaf": False}),
    Category.model_validate({"id": "4", "name": "Telefony", "leaf": False}),
    CATEGORY,
]


def _render(parameters: list[CategoryParameter]) -> str:
    return render_template(CATEGORY, PATH, parameters, fetched_at=FETCHED, environment="local")


def test_the_template_is_a_valid_mapping_with_one_rule_per_parameter() -> None:
    text = _render([STAN, COLOURS, WEIGHT, MPN])
    mapping = parse_mapping(text)
    assert [r.parameter for r in mapping.attributes] == ["11323", "246561", "17448", "224017"]
    assert all(r.categories == ["165"] for r in mapping.attributes)
    assert [r.attribute for r in mapping.attributes] == [
        "stan",
        "kolor_główny",
        "waga_produktu_z_opakowaniem_jednostkowym",
        "kod_producenta",
    ]
    assert mapping.categories.exact == {} and mapping.defaults.condition is None


def test_the_header_names_the_category_its_path_and_what_to_fill_in() -> None:
    text = _render([STAN, COLOURS])
    assert 'category 165 "Smartfony"' in text
    assert "Elektronika > Telefony > Smartfony" in text
    assert "2 parameters (1 required in the offer, 1 required to" in text
    assert "2026-07-18 12:00 UTC" in text
    assert "allegro-feed check-mapping FILE --against-allegro" in text


def test_each_rule_is_described_for_the_person_filling_it_in() -> None:
    text = _render([STAN, COLOURS, WEIGHT, MPN])
    assert "# --- 11323 Stan -" in text
    assert "dictionary, offer parameter, REQUIRED in the offer" in text
    assert "values (2): Nowy (11323_1), Używany (11323_2)" in text
    assert f"values (first {DICTIONARY_VALUES_SHOWN} of 25)" in text
    assert "(246561_20)" in text and "246561_21" not in text
    assert "required only if: 11323 is one of [11323_1]" in text
    assert "own text allowed with the value 246561_99" in text
    assert "several values allowed" in text
    assert "float, product parameter (describesProduct), unit kg, optional" in text
    assert "from 0 to 1000.5; at most 3 decimal places" in text
    assert "1 to 35 characters; at most 1 value" in text
    assert "formerly: MPN" in text
    assert all(len(line) <= 100 for line in text.splitlines() if line.lstrip().startswith("#"))


def test_describe_marks_an_optional_offer_parameter() -> None:
    plain = _parameter(id="1", name="Opis", type="string", options={"describesProduct": False})
    assert describe_parameter(plain) == ["string, offer parameter, optional"]


def test_a_category_without_parameters_still_gives_a_valid_file() -> None:
    mapping = parse_mapping(_render([]))
    assert mapping.attributes == []


def test_attribute_guess_falls_back_to_the_id() -> None:
    assert attribute_guess(_parameter(id="9", name="  Moc (W) ")) == "moc_w"
    assert attribute_guess(_parameter(id="9", name="---")) == "param_9"


def test_a_suggestion_is_shown_with_its_full_path() -> None:
    match = MatchingCategory.model_validate(
        {
            "id": "67490",
            "name": "Czajniki elektryczne",
            "parent": {"id": "1", "name": "AGD", "parent": {"id": "0", "name": "Dom i Ogród"}},
        }
    )
    assert match_path(match) == "Dom i Ogród > AGD > Czajniki elektryczne"
