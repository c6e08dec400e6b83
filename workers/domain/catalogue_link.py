"""The catalogue link of step 2 (pure): which catalogue product the product is, and what
the catalogue already holds.

:func:`link` chooses the catalogue product to link (``allegro.product_id`` wins, else the
catalogue matches decide; see :mod:`workers.domain.enrich`), and
:func:`leave_to_catalogue` drops the product parameters a linked catalogue product already
holds, noting those whose value differs.

**The catalogue product's category.** An offer linked to a catalogue product must be listed
in that product's category or one of its ``similar`` categories (FACTS.md §6; otherwise
Allegro answers 422 ``CATEGORY_MISMATCH``). When the chosen category is neither:

- the category came from the mapping file's ``categories.default`` (nobody chose it for
  this product): the offer goes to the catalogue product's category
  (:func:`catalogue_category`, applied before the category's parameters are read);
- it was chosen for the product (``allegro.category_id``, a ``categories.exact`` or
  ``prefix`` entry) and the link is ``allegro.product_id``, or the offer would carry the
  product's EAN (Allegro links an EAN it knows whatever the body says, FACTS.md §6, and
  the category then conflicts just the same): rejected with :func:`category_mismatch`,
  naming the field and the categories that would do;
- otherwise (a match found by MPN, or a category without an EAN parameter): not linked,
  and described as a new product in the chosen category; a note says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from schemas.status import StatusError
from workers.domain.attributes import fold
from workers.domain.categorize import category_origin
from workers.domain.model import CategoryChoice, problem
from workers.domain.rules_values import GTIN_PARAMETER_ID

__all__ = [
    "CATEGORY_MISMATCH",
    "EAN_PARAMETER_ID",
    "MPN_PARAMETER_ID",
    "Link",
    "catalogue_category",
    "category_conflict",
    "category_fits",
    "category_mismatch",
    "leave_to_catalogue",
    "link",
]

#: Allegro's code for an offer whose category is not its catalogue product's (spec 422 table).
CATEGORY_MISMATCH = "CATEGORY_MISMATCH"

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


class Link(NamedTuple):
    """What :func:`link` chose: the catalogue product id to link (None: a new product), its
    catalogue data when known, and notes."""

    product_id: str | None
    item: Mapping[str, Any] | None
    notes: list[str]


def link(
    product: Mapping[str, Any], choice: CategoryChoice, catalogue: Sequence[Mapping[str, Any]]
) -> Link:
    """The catalogue product to link (module docstring). ``choice`` only tells apart several
    matches: one in its category is taken, so when the link's category differs from
    ``choice``'s (:func:`catalogue_category`), the link is the same in either."""
    overrides = product.get("allegro") or {}
    override = overrides.get("product_id")
    by_id = {str(item.get("id")): item for item in catalogue}
    if override:
        return Link(str(override), by_id.get(str(override)), [])
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
        return Link(str(matches[0]["id"]), matches[0], notes)
    if not matches:
        return Link(None, None, notes)
    in_category = [
        m for m in matches if str((m.get("category") or {}).get("id")) == choice.category_id
    ]
    if len(in_category) == 1:
        return Link(str(in_category[0]["id"]), in_category[0], notes)
    ids = ", ".join(str(m.get("id")) for m in matches)
    where = "none" if not in_category else f"{len(in_category)}"
    notes.append(
        f"{key} matches {len(matches)} catalogue products ({ids}), {where} of them in "
        f"category {choice.category_id}: not linked (Allegro would answer "
        "MultipleProductsFoundException); send allegro.product_id to choose one"
    )
    return Link(None, None, notes)


# --- the catalogue product's category ------------------------------------------------------


def _category(item: Mapping[str, Any]) -> Mapping[str, Any]:
    category = item.get("category")
    return category if isinstance(category, Mapping) else {}


def _label(node: Mapping[str, Any]) -> str:
    """``85166 "Bezprzewodowe"``: a category id and its name (the last of its path)."""
    path = node.get("path") or []
    name = path[-1].get("name") if path and isinstance(path[-1], Mapping) else None
    return f'{node.get("id")} "{name}"' if name else str(node.get("id"))


