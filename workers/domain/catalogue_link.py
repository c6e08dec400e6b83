"""The catalogue link of step 2 (pure): which catalogue product the product is, and what
the catalogue already holds.

:func:`link` chooses the catalogue product to link (``allegro.product_id`` wins, else the
catalogue matches decide; see :mod:`workers.domain.enrich`), and
:func:`leave_to_catalogue` drops the product parameters a linked catalogue product already
holds, noting those whose value differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from workers.domain.attributes import fold
from workers.domain.model import CategoryChoice
from workers.domain.rules_values import GTIN_PARAMETER_ID

__all__ = [
    "EAN_PARAMETER_ID",
    "MPN_PARAMETER_ID",
    "leave_to_catalogue",
    "link",
]

EAN_PARAMETER_ID = GTIN_PARAMETER_ID
MPN_PARAMETER_ID = "224017"


# --- the catalogue link ----------------------------------------------------------------------


def _identifiers(item: Mapping[str, Any], *, gtin: bool) -> list[str]:
    found: list[str] = []
    for parameter in item.get("parameters") or []:
        options = parameter.get("options") or {}
        is_gtin = bool(options.get("isGTIN")) or str(parameter.get("id")) == EAN_PARAMETER_ID
        is_mpn = str(parameter.get("id")) == MPN_PARAMETER_ID
        if (gtin and is_gtin) or (not gtin and is_mpn):
            found.extend(str(v) for v in parameter.get("values") or [])
    return found


def _same_product(item: Mapping[str, Any], ean: str | None, mpn: str | None) -> bool:
    """False when the catalogue product names identifiers and none is ours."""
    if ean:
        theirs = _identifiers(item, gtin=True)
        return not theirs or ean.zfill(14) in {v.strip().zfill(14) for v in theirs}
    if mpn:
        theirs = _identifiers(item, gtin=False)
        return not theirs or fold(mpn) in {fold(v) for v in theirs}
    return True


def link(
    product: Mapping[str, Any], choice: CategoryChoice, catalogue: Sequence[Mapping[str, Any]]
) -> tuple[str | None, Mapping[str, Any] | None, list[str]]:
    """(product id to link, its catalogue data when known, notes)."""
    overrides = product.get("allegro") or {}
    override = overrides.get("product_id")
    by_id = {str(item.get("id")): item for item in catalogue}
    if override:
        return str(override), by_id.get(str(override)), []
    ean, mpn = product.get("ean"), product.get("mpn")
    key = f"EAN {ean}" if ean else f"MPN {mpn}"
    matches = [item for item in catalogue if _same_product(item, ean, mpn)]
    notes = [
        f'catalogue product {item.get("id")} ("{item.get("name")}") ignored: its identifiers '
        f"are not {key}"
        for item in catalogue
        if item not in matches
    ]
    if len(matches) == 1:
        return str(matches[0]["id"]), matches[0], notes
    if not matches:
        return None, None, notes
    in_category = [
        m for m in matches if str((m.get("category") or {}).get("id")) == choice.category_id
    ]
    if len(in_category) == 1:
        return str(in_category[0]["id"]), in_category[0], notes
    ids = ", ".join(str(m.get("id")) for m in matches)
    where = "none" if not in_category else f"{len(in_category)}"
    notes.append(
        f"{key} matches {len(matches)} catalogue products ({ids}), {where} of them in "
        f"category {choice.category_id}: not linked (Allegro would answer "
        "MultipleProductsFoundException); send allegro.product_id to choose one"
    )
    return None, None, notes


# --- catalogue parameters ------------------------------------------------------------------


def _comparable(parameter: Mapping[str, Any]) -> tuple[Any, ...]:
    if parameter.get("valuesIds"):
        return ("ids", frozenset(str(v) for v in parameter["valuesIds"]))
    range_value = parameter.get("rangeValue")
    values = [range_value.get("from"), range_value.get("to")] if range_value else []
    values += list(parameter.get("values") or [])
    out: list[Decimal | str] = []
    for value in values:
        try:
            out.append(Decimal(str(value).strip()))
        except InvalidOperation:
            out.append(fold(str(value)))
    return ("values", frozenset(out))


def leave_to_catalogue(
    parameters: list[dict[str, Any]],
    item: Mapping[str, Any],
    keep: set[str],
    names: Mapping[str, str],
    notes: list[str],
) -> list[dict[str, Any]]:
    theirs = {str(p.get("id")): p for p in item.get("parameters") or []}
    result = []
    for parameter in parameters:
        pid = str(parameter["id"])
        if pid in keep or pid not in theirs:
            result.append(parameter)
            continue
        if _comparable(parameter) != _comparable(theirs[pid]):
            shown = ", ".join(str(v) for v in theirs[pid].get("values") or [])
            notes.append(
                f'parameter "{names.get(pid, pid)}" ({pid}) is taken from catalogue product '
                f"{item.get('id')} ({shown}); the store's value differs and is not sent"
            )
    return result
