"""The mapping's defaults.condition reaches the offer only in a category that has the
condition parameter ("Stan", 11323), in the category's own terms; elsewhere it is left out
(Allegro answers ParameterIdNotFoundException for a parameter the category lacks)."""

from __future__ import annotations

from typing import Any

from schemas.mapping import MappingDefaults, MappingFile, parse_mapping
from workers.domain.enrich import enrich
from workers.domain.model import CategoryChoice
from workers.domain.offer import build_offer
from workers.domain.validate import validate_offer

from .test_offer import PARAMETERS, state

MAPPING = parse_mapping('version: 1\ndefaults: {condition: "11323_1"}\n')
CHOICE = CategoryChoice("999", "override", None)


def _body(parameters: list[dict[str, Any]], mapping: MappingFile = MAPPING) -> dict[str, Any]:
    enriched = enrich(state(), CHOICE, parameters, [], mapping)
    return build_offer(state(), enriched, currency="PLN", defaults=mapping.defaults)


def test_a_category_without_condition_gets_no_default_condition() -> None:
    without = [p for p in PARAMETERS if p["id"] != "11323"]

    body = _body(without)

    assert all(p.get("id") != "11323" for p in body.get("parameters", []))
    assert validate_offer(body, without, currency="PLN", catalogue_linked=False) == []


def test_a_category_with_condition_gets_the_default() -> None:
    body = _body(PARAMETERS)

    assert {"id": "11323", "valuesIds": ["11323_1"]} in body["parameters"]
    assert validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=False) == []


def test_a_condition_label_default_is_matched_to_the_dictionary() -> None:
    mapping = parse_mapping("version: 1\ndefaults: {condition: Nowy}\n")
    body = _body(PARAMETERS, mapping)
    [condition] = [p for p in body["parameters"] if p["id"] == "11323"]
    assert validate_offer(body, PARAMETERS, currency="PLN", catalogue_linked=False) == []
    assert condition.get("valuesIds") or condition.get("values")


def test_the_builder_alone_never_adds_a_condition() -> None:
    from .test_offer import enriched

    body = build_offer(
        state(),
        enriched(offer_parameters=[]),
        currency="PLN",
        defaults=MappingDefaults(condition="11323_1"),
    )
    assert "parameters" not in body
