"""Loading the spec: YAML 1.2 scalar rules, the counts of SOURCE.md, the parse cache."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from .openapi import Spec, _cache_dir, load_spec, load_yaml12

pytestmark = pytest.mark.contract

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # YAML 1.1 (PyYAML's default) reads these as numbers, dates, booleans or octal.
        ("11323_1", "11323_1"),
        ("202870_1", "202870_1"),
        ("1_000", "1_000"),
        ("2024-06-30", "2024-06-30"),
        ("2024-06-30T08:11:36.000Z", "2024-06-30T08:11:36.000Z"),
        ("2024-06-30 08:11:36", "2024-06-30 08:11:36"),
        ("12:30", "12:30"),
        ("yes", "yes"),
        ("off", "off"),
        ("010", 10),
        # The YAML 1.2 core schema still resolves these.
        ("0o17", 15),
        ("0x1F", 31),
        ("-7", -7),
        ("100", 100),
        ("100.0", 100.0),
        ("1e3", 1000.0),
        ("-.5", -0.5),
        ("true", True),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("'11323_1'", "11323_1"),
    ],
)
def test_yaml12_scalars(text: str, expected: Any) -> None:
    value = load_yaml12(f"v: {text}\n")["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_yaml12_special_floats() -> None:
    loaded = load_yaml12("a: .inf\nb: -.Inf\nc: .NaN\n")
    assert loaded["a"] == math.inf
    assert loaded["b"] == -math.inf
    assert math.isnan(loaded["c"])


def test_pyyaml_default_is_the_trap_we_avoid() -> None:
    # Why the custom loader exists (FACTS.md §14, SOURCE.md "Parsing note").
    assert yaml.safe_load("v: 11323_1")["v"] == 113231
    assert yaml.safe_load("v: 2024-06-30")["v"] != "2024-06-30"


def test_counts_match_source_md(allegro_spec: Spec) -> None:
    assert allegro_spec.document["openapi"] == "3.0.0"
    assert len(allegro_spec.paths) == 201
    assert len(list(allegro_spec.operations())) == 267
    assert len(allegro_spec.schemas) == 955


def test_dictionary_value_ids_stay_strings(allegro_spec: Spec) -> None:
    content = allegro_spec.paths["/sale/categories/{categoryId}/parameters"]["get"]["responses"][
        "200"
    ]["content"]["application/vnd.allegro.public.v1+json"]
    dictionary = content["examples"]["dictionary"]["value"]["parameters"][0]
    assert dictionary["dictionary"][0]["id"] == "11323_1"
    assert dictionary["requiredIf"]["parametersWithValue"][0]["oneOfValueIds"] == ["202870_1"]


def test_spec_examples_equal_the_independent_extraction(
    allegro_spec: Spec, allegro_examples: Path
) -> None:
    # examples/spec/ was extracted from the same file with YAML 1.2 rules by someone else.
    extracted = json.loads(
        (allegro_examples / "spec" / "GET_sale-categories-id-parameters.examples.json").read_text(
            encoding="utf-8"
        )
    )
    content = allegro_spec.paths["/sale/categories/{categoryId}/parameters"]["get"]["responses"][
        "200"
    ]["content"]["application/vnd.allegro.public.v1+json"]
    assert {name: example["value"] for name, example in content["examples"].items()} == extracted


def test_parse_cache_round_trips_and_lives_outside_the_repo(allegro_spec: Spec) -> None:
    assert allegro_spec.source is not None
    fresh = load_spec(allegro_spec.source, disk_cache=False)  # a full YAML parse
    assert fresh is not allegro_spec
    assert fresh.document == allegro_spec.document
    assert load_spec(allegro_spec.source) is allegro_spec  # per-process cache
    cache = _cache_dir()
    if cache is not None:
        assert not cache.resolve().is_relative_to(REPO_ROOT)
        assert list(cache.glob("openapi-*.json"))


def test_the_spec_is_not_copied_into_the_repo(allegro_spec: Spec) -> None:
    assert allegro_spec.source is not None
    size = allegro_spec.source.stat().st_size
    pruned = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
    copies = []
    for folder, subfolders, files in os.walk(REPO_ROOT):
        subfolders[:] = [name for name in subfolders if name not in pruned]
        for name in files:
            path = Path(folder) / name
            if path.is_file() and path.stat().st_size > size // 2:
                head = path.read_bytes()[:4096]
                if b"Allegro REST API" in head or b"developer.allegro.pl/swagger.yaml" in head:
                    copies.append(str(path.relative_to(REPO_ROOT)))
    assert copies == [], "the spec must be read from ../shared, never copied into the repo"
