"""Local rules as strict as Allegro's on dictionary values (spec createProductOffers 422:
DictionaryParameterValueNotUnique, DictionaryParameterIdsAndValuesNotMatch), and the
attribute converter never producing the mismatched shape itself."""

from __future__ import annotations

from typing import Any

import pytest

from workers.domain.attributes import ValueProblem, convert
from workers.domain.rules_parameters import check_parameters

COLOUR: dict[str, Any] = {
    "id": "300",
    "name": "Kolor",
    "type": "dictionary",
    "required": False,
    "options": {
        "describesProduct": False,
        "ambiguousValueId": "300_99",
        "customValuesEnabled": True,
    },
    "restrictions": {"multipleChoices": True},
    "dictionary": [
        {"id": "300_1", "value": "czarny"},
        {"id": "300_2", "value": "biały"},
        {"id": "300_99", "value": "inny"},
    ],
}


def _codes(parameter: dict[str, Any]) -> list[tuple[str, str | None]]:
    body = {"category": {"id": "1"}, "parameters": [parameter]}
    return [(e.code, e.path) for e in check_parameters(body, [COLOUR], catalogue_linked=False)]


@pytest.mark.parametrize(
    ("parameter", "path"),
    [
        ({"id": "300", "valuesIds": ["300_1", "300_1"]}, "parameters[0].valuesIds[1]"),
        ({"id": "300", "values": ["czarny", "Czarny"]}, "parameters[0].values[1]"),
    ],
    ids=["ids", "labels by case"],
)
def test_a_value_given_twice_is_not_unique(parameter: dict[str, Any], path: str) -> None:
    assert _codes(parameter) == [("DictionaryParameterValueNotUnique", path)]


@pytest.mark.parametrize(
    "parameter",
    [
        {"id": "300", "valuesIds": ["300_1", "300_2"], "values": ["czarny"]},
        {"id": "300", "valuesIds": ["300_99"], "values": ["zielony", "żółty"]},
        {"id": "300", "valuesIds": ["300_1", "300_99"], "values": ["zielony"]},
        {"id": "300", "valuesIds": ["300_1", "300_99"], "values": ["biały", "zielony"]},
    ],
    ids=["fewer labels", "two custom texts", "custom without the id's label", "wrong label"],
)
def test_values_and_ids_that_do_not_pair_up_do_not_match(parameter: dict[str, Any]) -> None:
    assert _codes(parameter) == [("DictionaryParameterIdsAndValuesNotMatch", "parameters[0]")]


@pytest.mark.parametrize(
    "parameter",
    [
        {"id": "300", "valuesIds": ["300_1", "300_2"], "values": ["czarny", "biały"]},
        {"id": "300", "valuesIds": ["300_99"], "values": ["zielony"]},
        {"id": "300", "valuesIds": ["300_1", "300_99"], "values": ["czarny", "zielony"]},
        {"id": "300", "valuesIds": ["300_1", "300_2"]},
    ],
)
def test_values_that_pair_up_pass(parameter: dict[str, Any]) -> None:
    assert _codes(parameter) == []


def test_the_converter_refuses_two_custom_texts() -> None:
    with pytest.raises(ValueProblem) as caught:
        convert(COLOUR, ["zielony", "fioletowy"])
    assert "only one custom value" in str(caught.value.reason)
    assert "mapping file" in caught.value.fix


def test_the_converter_sends_one_custom_text_paired_with_its_labels() -> None:
    converted = convert(COLOUR, ["czarny", "fioletowy"]).parameter
    assert converted == {
        "id": "300",
        "valuesIds": ["300_1", "300_99"],
        "values": ["czarny", "fioletowy"],
    }
    assert _codes(converted) == []