def category_fits(item: Mapping[str, Any], category_id: str) -> bool:
    """Whether an offer in ``category_id`` may link catalogue product ``item``: it is the
    product's category or one of its ``similar`` ones. A product whose category is not
    known fits anywhere (Allegro then decides)."""
    category = _category(item)
    if category.get("id") is None:
        return True
    similar = [s for s in category.get("similar") or [] if isinstance(s, Mapping)]
    return category_id in {str(category["id"]), *(str(s.get("id")) for s in similar)}


def _fitting(item: Mapping[str, Any]) -> str:
    category = _category(item)
    similar = [s for s in category.get("similar") or [] if isinstance(s, Mapping)]
    text = _label(category)
    if similar:
        text += " or one of its similar categories (" + ", ".join(map(_label, similar)) + ")"
    return text


def _explicit_link(product: Mapping[str, Any]) -> bool:
    return bool((product.get("allegro") or {}).get("product_id"))


def catalogue_category(
    product: Mapping[str, Any],
    choice: CategoryChoice,
    catalogue: Sequence[Mapping[str, Any]],
    *,
    found: Link | None = None,
) -> tuple[CategoryChoice, list[str]]:
    """(the category to list the offer in, notes): ``choice``, except that a category from
    the mapping file's ``categories.default`` gives way to the category of the catalogue
    product the offer links (source ``catalogue``) when it does not fit that product.
    ``found``: ``link(product, choice, catalogue)`` when the caller has it already."""
    if choice.source != "default":
        return choice, []
    item = (found if found is not None else link(product, choice, catalogue)).item
    if item is None or category_fits(item, choice.category_id):
        return choice, []
    category = _category(item)
    note = (
        f'catalogue product {item.get("id")} ("{item.get("name")}") is listed in category '
        f"{_label(category)}, not in {choice.category_id} (the mapping file's "
        "categories.default): the offer goes to the catalogue product's category"
    )
    return CategoryChoice(str(category["id"]), "catalogue", choice.store_category), [note]


def _either(choices: list[str]) -> str:
    """ "A, B or C", its first letter upper case."""
    text = choices[-1] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]
    return text[:1].upper() + text[1:]


def category_mismatch(
    product: Mapping[str, Any], item: Mapping[str, Any], choice: CategoryChoice
) -> StatusError:
    """The rejection of an offer whose chosen category does not fit its catalogue product
    (Allegro's ``CATEGORY_MISMATCH``), naming where the category came from and the fix."""
    where, path = category_origin(choice)
    named = f'catalogue product {item.get("id")} ("{item.get("name")}")'
    if _explicit_link(product):
        named += " of allegro.product_id"
        why = f"Allegro would answer {CATEGORY_MISMATCH}"
    else:
        key = f"EAN {product.get('ean')}" if product.get("ean") else f"MPN {product.get('mpn')}"
        named += f" that the product's {key} names"
        kind = key.split()[0]
        why = f"Allegro links an offer with this {kind} to it and would answer {CATEGORY_MISMATCH}"
    fixes = ["set allegro.category_id to one of these"]
    if path != "allegro.category_id":
        fixes.append(f"change {where}")
    if _explicit_link(product):
        fixes.append(f"send the allegro.product_id of a product listed in {choice.category_id}")
    message = (
        f"Allegro category {choice.category_id} (from {where}) does not fit {named}, which "
        f"Allegro lists in category {_fitting(item)}: {why}. "
        f"{_either(fixes)}."
    )
    return problem(CATEGORY_MISMATCH, message, path=path)


def category_conflict(
    product: Mapping[str, Any],
    choice: CategoryChoice,
    item: Mapping[str, Any],
    *,
    sends_ean: bool,
) -> tuple[StatusError | None, str | None]:
    """What to do with linked catalogue product ``item`` in ``choice``'s category (module
    docstring): ``(None, None)`` when it fits; ``(rejection, None)`` when the offer cannot
    be listed there; ``(None, note)`` when the product is to be described as new instead.
    ``sends_ean``: the offer would carry the product's EAN as a parameter."""
    if category_fits(item, choice.category_id):
        return None, None
    if _explicit_link(product) or sends_ean:
        return category_mismatch(product, item, choice), None
    where, _path = category_origin(choice)
    return None, (
        f'catalogue product {item.get("id")} ("{item.get("name")}") is listed in category '
        f"{_fitting(item)}, not in {choice.category_id} (from {where}): not linked; the "
        "product is described as a new one in that category"
    )


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
