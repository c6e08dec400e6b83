"""Where the values of step 2 come from (pure): one :class:`Candidate` per source and
parameter.

:func:`override_parameters` reads ``allegro.parameters`` (Allegro's request shape, used as
sent), :func:`attribute_candidates` the store attributes (through the mapping file's rules,
or named like a parameter) and :func:`field_candidates` the product's fields (``ean``,
``mpn``, ``brand``); :mod:`workers.domain.enrich` chooses among them and converts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.mapping import AttributeRule, MappingFile, normalize_name
from schemas.status import StatusError
from workers.domain.attributes import ParameterIndex, fold
from workers.domain.catalogue_link import EAN_PARAMETER_ID, MPN_PARAMETER_ID
from workers.domain.model import CategoryChoice, problem
from workers.domain.rules_common import Code

__all__ = [
    "BRAND_PREFIX",
    "Candidate",
    "attribute_candidates",
    "field_candidates",
    "override_parameters",
    "parameter_id",
]

#: The brand parameter is named "Marka" or "Marka <something>" ("Marka telefonu").
BRAND_PREFIX = "marka"

_RULE, _FIELD, _NAMED = 1, 2, 3  # priorities of the sources (overrides are applied first)


@dataclass(frozen=True)
class Candidate:
    """One source's value for one parameter."""

    definition: dict[str, Any]
    value: Any
    path: str  # where the value came from, in the event: attributes.kolor, brand, ...
    label: str  # the same, for people: attribute "kolor"
    priority: int
    rule: AttributeRule | None = None


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def parameter_id(definition: Mapping[str, Any]) -> str:
    return str(definition["id"])


# --- where values come from --------------------------------------------------------------


def _brand_parameter(index: ParameterIndex) -> dict[str, Any] | None:
    for definition in index.definitions:
        name = fold(str(definition.get("name", "")))
        if name == BRAND_PREFIX or name.startswith(BRAND_PREFIX + " "):
            return definition
    return None


def field_candidates(
    product: Mapping[str, Any], index: ParameterIndex, notes: list[str]
) -> list[Candidate]:
    definitions = {
        "ean": index.by_id(EAN_PARAMETER_ID) or index.by_name("EAN (GTIN)"),
        "mpn": index.by_id(MPN_PARAMETER_ID) or index.by_name("Kod producenta"),
        "brand": _brand_parameter(index),
    }
    found = []
    for name, definition in definitions.items():
        value = product.get(name)
        if value in (None, ""):
            continue
        if definition is None:
            notes.append(f"{name} {_show(value)}: the category has no parameter for it")
            continue
        found.append(Candidate(definition, value, name, f"{name} {_show(value)}", _FIELD))
    return found


def attribute_candidates(
    attributes: Mapping[str, Any],
    index: ParameterIndex,
    choice: CategoryChoice,
    mapping: MappingFile | None,
    notes: list[str],
) -> list[Candidate]:
    rules = mapping.rules_for(choice.category_id) if mapping is not None else []
    found = []
    for name, value in attributes.items():
        if value in (None, "", []):
            continue
        label = f'attribute "{name}" = {_show(value)}'
        path = f"attributes.{name}"
        matched = False
        key = normalize_name(name)
        for rule in (r for r in rules if r.attribute_key == key):
            if rule.parameter is not None:
                definition = index.by_id(rule.parameter)
            else:
                definition = index.by_name(rule.parameter_name or "")
            if definition is None:
                wanted = rule.parameter or f'"{rule.parameter_name}"'
                notes.append(
                    f'attribute "{name}": the mapping rule names parameter {wanted}, which '
                    f"category {choice.category_id} does not have"
                )
                continue
            found.append(Candidate(definition, value, path, label, _RULE, rule))
            matched = True
        if matched:
            continue
        definition = index.by_name(name) or index.by_id(name)
        if definition is not None:
            found.append(Candidate(definition, value, path, label, _NAMED))
        else:
            notes.append(
                f'attribute "{name}" matches no parameter of category {choice.category_id}; '
                "add a rule to the mapping file's attributes if it should be sent"
            )
    return found


def override_parameters(
    product: Mapping[str, Any], index: ParameterIndex, choice: CategoryChoice
) -> tuple[dict[str, dict[str, Any]], list[StatusError]]:
    """``allegro.parameters`` by parameter id, in Allegro's request shape."""
    overrides = product.get("allegro") or {}
    result: dict[str, dict[str, Any]] = {}
    problems = []
    for position, raw in enumerate(overrides.get("parameters") or []):
        definition = index.by_id(str(raw.get("id")))
        if definition is None:
            problems.append(
                problem(
                    Code.PARAMETER_ID_NOT_FOUND,
                    f"Parameter {raw.get('id')} sent in allegro.parameters does not exist in "
                    f"category {choice.category_id}. Remove it or use an id from the "
                    "category's parameters.",
                    path=f"allegro.parameters[{position}]",
                )
            )
            continue
        entry: dict[str, Any] = {"id": parameter_id(definition)}
        values_ids = raw.get("valuesIds", raw.get("values_ids"))
        range_value = raw.get("rangeValue", raw.get("range_value"))
        if raw.get("values") is not None:
            entry["values"] = [str(v) for v in raw["values"]]
        if values_ids is not None:
            entry["valuesIds"] = [str(v) for v in values_ids]
        if range_value is not None:
            low = range_value.get("from", range_value.get("from_"))
            entry["rangeValue"] = {"from": str(low), "to": str(range_value.get("to"))}
        result[entry["id"]] = entry
    return result, problems
