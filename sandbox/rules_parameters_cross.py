"""Cross-parameter rules: what one parameter asks of the others, and of the catalogue
product the entries describe. They work on what :func:`sandbox.rules_parameters.read_parameters`
understood (:class:`~sandbox.rules_parameters.Given`); an entry that had errors takes no part.

Codes documented by Allegro: ``ConstraintViolationException.MissingRequiredParameters``,
``ConstraintViolationException.DependencyValidator``, ``PARAMETER_MISMATCH``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.rules_common import as_dict, as_list, error
from sandbox.rules_parameters import GTIN_PARAMETER_ID, Given, as_text, parameter_meta

__all__ = [
    "check_dependencies",
    "is_required",
    "missing_required",
    "parameter_mismatches",
]

CODE_MISSING = "ConstraintViolationException.MissingRequiredParameters"
CODE_DEPENDENCY = "ConstraintViolationException.DependencyValidator"


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
                        metadata=parameter_meta(
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
            theirs_r = tuple(_decimal_or_text(as_text(theirs.get(k, ""))) for k in ("from", "to"))
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
            theirs_values = [as_text(v) for v in known.get("values") or []]
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
