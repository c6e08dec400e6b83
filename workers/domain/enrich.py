"""Step 2 of the pipeline: the product, described in Allegro's terms (pure).

:func:`enrich` takes the desired state, the chosen category, that category's parameters
(Allegro's ``CategoryParameter`` dicts), the catalogue products found by the product's EAN
(or MPN) and the mapping file, and returns :class:`~workers.domain.model.Enriched`.

**Catalogue link.** ``allegro.product_id`` wins. Otherwise the catalogue matches (those
whose GTIN, or MPN when searched by MPN, is the product's) decide: one -> linked; several
-> the one in the chosen category if exactly one is, else none and a note (Allegro would
answer ``MultipleProductsFoundException`` to the GTIN); none -> a new product, described by
``product_parameters``. When linked to a catalogue product we know, product parameters the
catalogue already holds are left to the catalogue (sending a different value would be a
``PARAMETER_MISMATCH``); differences are noted.

**Parameters.** For each parameter the first source that gives a usable value wins:

1. ``allegro.parameters`` of the event (Allegro's own request shape, used as sent);
2. the mapping file's attribute rules (category-specific rules before general ones);
3. the product's fields: ``ean`` -> 225693 "EAN (GTIN)", ``mpn`` -> 224017 "Kod
   producenta", ``brand`` -> the category's "Marka..." parameter;
4. store attributes named like a parameter (its name, a former name, or its id).

Values are converted by :mod:`workers.domain.attributes`. A value that cannot be converted
rejects the product when its parameter is required (``required`` / ``requiredForProduct``,
``requiredIf`` considered), otherwise it is skipped with a note; attributes that match no
parameter are notes, never errors. Condition 11323 "Stan" comes from the mapping file's
``defaults.condition`` when no source set it. Parameters are split by
``options.describesProduct`` and ordered as the category lists them (a stable order keeps
the offer's fingerprint stable). Every problem found is raised at once in :class:`Rejected`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from schemas.mapping import CONDITION_PARAMETER_ID, AttributeRule, MappingFile, normalize_name
from schemas.status import StatusError
from workers.domain.attributes import ParameterIndex, ValueProblem, convert, fold, is_required
from workers.domain.describe import describe
from workers.domain.model import (
    CategoryChoice,
    Enriched,
    ProductState,
    Rejected,
    derived,
    problem,
)
from workers.domain.rules_common import Code
from workers.domain.rules_text import NAME_MAX_LENGTH, name_length
from workers.domain.rules_values import GTIN_PARAMETER_ID

__all__ = [
    "BRAND_PREFIX",
    "EAN_PARAMETER_ID",
    "MAX_NAME_LENGTH",
    "MPN_PARAMETER_ID",
    "enrich",
    "name_length",
    "offer_name",
]

EAN_PARAMETER_ID = GTIN_PARAMETER_ID
MPN_PARAMETER_ID = "224017"
#: The brand parameter is named "Marka" or "Marka <something>" ("Marka telefonu").
BRAND_PREFIX = "marka"
#: Allegro's limit on an offer's name, in characters as Allegro counts them (see
#: :func:`~workers.domain.rules_text.name_length`, re-exported here).
MAX_NAME_LENGTH = NAME_MAX_LENGTH

_RULE, _FIELD, _NAMED = 1, 2, 3  # priorities of the sources (overrides are applied first)


@dataclass(frozen=True)
class _Candidate:
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


def _pid(definition: Mapping[str, Any]) -> str:
    return str(definition["id"])


def _describes_product(definition: Mapping[str, Any]) -> bool:
    return bool((definition.get("options") or {}).get("describesProduct"))


# --- the name ------------------------------------------------------------------------------


def offer_name(name: str) -> tuple[str, list[str]]:
    """``name`` with whitespace collapsed. It is never shortened: a name over
    :data:`MAX_NAME_LENGTH` Allegro characters (entities such as ``&`` count as 5) is the
    seller's to fix, and validation rejects it naming the limit
    (``ConstraintViolationException.StringLength``), rather than an offer going out under a
    name the seller never wrote. The notes are empty (kept for the callers' shape)."""
    return " ".join(name.split()), []


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


def _link(
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


# --- where values come from --------------------------------------------------------------


def _brand_parameter(index: ParameterIndex) -> dict[str, Any] | None:
    for definition in index.definitions:
        name = fold(str(definition.get("name", "")))
        if name == BRAND_PREFIX or name.startswith(BRAND_PREFIX + " "):
            return definition
    return None


def _field_candidates(
    product: Mapping[str, Any], index: ParameterIndex, notes: list[str]
) -> list[_Candidate]:
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
        found.append(_Candidate(definition, value, name, f"{name} {_show(value)}", _FIELD))
    return found


def _attribute_candidates(
    attributes: Mapping[str, Any],
    index: ParameterIndex,
    choice: CategoryChoice,
    mapping: MappingFile | None,
    notes: list[str],
) -> list[_Candidate]:
    rules = mapping.rules_for(choice.category_id) if mapping is not None else []
    found = []
    for name, value in attributes.items():
        if value in (None, "", []):
            continue
        label = f'attribute "{name}" = {_show(value)}'
        path = f"attributes.{name}"
        matched = False
        for rule in (r for r in rules if normalize_name(r.attribute) == normalize_name(name)):
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
            found.append(_Candidate(definition, value, path, label, _RULE, rule))
            matched = True
        if matched:
            continue
        definition = index.by_name(name) or index.by_id(name)
        if definition is not None:
            found.append(_Candidate(definition, value, path, label, _NAMED))
        else:
            notes.append(
                f'attribute "{name}" matches no parameter of category {choice.category_id}; '
                "add a rule to the mapping file's attributes if it should be sent"
            )
    return found


def _override_parameters(
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
        entry: dict[str, Any] = {"id": _pid(definition)}
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


# --- conversion --------------------------------------------------------------------------


def _depth(definition: Mapping[str, Any], index: ParameterIndex) -> int:
    """How many dictionaries ``definition`` depends on (parents are converted first)."""
    depth, current = 0, definition
    while depth < 5:
        parent = (current.get("options") or {}).get("dependsOnParameterId")
        found = index.by_id(str(parent)) if parent else None
        if found is None:
            break
        depth, current = depth + 1, found
    return depth


def _value_problem(
    candidate: _Candidate, error: ValueProblem, choice: CategoryChoice
) -> StatusError:
    definition = candidate.definition
    fix = error.fix[:1].upper() + error.fix[1:]
    message = (
        f"{candidate.label[:1].upper()}{candidate.label[1:]} cannot be sent as parameter "
        f'"{definition.get("name")}" ({_pid(definition)}) of category {choice.category_id}: '
        f"{error.reason}. {fix}."
    )
    return problem(error.code, message, path=candidate.path)


def _known(parameters: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    return {pid: {str(v) for v in p.get("valuesIds") or []} for pid, p in parameters.items()}


def _convert_all(
    candidates: list[_Candidate],
    chosen: dict[str, dict[str, Any]],
    index: ParameterIndex,
    choice: CategoryChoice,
    notes: list[str],
) -> list[tuple[_Candidate, ValueProblem]]:
    """Fill ``chosen`` (parameter id -> request parameter) from ``candidates``; returns the
    parameters none of whose candidates converted, with the best candidate's problem."""
    by_parameter: dict[str, list[_Candidate]] = {}
    for candidate in sorted(candidates, key=lambda c: c.priority):
        by_parameter.setdefault(_pid(candidate.definition), []).append(candidate)
    order = sorted(by_parameter, key=lambda pid: _depth(by_parameter[pid][0].definition, index))
    failed = []
    for pid in order:
        options = by_parameter[pid]
        if pid in chosen:
            notes.extend(
                f"{c.label} not used: allegro.parameters sets parameter {pid}" for c in options
            )
            continue
        errors: list[ValueProblem] = []
        for position, candidate in enumerate(options):
            try:
                converted = convert(
                    candidate.definition,
                    candidate.value,
                    rule=candidate.rule,
                    chosen={k: list(ids) for k, ids in _known(chosen).items()},
                )
            except ValueProblem as error:
                errors.append(error)
                if position + 1 < len(options):
                    notes.append(_value_problem(candidate, error, choice).message)
                continue
            chosen[pid] = converted.parameter
            notes.extend(converted.notes)
            notes.extend(
                f'{other.label} not used: {candidate.label} sets parameter "'
                f'{candidate.definition.get("name")}" ({pid})'
                for other in options[position + 1 :]
            )
            break
        else:
            failed.append((options[0], errors[0]))
    return failed


def _condition(
    chosen: dict[str, dict[str, Any]],
    index: ParameterIndex,
    mapping: MappingFile | None,
    notes: list[str],
) -> StatusError | None:
    definition = index.by_id(CONDITION_PARAMETER_ID) or index.by_name("Stan")
    if definition is None or _pid(definition) in chosen:
        return None
    default = mapping.defaults.condition if mapping is not None else None
    if default is None:
        notes.append(
            f'condition "{definition.get("name")}" ({_pid(definition)}) is not set: add '
            "defaults.condition to the mapping file, or send it in allegro.parameters"
        )
        return None
    try:
        chosen[_pid(definition)] = convert(definition, default).parameter
    except ValueProblem as error:
        return problem(
            error.code,
            f'The mapping file\'s defaults.condition "{default}" is not a value of parameter '
            f'"{definition.get("name")}" ({_pid(definition)}): {error.reason}. Change '
            "defaults.condition to one of the allowed value ids or labels.",
            path="defaults.condition",
        )
    return None


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


def _leave_to_catalogue(
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


# --- the step --------------------------------------------------------------------------------


def _images(product: Mapping[str, Any]) -> list[str]:
    """The product's images without repeats. More than Allegro's 16 are kept, so that
    validation rejects the offer with GallerySizeException and the seller chooses which
    to drop, instead of losing the last ones silently."""
    return list(dict.fromkeys(str(url) for url in product.get("images") or []))


def enrich(
    state: ProductState,
    choice: CategoryChoice,
    parameters: list[dict[str, Any]],
    catalogue: list[dict[str, Any]],
    mapping: MappingFile | None,
) -> Enriched:
    """The product of ``state`` ready to become an offer in ``choice.category_id``.

    ``parameters``: the category's ``CategoryParameter`` dicts; ``catalogue``: the
    ``GET /sale/products`` products found by the EAN (or MPN), possibly none. Raises
    :class:`Rejected` with every problem found (see the module docstring).
    """
    product = state.product
    index = derived(parameters, "enrich.ParameterIndex", ParameterIndex)
    notes: list[str] = []
    product_id, linked, link_notes = _link(product, choice, catalogue)
    notes.extend(link_notes)

    chosen, problems = _override_parameters(product, index, choice)
    overridden = set(chosen)
    candidates = _attribute_candidates(
        product.get("attributes") or {}, index, choice, mapping, notes
    ) + _field_candidates(product, index, notes)
    failed = _convert_all(candidates, chosen, index, choice, notes)
    condition_problem = _condition(chosen, index, mapping, notes)
    if condition_problem is not None:
        problems.append(condition_problem)
    known = _known(chosen)
    for candidate, error in failed:
        if is_required(candidate.definition, known):
            problems.append(_value_problem(candidate, error, choice))
        else:
            notes.append(_value_problem(candidate, error, choice).message + " (not sent)")

    name, name_notes = offer_name(str(product.get("name") or ""))
    description = describe(str(product.get("description") or ""))
    notes.extend(name_notes + description.notes)
    if problems:
        raise Rejected(problems)

    position = {_pid(d): i for i, d in enumerate(index.definitions)}
    ordered = sorted(chosen.values(), key=lambda p: position.get(str(p["id"]), len(position)))
    definitions = {pid: index.by_id(pid) or {} for pid in chosen}
    product_parameters = [p for p in ordered if _describes_product(definitions[str(p["id"])])]
    offer_parameters = [p for p in ordered if not _describes_product(definitions[str(p["id"])])]
    if linked is not None:
        names = {pid: str(d.get("name", pid)) for pid, d in definitions.items()}
        product_parameters = _leave_to_catalogue(
            product_parameters, linked, overridden, names, notes
        )
    return Enriched(
        category_id=choice.category_id,
        name=name,
        product_id=product_id,
        product_parameters=product_parameters,
        offer_parameters=offer_parameters,
        description=description.description,
        images=_images(product),
        ean=product.get("ean") or None,
        notes=notes,
    )
