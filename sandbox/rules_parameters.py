"""Rules for offer and product parameters against a category's ``CategoryParameter`` list.

A request parameter is ``{id | name, values[] | valuesIds[] | rangeValue{from, to}}``.
:func:`read_parameters` checks each entry on its own (does the parameter exist in the
category, is it in the right list, is its value valid for its type and restrictions) and
returns what it understood; the cross-parameter rules (required, ``requiredIf``,
``dependsOnValueIds``, conflicts with a catalogue product) work on that result.

Codes documented by Allegro are used where one fits (``ParameterIdNotFoundException``,
``ParameterNameNotFoundException``, ``ParameterCategoryException``,
``DictionaryParameterIdNotFound``, ``DictionaryParameterValueNotFound``,
``DictionaryParameterIdsAndValuesNotMatch``, ``DictionaryParameterValueNotUnique``,
``ConstraintViolationException.MissingRequiredParameters``,
``ConstraintViolationException.DependencyValidator``,
``ConstraintViolationException.StringLength``, the two GTIN codes, ``PARAMETER_MISMATCH``).
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
    "check_dependencies",
    "is_required",
    "missing_required",
    "parameter_mismatches",
    "read_parameters",
]

GTIN_PARAMETER_ID = "225693"

CODE_FORMAT = "ConstraintViolationException.ParameterValueFormat"
CODE_RANGE = "ConstraintViolationException.ParameterValueRange"
CODE_PRECISION = "ConstraintViolationException.ParameterValuePrecision"
CODE_COUNT = "ConstraintViolationException.ParameterNumberOfValues"
CODE_RANGE_PARAM = "ConstraintViolationException.RangeParameter"
CODE_STRING_LENGTH = "ConstraintViolationException.StringLength"
CODE_MISSING = "ConstraintViolationException.MissingRequiredParameters"
CODE_DEPENDENCY = "ConstraintViolationException.DependencyValidator"

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


def _meta(definition: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"parameterId": definition["id"], "parameterName": definition["name"], **extra}


def _text(value: Any) -> str:
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
                metadata=_meta(definition, value=raw),
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
                metadata=_meta(definition, value=raw, min=low, max=high),
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
                    metadata=_meta(definition, value=raw, precision=precision),
                )
            )
    return errors


def _count_error(definition: dict[str, Any], path: str, count: int, allowed: int) -> dict[str, Any]:
    return error(
        CODE_COUNT,
        f"Parameter '{definition['name']}' accepts at most {allowed} value(s); {count} given.",
        path=path,
        metadata=_meta(definition, allowedNumberOfValues=allowed),
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
    ids = [_text(v) for v in as_list(entry.get("valuesIds"))]
    values = [_text(v) for v in as_list(entry.get("values"))]
    errors: list[dict[str, Any]] = []

    for vid in ids:
        if vid not in labels:
            errors.append(
                error(
                    "DictionaryParameterIdNotFound",
                    f"Dictionary value id '{vid}' does not exist for parameter "
                    f"'{definition['name']}'.",
                    path=path,
                    metadata=_meta(definition, requestedDictionaryValueId=vid),
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
                    metadata=_meta(definition),
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
                        metadata=_meta(definition, requestedDictionaryValue=raw),
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
    values = [_text(v) for v in as_list(entry.get("values"))]
    errors: list[dict[str, Any]] = []
    if kind == "string":
        allowed = int(restrictions.get("allowedNumberOfValues") or 1)
        if len(values) > allowed:
            errors.append(_count_error(definition, path, len(values), allowed))
        if definition["id"] == GTIN_PARAMETER_ID:
            for value in values:
                problem = gtin_error(value, path, parameter=_meta(definition, value=value))
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
                            metadata=_meta(definition, minLength=low, maxLength=high),
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
                metadata=_meta(definition),
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
                metadata=_meta(definition),
            )
        ]
    low, high = _text(low), _text(high)
    errors = _number_errors(low, definition, path) + _number_errors(high, definition, path)
    if not errors:
        try:
            if Decimal(low.strip()) > Decimal(high.strip()):
                errors.append(
                    error(
                        CODE_RANGE_PARAM,
                        f"In parameter '{name}' 'from' must not exceed 'to'.",
                        path=path,
                        metadata=_meta(definition),
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
            definition = pset.by_id.get(_text(pid))
            code, asked = "ParameterIdNotFoundException", {"parameterId": _text(pid)}
            message = f"Parameter {pid} does not exist in category {pset.category_id}."
        elif pname is not None:
            definition = pset.by_name.get(_text(pname).casefold())
            code, asked = "ParameterNameNotFoundException", {"parameterName": _text(pname)}
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
                    metadata=_meta(
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
                    metadata=_meta(definition),
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


# ---------------------------------------------------------------------------
# cross-parameter rules
# ---------------------------------------------------------------------------


def _conditions_hold(conditions: dict[str, Any], known: dict[str, set[str] | None]) -> bool:
    """``known`` maps a parameter id that has a value to its dictionary value ids."""
    for cond in as_list(conditions.get("parametersWithValue")):
        ids = known.get(cond.get("id"))
        if not ids or not ids & set(cond.get("oneOfValueIds", [])):
            return False
    return all(
        cond.get("id") not in known for cond in as_list(conditions.get("parametersWithoutValue"))
    )


def is_required(definition: dict[str, Any], flag: str, known: dict[str, set[str] | None]) -> bool:
    """``flag`` is ``"required"`` (to publish) or ``"requiredForProduct"`` (to create a
    product); a non-null ``requiredIf`` narrows the flag to when its conditions hold."""
    if not definition.get(flag):
        return False
    conditions = definition.get("requiredIf")
    return conditions is None or _conditions_hold(conditions, known)


def missing_required(
    definitions: list[dict[str, Any]],
    flag: str,
    present: set[str],
    known: dict[str, set[str] | None],
    *,
    path: str,
) -> list[dict[str, Any]]:
    """One ``MissingRequiredParameters`` error for the definitions that ``flag`` requires and
    that are not in ``present``; ``[]`` when nothing is missing."""
    missing = [d for d in definitions if d["id"] not in present and is_required(d, flag, known)]
    if not missing:
        return []
    return [
        error(
            CODE_MISSING,
            "Missing required parameters: " + ", ".join(d["id"] for d in missing),
            path=path,
            details=CODE_MISSING,
            user_message="Missing mandatory parameters: "
            + ", ".join(d["name"] for d in missing)
            + ".",
            metadata={},
        )
    ]


def check_dependencies(
    given: dict[str, Given], known: dict[str, set[str] | None]
) -> list[dict[str, Any]]:
    """``dependsOnValueIds``: a dictionary value is only allowed together with one of the
    listed values of the parameter named in ``options.dependsOnParameterId``."""
    errors = []
    for item in given.values():
        if not item.ok:
            continue
        parent_id = as_dict(item.definition.get("options")).get("dependsOnParameterId")
        parent_ids = known.get(parent_id) if parent_id else None
        if not parent_ids:
            continue
        allowed = {
            v["id"]: v.get("dependsOnValueIds") or [] for v in item.definition.get("dictionary", [])
        }
        for vid in item.value_ids:
            combos = allowed.get(vid) or []
            if combos and not set(combos) & parent_ids:
                errors.append(
                    error(
                        CODE_DEPENDENCY,
                        f"The value {vid} of parameter '{item.definition['name']}' cannot be "
                        f"combined with the chosen value of parameter {parent_id}.",
                        path=item.path,
                        metadata=_meta(
                            item.definition, dependsOnParameterId=parent_id, valueId=vid
                        ),
                    )
                )
    return errors


def _decimal_or_text(value: str) -> Decimal | str:
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        return value.strip().casefold()


def parameter_mismatches(
    given: dict[str, Given], product: dict[str, Any], *, path: str
) -> list[dict[str, Any]]:
    """``PARAMETER_MISMATCH`` for each request product parameter whose value differs from the
    catalogue product's. ``currentParameterValue`` is the value sent, ``expectedParameterValue``
    the catalogue's (Allegro does not define the direction; this is our reading)."""
    existing = {p["id"]: p for p in product.get("parameters", [])}
    errors = []
    for pid, item in given.items():
        known = existing.get(pid)
        if known is None or not item.ok:
            continue
        meta: dict[str, Any] = {
            "productId": product["id"],
            "parameterId": pid,
            "parameterName": item.definition["name"],
        }
        if item.range_value is not None:
            theirs = as_dict(known.get("rangeValue"))
            mine_r = tuple(_decimal_or_text(v) for v in item.range_value)
            theirs_r = tuple(_decimal_or_text(_text(theirs.get(k, ""))) for k in ("from", "to"))
            if mine_r == theirs_r:
                continue
            meta.update(
                currentParameterValue=", ".join(item.range_value),
                expectedParameterValue=f"{theirs.get('from')}, {theirs.get('to')}",
            )
        elif item.definition["type"] == "dictionary":
            theirs_ids = list(known.get("valuesIds") or [])
            if set(item.value_ids) == set(theirs_ids):
                continue
            meta.update(
                currentParameterValueId=",".join(item.value_ids),
                currentParameterValue=", ".join(item.values),
                expectedParameterValueId=",".join(theirs_ids),
                expectedParameterValue=", ".join(known.get("values") or []),
            )
        else:
            theirs_values = [_text(v) for v in known.get("values") or []]
            if pid == GTIN_PARAMETER_ID:
                mine_set: set[Any] = {v.strip().zfill(14) for v in item.values}
                theirs_set: set[Any] = {v.strip().zfill(14) for v in theirs_values}
            else:
                mine_set = {_decimal_or_text(v) for v in item.values}
                theirs_set = {_decimal_or_text(v) for v in theirs_values}
            if mine_set == theirs_set:
                continue
            meta.update(
                currentParameterValue=", ".join(item.values),
                expectedParameterValue=", ".join(theirs_values),
            )
        errors.append(
            error(
                "PARAMETER_MISMATCH",
                f"The provided parameter '{item.definition['name']}'({pid}) value "
                f"({meta['currentParameterValue']}) does not match the existing parameter value "
                f"({meta['expectedParameterValue']})",
                path=path,
                user_message=(
                    f"The specified product exists. The specified parameter "
                    f"`{item.definition['name']}` with the value `{meta['currentParameterValue']}` "
                    f"does not match the product parameter `{meta['expectedParameterValue']}`."
                ),
                metadata=meta,
            )
        )
    return errors
