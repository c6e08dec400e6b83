"""``check-mapping --against-allegro``: the checks, with Allegro's answers scripted."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from schemas.mapping import parse_mapping
from workers.allegro import Category, CategoryParameter
from workers.ops import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from workers.ops.mapping_check import (
    CategoryFacts,
    check_against_allegro,
    format_problem,
    run_check_mapping,
    targets,
)

STAN = {
    "id": "11323",
    "name": "Stan",
    "type": "dictionary",
    "dictionary": [{"id": "11323_1", "value": "Nowy"}, {"id": "11323_2", "value": "Używany"}],
}
KOLOR = {
    "id": "246561",
    "name": "Kolor",
    "type": "dictionary",
    "dictionary": [{"id": "246561_1", "value": "szary"}, {"id": "246561_2", "value": "czarny"}],
}
WAGA = {"id": "17448", "name": "Waga produktu", "type": "float", "unit": "kg"}

ALLEGRO: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "165": ({"id": "165", "name": "Smartfony", "leaf": True}, [STAN, KOLOR]),
    "67490": ({"id": "67490", "name": "Czajniki", "leaf": True}, [STAN, WAGA]),
    "4": ({"id": "4", "name": "Telefony", "leaf": False}, []),
}


def facts_of(category_id: str) -> CategoryFacts:
    if category_id not in ALLEGRO:
        return CategoryFacts(None, [])
    category, parameters = ALLEGRO[category_id]
    return CategoryFacts(
        Category.model_validate(category),
        [CategoryParameter.model_validate(p) for p in parameters],
    )


GOOD = """\
version: 1
defaults: {condition: "11323_1"}
categories:
  exact: {"Elektronika > Telefony": "165"}
  prefix: {"Dom > Kuchnia": 67490}
attributes:
  - attribute: kolor
    parameter: "246561"
    categories: ["165"]
    values: {grafit: szary, black: "246561_2"}
  - {attribute: waga_g, parameter_name: waga PRODUKTU, scale: 0.001}
  - {attribute: stan, parameter: "11323"}
"""


def test_a_mapping_allegro_agrees_with_has_no_problems() -> None:
    mapping = parse_mapping(GOOD)
    assert sorted(targets(mapping)) == ["165", "67490"]
    assert check_against_allegro(mapping, facts_of) == []


def test_missing_and_non_leaf_categories_are_named_where_they_are_used() -> None:
    mapping = parse_mapping(
        'version: 1\ncategories:\n  exact: {"A": "4", "B": "999"}\n  default: "999"\n'
    )
    problems = [format_problem(p) for p in check_against_allegro(mapping, facts_of)]
    assert problems == [
        "categories.exact.A: category 4 (Telefony) is not a leaf: offers can only be listed in "
        "leaf categories — use one of its subcategories (allegro-feed params 4 lists them)",
        "categories.exact.B: Allegro has no category 999 — find the right leaf id with: "
        'allegro-feed suggest "<product name>"',
        "categories.default: Allegro has no category 999 — find the right leaf id with: "
        'allegro-feed suggest "<product name>"',
    ]


def test_parameters_and_values_are_checked_in_the_categories_they_apply_to() -> None:
    mapping = parse_mapping(
        """\
version: 1
defaults: {condition: "Jak nowy"}
categories: {exact: {"A": "165", "B": "67490"}}
attributes:
  - {attribute: kolor, parameter: "246561", categories: ["165", "67490"]}
  - {attribute: x, parameter: "1"}
  - {attribute: kolor, parameter: "246561", values: {grafit: grafitowy}}
"""
    )
    problems = [(p.field, p.message) for p in check_against_allegro(mapping, facts_of)]
    assert problems == [
        ("attributes[0].parameter", "parameter '246561' does not exist in category 67490"),
        (
            "attributes[1].parameter",
            "parameter '1' exists in none of the mapped categories (165, 67490)",
        ),
        (
            "attributes[2].values.grafit",
            "'grafitowy' is neither a label nor a value id of parameter 246561 in category 165",
        ),
        ("defaults.condition", "'Jak nowy' is not a value of parameter 11323 (Stan)"),
    ]


def _args(file: Path | None, against: bool = False) -> argparse.Namespace:
    return argparse.Namespace(file=file, against_allegro=against)


def test_the_command_prints_each_problem_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("version: 1\ncategories:\n  exakt: {}\n", encoding="utf-8")
    assert run_check_mapping(_args(path)) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "mapping.yaml: 1 problem(s)" in out
    assert "categories.exakt" in out and "(line 3)" in out
    path.write_text(GOOD, encoding="utf-8")
    assert run_check_mapping(_args(path)) == EXIT_OK
    assert "OK (2 category rules, 3 attribute rules)" in capsys.readouterr().out


def test_without_a_file_the_setting_is_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ALLEGRO_FEED_MAPPING_FILE", raising=False)
    assert run_check_mapping(_args(None)) == EXIT_USAGE
    assert "ALLEGRO_FEED_MAPPING_FILE" in capsys.readouterr().err
