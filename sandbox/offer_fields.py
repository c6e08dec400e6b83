"""Field-level helpers of offer rendering: money amounts as each endpoint formats them,
references given by id or name, and parameters turned into the response shape."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "catalog_parameters",
    "listing_amount",
    "normalize_parameters",
    "offer_amount",
    "price_of",
    "resolve_reference",
    "section",
]


# -- amounts ---------------------------------------------------------------------------------


def offer_amount(amount: Any) -> Any:
    """Product-offers style: two decimal places ("179.00")."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return amount
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return str(value.quantize(Decimal("0.01")))
    return str(amount)


def listing_amount(amount: Any) -> Any:
    """``GET /sale/offers`` style: trailing zeros dropped, one decimal kept ("179.0")."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return amount
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def price_of(price: Any, style: Callable[[Any], Any] = offer_amount) -> dict[str, Any] | None:
    """A request's ``{amount, currency}`` with the amount in ``style``; None without one."""
    if not isinstance(price, dict) or "amount" not in price:
        return None
    return {"amount": style(price["amount"]), "currency": price.get("currency")}


# -- references --------------------------------------------------------------------------------


def resolve_reference(ref: Any, options: tuple[dict[str, str], ...]) -> dict[str, str] | None:
    """``{id}`` for a request's ``{id}`` or ``{name}``; with no reference, the seller's only
    option or the one named "default" (Allegro's rule for omitted shipping rates and
    after-sales policies)."""
    if isinstance(ref, dict):
        if ref.get("id"):
            return {"id": str(ref["id"])}
        name = ref.get("name")
        for option in options:
            if option["name"] == name:
                return {"id": option["id"]}
        return None
    if ref is None:
        if len(options) == 1:
            return {"id": options[0]["id"]}
        for option in options:
            if option["name"] == "default":
                return {"id": option["id"]}
    return None


def section(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


# -- parameters --------------------------------------------------------------------------------


def normalize_parameters(
    params: Any, definitions: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Request parameters (by id or name; values by id or label) in response shape."""
    if not isinstance(params, list):
        return []
    definitions = definitions or []
    by_id = {d["id"]: d for d in definitions}
    by_name = {str(d["name"]).casefold(): d for d in definitions}
    result = []
    for param in params:
        if not isinstance(param, dict):
            continue
        definition = by_id.get(str(param.get("id"))) or by_name.get(
            str(param.get("name") or "").casefold()
        )
        values = [str(v) for v in param.get("values") or []]
        ids = [str(v) for v in param.get("valuesIds") or []]
        values_ids: list[str] | None = None
        if definition is not None and definition.get("type") == "dictionary":
            dictionary = definition.get("dictionary") or []
            label_of = {entry["id"]: entry["value"] for entry in dictionary}
            id_of = {str(entry["value"]).casefold(): entry["id"] for entry in dictionary}
            ambiguous = (definition.get("options") or {}).get("ambiguousValueId")
            if ids:
                custom = values if ambiguous in ids else []
                values = [label_of.get(i, i) for i in ids if i != ambiguous or not custom]
                values += custom
            else:
                ids = [id_of[v.casefold()] for v in values if v.casefold() in id_of]
            values_ids = ids
        elif ids:
            values_ids = ids
        range_value = param.get("rangeValue")
        result.append(
            {
                "id": definition["id"] if definition else param.get("id"),
                "name": definition["name"] if definition else param.get("name"),
                "values": values,
                "valuesIds": values_ids,
                "rangeValue": range_value if isinstance(range_value, dict) else None,
            }
        )
    return result


def catalog_parameters(product: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": p["id"],
            "name": p["name"],
            "values": list(p.get("values") or []),
            "valuesIds": p.get("valuesIds"),
            "rangeValue": p.get("rangeValue"),
        }
        for p in product.get("parameters", [])
    ]
