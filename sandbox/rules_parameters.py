"""Rules for each entry of an offer's or product's parameters against the category's
``CategoryParameter`` list.

A request parameter is ``{id | name, values[] | valuesIds[] | rangeValue{from, to}}``.
:func:`read_parameters` checks each entry on its own (does the parameter exist in the
category, is it in the right list, is its value valid for its type and restrictions) and
returns what it understood; the cross-parameter rules (required, ``requiredIf``,
``dependsOnValueIds``, conflicts with a catalogue product) work on that result in
:mod:`sandbox.rules_parameters_cross`.

Codes documented by Allegro are used where one fits (``ParameterIdNotFoundException``,
``ParameterNameNotFoundException``, ``ParameterCategoryException``,
``DictionaryParameterIdNotFound``, ``DictionaryParameterValueNotFound``,
``DictionaryParameterIdsAndValuesNotMatch``, ``DictionaryParameterValueNotUnique``,
``ConstraintViolationException.StringLength``, the two GTIN codes).
For value problems of numeric parameters Allegro publishes no code; the sandbox uses
``ConstraintViolationException.ParameterValueFormat`` / ``ParameterValueRange`` /
``ParameterValuePrecision`` / ``ParameterNumberOfValues`` / ``RangeParameter`` (our names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.rules_common import as_dict, as_list, error, gtin_error, join_path

__all__ = [
    "GTIN_PARAMETER_ID",
    "Given",
    "ParameterSet",
    "as_text",
    "parameter_meta",
    "read_parameters",
]

GTIN_PARAMETER_ID = "225693"

CODE_FORMAT = "ConstraintViolationException.ParameterValueFormat"
CODE_RANGE = "ConstraintViolationException.ParameterValueRange"
CODE_PRECISION = "ConstraintViolationException.ParameterValuePrecision"
CODE_COUNT = "ConstraintViolationException.ParameterNumberOfValues"
CODE_RANGE_PARAM = "ConstraintViolationException.RangeParameter"
CODE_STRING_LENGTH = "ConstraintViolationException.StringLength"

_INTEGER = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass
class Given:
    """A request parameter that was understood (values already validated)."""

    definition: dict[str, Any]
    path: str
    value_ids: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    range_value: tuple[str, str] | None = None
    # False when the entry had errors: it still counts as sent (no "missing" cascade) but
    # takes no part in cross-parameter rules.
    ok: bool = True

    @property
    def id(self) -> str:
        return str(self.definition["id"])


class ParameterSet:
    """A category's parameter definitions, indexed by id and by (former) name."""

    def __init__(self, category_id: str, definitions: list[dict[str, Any]]) -> None:
        self.category_id = category_id
        self.definitions = definitions
        self.by_id = {d["id"]: d for d in definitions}
        self.by_name: dict[str, dict[str, Any]] = {}
        for d in definitions:
            names = [d["name"], *as_dict(d.get("formerData")).get("names", [])]
            for name in names:
                self.by_name.setdefault(name.casefold(), d)


