"""ALLEGRO_FEED_ACCEPT_LANGUAGE is checked against the values Allegro's spec allows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from workers.settings import ACCEPT_LANGUAGES, Settings

#: ../shared/allegro/openapi.yaml relative to the repository root, when it exists.
SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "allegro" / "openapi.yaml"
#: The paths the Allegro client calls (a few other operations allow fewer languages).
CLIENT_PATHS = re.compile(
    r"^/sale/(categories|matching-categories|products|product-offers|offers$"
    r"|offer-(quantity|price|publication|modification)-change-commands"
    r"|offer-(publication|modification)-commands)"
)


@pytest.mark.parametrize("value", ACCEPT_LANGUAGES)
def test_every_allowed_value_is_accepted(value: str) -> None:
    assert Settings(accept_language=value).accept_language == value


def test_case_is_normalised_to_the_spec_spelling() -> None:
    assert Settings(accept_language="pl-pl").accept_language == "pl-PL"


@pytest.mark.parametrize("value", ["pl", "en", "de-DE", "", "en_US"])
def test_other_values_fail_naming_the_variable_and_the_allowed_values(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(accept_language=value)
    text = str(caught.value)
    assert "ALLEGRO_FEED_ACCEPT_LANGUAGE" in text
    for allowed in ACCEPT_LANGUAGES:
        assert allowed in text


def test_a_bad_value_from_the_environment_fails_at_startup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLEGRO_FEED_ACCEPT_LANGUAGE", "pl")
    with pytest.raises(ValidationError, match="ALLEGRO_FEED_ACCEPT_LANGUAGE"):
        Settings()


@pytest.mark.skipif(not SPEC.exists(), reason="the spec is not beside the repository")
def test_allowed_values_are_the_specs_enum() -> None:
    spec = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506
    enums = set()
    for path, operations in spec["paths"].items():
        if not CLIENT_PATHS.match(path):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("name", "").lower() == "accept-language":
                    enums.add(tuple(parameter["schema"]["enum"]))
    assert enums == {ACCEPT_LANGUAGES}