def parameter_meta(definition: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An error's metadata naming the parameter (id, name), then ``extra``."""
    return {"parameterId": definition["id"], "parameterName": definition["name"], **extra}


def as_text(value: Any) -> str:
    """A parameter value as the JSON mapper binds it to a string."""
    # The JSON mapper turns numbers into strings for `values` (the tutorial sends 100).
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _number_errors(raw: str, definition: dict[str, Any], path: str) -> list[dict[str, Any]]:
    kind = definition["type"]
    restrictions = as_dict(definition.get("restrictions"))
    name = definition["name"]
    text = raw.strip()
    pattern = _INTEGER if kind == "integer" else _FLOAT
    if not pattern.match(text):
        what = "an integer" if kind == "integer" else "a number with a dot as decimal separator"
        return [
            error(
                CODE_FORMAT,
                f"The value '{raw}' of parameter '{name}' must be {what}.",
                path=path,
                metadata=parameter_meta(definition, value=raw),
            )
        ]
    number = Decimal(text)
    errors = []
    low, high = restrictions.get("min"), restrictions.get("max")
    if (low is not None and number < Decimal(str(low))) or (
        high is not None and number > Decimal(str(high))
    ):
        errors.append(
            error(
                CODE_RANGE,
                f"The value {raw} of parameter '{name}' must be between {low} and {high}.",
                path=path,
                metadata=parameter_meta(definition, value=raw, min=low, max=high),
            )
        )
    precision = restrictions.get("precision")
    if kind == "float" and precision is not None and "." in text:
        decimals = len(text.split(".", 1)[1].rstrip("0"))
        if decimals > precision:
            errors.append(
                error(
                    CODE_PRECISION,
                    f"The value {raw} of parameter '{name}' may have at most {precision} decimal "
                    "places.",
                    path=path,
                    metadata=parameter_meta(definition, value=raw, precision=precision),
                )
            )
    return errors


def _count_error(definition: dict[str, Any], path: str, count: int, allowed: int) -> dict[str, Any]:
    return error(
        CODE_COUNT,
        f"Parameter '{definition['name']}' accepts at most {allowed} value(s); {count} given.",
        path=path,
        metadata=parameter_meta(definition, allowedNumberOfValues=allowed),
    )


def _dictionary(
    entry: dict[str, Any], definition: dict[str, Any], given: Given
) -> list[dict[str, Any]]:
    path = given.path
    options = as_dict(definition.get("options"))
    labels = {v["id"]: v["value"] for v in definition.get("dictionary", [])}
    ids_by_label = {label.casefold(): vid for vid, label in labels.items()}
    ambiguous = options.get("ambiguousValueId")
    custom_enabled = bool(options.get("customValuesEnabled"))
    ids = [as_text(v) for v in as_list(entry.get("valuesIds"))]
    values = [as_text(v) for v in as_list(entry.get("values"))]
    errors: list[dict[str, Any]] = []

    for vid in ids:
        if vid not in labels:
            errors.append(
                error(
                    "DictionaryParameterIdNotFound",
                    f"Dictionary value id '{vid}' does not exist for parameter "
                    f"'{definition['name']}'.",
                    path=path,
                    metadata=parameter_meta(definition, requestedDictionaryValueId=vid),
                )
            )
    for position, vid in enumerate(ids):
        if vid in ids[:position]:
            errors.append(
                error(
                    "DictionaryParameterValueNotUnique",
                    f"The value id '{vid}' is repeated in parameter '{definition['name']}'.",
                    path=path,
                    metadata={
                        "parameterName": definition["name"],
                        "requestedDictionaryValue": vid,
                    },
                )
            )
    folded = [v.strip().casefold() for v in values]
    for position, value in enumerate(folded):
        if value in folded[:position]:
            errors.append(
                error(
                    "DictionaryParameterValueNotUnique",
                    f"The value '{values[position]}' is repeated in parameter "
                    f"'{definition['name']}'.",
                    path=path,
                    metadata={
                        "parameterName": definition["name"],
                        "requestedDictionaryValue": values[position],
                    },
                )
            )
    if errors:
        return errors

    if ids and values:
        id_labels = {labels[vid].casefold() for vid in ids}
        if ambiguous in ids and custom_enabled:
            # Custom text rides on the "other" entry: the labels of the other ids must still
            # be present, anything else is the seller's own value.
            expected = {labels[vid].casefold() for vid in ids if vid != ambiguous}
            ok = expected <= set(folded)
        else:
            ok = id_labels == set(folded)
        if len(ids) != len(values):  # one value per id: "number of values and ids"
            ok = False
        if not ok:
            errors.append(
                error(
                    "DictionaryParameterIdsAndValuesNotMatch",
                    f"The values and value ids of parameter '{definition['name']}' do not match.",
                    path=path,
                    metadata=parameter_meta(definition),
                )
            )
        resolved = list(dict.fromkeys(ids))
    elif values:
        resolved = []
        for raw, value in zip(values, folded, strict=True):
            found = ids_by_label.get(value)
            if found is None:
                errors.append(
                    error(
                        "DictionaryParameterValueNotFound",
                        f"The value '{raw}' does not exist in the dictionary of parameter "
                        f"'{definition['name']}'.",
                        path=path,
                        metadata=parameter_meta(definition, requestedDictionaryValue=raw),
                    )
                )
            elif found not in resolved:
                resolved.append(found)
    else:
        resolved = list(dict.fromkeys(ids))

    multiple = bool(as_dict(definition.get("restrictions")).get("multipleChoices"))
    if not multiple and len(resolved) > 1:
        errors.append(_count_error(definition, path, len(resolved), 1))
    given.value_ids = resolved
    given.values = values or [labels[vid] for vid in resolved if vid in labels]
    return errors


def _scalar(
    entry: dict[str, Any], definition: dict[str, Any], given: Given
) -> list[dict[str, Any]]:
    path = given.path
    kind = definition["type"]
    restrictions = as_dict(definition.get("restrictions"))
    values = [as_text(v) for v in as_list(entry.get("values"))]
    errors: list[dict[str, Any]] = []
    if kind == "string":
        allowed = int(restrictions.get("allowedNumberOfValues") or 1)
        if len(values) > allowed:
            errors.append(_count_error(definition, path, len(values), allowed))
        if definition["id"] == GTIN_PARAMETER_ID:
            for value in values:
                problem = gtin_error(value, path, parameter=parameter_meta(definition, value=value))
                if problem is not None:
                    errors.append(problem)
        else:
            low = int(restrictions.get("minLength") or 0)
            high = restrictions.get("maxLength")
            for value in values:
                length = len(value.strip())
                if length < low or (high is not None and length > high):
                    errors.append(
                        error(
                            CODE_STRING_LENGTH,
                            f"The value of parameter '{definition['name']}' must have between "
                            f"{low} and {high} characters.",
                            path=path,
                            metadata=parameter_meta(definition, minLength=low, maxLength=high),
                        )
                    )
    else:
        if len(values) > 1:
            errors.append(_count_error(definition, path, len(values), 1))
        for value in values:
            errors.extend(_number_errors(value, definition, path))
    given.values = values
    return errors


def _range(entry: dict[str, Any], definition: dict[str, Any], given: Given) -> list[dict[str, Any]]:
    path = given.path
    name = definition["name"]
    if entry.get("values") or entry.get("valuesIds"):
        return [
            error(
                CODE_RANGE_PARAM,
                f"Parameter '{name}' is a range: send rangeValue with from and to.",
                path=path,
                metadata=parameter_meta(definition),
            )
        ]
    rng = as_dict(entry.get("rangeValue"))
    low, high = rng.get("from"), rng.get("to")
    if low is None or high is None:
        return [
            error(
                CODE_RANGE_PARAM,
                f"The range of parameter '{name}' needs from and to.",
                path=path,
                metadata=parameter_meta(definition),
            )
        ]
    low, high = as_text(low), as_text(high)
    errors = _number_errors(low, definition, path) + _number_errors(high, definition, path)
    if not errors:
        try:
            if Decimal(low.strip()) > Decimal(high.strip()):
                errors.append(
                    error(
                        CODE_RANGE_PARAM,
                        f"In parameter '{name}' 'from' must not exceed 'to'.",
                        path=path,
                        metadata=parameter_meta(definition),
                    )
                )
        except InvalidOperation:  # pragma: no cover - excluded by the patterns above
            pass
    given.range_value = (low, high)
    return errors


def _is_empty(entry: dict[str, Any]) -> bool:
    return not (
        as_list(entry.get("values")) or as_list(entry.get("valuesIds")) or entry.get("rangeValue")
    )


def read_parameters(
    entries: Any, pset: ParameterSet, *, path: str, product_level: bool
) -> tuple[list[dict[str, Any]], dict[str, Given]]:
    """Check one list of request parameters; returns its errors and the understood values.

    ``product_level`` says which list this is: ``productSet[].product.parameters`` (True)
    or the offer's top-level ``parameters`` (False)."""
    errors: list[dict[str, Any]] = []
    given: dict[str, Given] = {}
    for index, raw in enumerate(as_list(entries)):
        entry = as_dict(raw)
        entry_path = join_path(path, index)
        pid, pname = entry.get("id"), entry.get("name")
        if pid is not None:
            definition = pset.by_id.get(as_text(pid))
            code, asked = "ParameterIdNotFoundException", {"parameterId": as_text(pid)}
            message = f"Parameter {pid} does not exist in category {pset.category_id}."
        elif pname is not None:
            definition = pset.by_name.get(as_text(pname).casefold())
            code, asked = "ParameterNameNotFoundException", {"parameterName": as_text(pname)}
            message = f"Parameter '{pname}' does not exist in category {pset.category_id}."
        else:
            definition = None
            code, asked = "ParameterIdNotFoundException", {"parameterId": ""}
            message = "A parameter needs an id or a name."
        if definition is None:
            metadata = {"categoryId": pset.category_id, **asked}
            errors.append(error(code, message, path=entry_path, metadata=metadata))
            continue
        describes = bool(as_dict(definition.get("options")).get("describesProduct"))
        if describes != product_level:
            where = "productSet[].product.parameters" if describes else "parameters"
            errors.append(
                error(
                    "ParameterCategoryException",
                    f"Parameter '{definition['name']}' ({definition['id']}) is a "
                    f"{'product' if describes else 'offer'} parameter; send it in {where}.",
                    path=entry_path,
                    metadata=parameter_meta(
                        definition, requestedParameterType="PRODUCT" if product_level else "OFFER"
                    ),
                )
            )
            continue
        if _is_empty(entry) or definition["id"] in given:
            continue
        item = Given(definition=definition, path=entry_path)
        if as_dict(definition.get("restrictions")).get("range"):
            item_errors = _range(entry, definition, item)
        elif entry.get("rangeValue"):
            item_errors = [
                error(
                    CODE_RANGE_PARAM,
                    f"Parameter '{definition['name']}' is not a range; send values.",
                    path=entry_path,
                    metadata=parameter_meta(definition),
                )
            ]
        elif definition["type"] == "dictionary":
            item_errors = _dictionary(entry, definition, item)
        else:
            item_errors = _scalar(entry, definition, item)
        errors.extend(item_errors)
        item.ok = not item_errors
        given[definition["id"]] = item
    return errors, given
