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
``PARAMETER_MISMATCH``); differences are noted. The chosen category must be the catalogue
product's or one of its similar ones; when it is not, the event is rejected
(``CATEGORY_MISMATCH``) or the product described as new, as
:mod:`workers.domain.catalogue_link` explains.

**Parameters.** For each parameter the first source that gives a usable value wins:

1. ``allegro.parameters`` of the event (Allegro's own request shape, used as sent);
2. the mapping file's attribute rules (category-specific rules before general ones);
3. the product's fields: ``ean`` -> 225693 "EAN (GTIN)", ``mpn`` -> 224017 "Kod
   producenta", ``brand`` -> the category's "Marka..." parameter;
4. store attributes named like a parameter (its name, a former name, or its id).

Values are converted by :mod:`workers.domain.attributes`. A value that cannot be converted
rejects the product when its parameter is required (``required`` / ``requiredForProduct``,
``requiredIf`` considered), otherwise it is skipped with a note. For a linked catalogue
product, as validation's required check has it, ``requiredForProduct`` does not count and
a product parameter the catalogue product holds is left to it (a note): only a ``required``
one it is not known to hold still rejects. Attributes that match no
parameter are notes, never errors. Condition 11323 "Stan" comes from the mapping file's
``defaults.condition`` when no source set it. Parameters are split by
``options.describesProduct`` and ordered as the category lists them (a stable order keeps
the offer's fingerprint stable). Every problem found is raised at once in :class:`Rejected`.

The catalogue link lives in :mod:`workers.domain.catalogue_link`, the sources of values in
:mod:`workers.domain.value_sources`; this module converts the values and assembles the step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.mapping import CONDITION_PARAMETER_ID, MappingFile
from schemas.status import StatusError
from workers.domain.attributes import ParameterIndex, ValueProblem, convert, is_required
from workers.domain.catalogue_link import (
    EAN_PARAMETER_ID,
    Link,
    category_conflict,
    leave_to_catalogue,
    link,
)
from workers.domain.describe import describe
from workers.domain.model import (
    CategoryChoice,
    Enriched,
    ProductState,
    Rejected,
    derived,
    problem,
)
from workers.domain.value_sources import (
    Candidate,
    attribute_candidates,
    field_candidates,
    override_parameters,
    parameter_id,
)

__all__ = ["enrich", "offer_name"]


def _describes_product(definition: Mapping[str, Any]) -> bool:
    return bool((definition.get("options") or {}).get("describesProduct"))


# --- the name ------------------------------------------------------------------------------


def offer_name(name: str) -> tuple[str, list[str]]:
    """``name`` with whitespace collapsed. It is never shortened: a name over
    :data:`~workers.domain.rules_text.NAME_MAX_LENGTH` Allegro characters (entities such as
    ``&`` count as 5) is the seller's to fix, and validation rejects it naming the limit
    (``ConstraintViolationException.StringLength``), rather than an offer going out under a
    name the seller never wrote. The notes are empty (kept for the callers' shape)."""
    return " ".join(name.split()), []


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
    candidate: Candidate, error: ValueProblem, choice: CategoryChoice
) -> StatusError:
    definition = candidate.definition
    fix = error.fix[:1].upper() + error.fix[1:]
    message = (
        f"{candidate.label[:1].upper()}{candidate.label[1:]} cannot be sent as parameter "
        f'"{definition.get("name")}" ({parameter_id(definition)}) of category '
        f"{choice.category_id}: {error.reason}. {fix}."
    )
    return problem(error.code, message, path=candidate.path)


def _known(parameters: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    return {pid: {str(v) for v in p.get("valuesIds") or []} for pid, p in parameters.items()}


def _convert_all(
    candidates: list[Candidate],
    chosen: dict[str, dict[str, Any]],
    index: ParameterIndex,
    choice: CategoryChoice,
    notes: list[str],
) -> list[tuple[Candidate, ValueProblem]]:
    """Fill ``chosen`` (parameter id -> request parameter) from ``candidates``; returns the
    parameters none of whose candidates converted, with the best candidate's problem."""
    by_parameter: dict[str, list[Candidate]] = {}
    for candidate in sorted(candidates, key=lambda c: c.priority):
        by_parameter.setdefault(parameter_id(candidate.definition), []).append(candidate)
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
                    index=index,
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
    if definition is None or parameter_id(definition) in chosen:
        return None
    default = mapping.defaults.condition if mapping is not None else None
    if default is None:
        notes.append(
            f'condition "{definition.get("name")}" ({parameter_id(definition)}) is not set: add '
            "defaults.condition to the mapping file, or send it in allegro.parameters"
        )
        return None
    try:
        chosen[parameter_id(definition)] = convert(definition, default, index=index).parameter
    except ValueProblem as error:
        return problem(
            error.code,
            f'The mapping file\'s defaults.condition "{default}" is not a value of parameter '
            f'"{definition.get("name")}" ({parameter_id(definition)}): {error.reason}. Change '
            "defaults.condition to one of the allowed value ids or labels.",
            path="defaults.condition",
        )
    return None


def _needed(
    definition: Mapping[str, Any],
    known: Mapping[str, set[str]],
    product_id: str | None,
    linked: Mapping[str, Any] | None,
) -> bool:
    """Whether a value of ``definition`` that failed to convert rejects the product. For a
    new product: ``required`` or ``requiredForProduct`` (``requiredIf`` considered). For a
    linked catalogue product, as validation's required check: ``requiredForProduct`` does
    not count (the product exists), and a product parameter is the catalogue's to give;
    only one that is ``required`` in the offer and that the catalogue product is not known
    to hold still rejects."""
    if product_id is None:
        return is_required(definition, known)
    if not is_required(definition, known, for_product=False):
        return False
    if not _describes_product(definition):
        return True
    held = {str(p.get("id")) for p in (linked or {}).get("parameters") or []}
    return parameter_id(definition) not in held


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
    *,
    found: Link | None = None,
) -> Enriched:
    """The product of ``state`` ready to become an offer in ``choice.category_id``.

    ``parameters``: the category's ``CategoryParameter`` dicts; ``catalogue``: the
    ``GET /sale/products`` products found by the EAN (or MPN), possibly none; ``found``:
    their :func:`~workers.domain.catalogue_link.link` when the caller has it already (the
    same for ``choice`` as for the category :func:`catalogue_category` started from). Raises
    :class:`Rejected` with every problem found (see the module docstring).
    """
    product = state.product
    index = derived(parameters, "enrich.ParameterIndex", ParameterIndex)
    product_id, linked, link_notes = (
        found if found is not None else link(product, choice, catalogue)
    )
    notes = list(link_notes)

    chosen, problems = override_parameters(product, index, choice)
    overridden = set(chosen)
    candidates = attribute_candidates(
        product.get("attributes") or {}, index, choice, mapping, notes
    ) + field_candidates(product, index, notes)
    failed = _convert_all(candidates, chosen, index, choice, notes)
    condition_problem = _condition(chosen, index, mapping, notes)
    if condition_problem is not None:
        problems.append(condition_problem)
    if linked is not None:
        mismatch, unlinked = category_conflict(
            product, choice, linked, sends_ean=EAN_PARAMETER_ID in chosen
        )
        if mismatch is not None:
            problems.append(mismatch)
        if unlinked is not None:
            notes.append(unlinked)
            product_id, linked = None, None
    known = _known(chosen)
    for candidate, error in failed:
        reason = _value_problem(candidate, error, choice)
        if _needed(candidate.definition, known, product_id, linked):
            problems.append(reason)
        elif product_id is not None and _describes_product(candidate.definition):
            notes.append(f"{reason.message} (not sent: left to catalogue product {product_id})")
        else:
            notes.append(f"{reason.message} (not sent)")

    name, name_notes = offer_name(str(product.get("name") or ""))
    description = describe(str(product.get("description") or ""))
    notes.extend(name_notes + description.notes)
    if problems:
        raise Rejected(problems)

    position = {parameter_id(d): i for i, d in enumerate(index.definitions)}
    ordered = sorted(chosen.values(), key=lambda p: position.get(str(p["id"]), len(position)))
    definitions = {pid: index.by_id(pid) or {} for pid in chosen}
    product_parameters = [p for p in ordered if _describes_product(definitions[str(p["id"])])]
    offer_parameters = [p for p in ordered if not _describes_product(definitions[str(p["id"])])]
    if linked is not None:
        names = {pid: str(d.get("name", pid)) for pid, d in definitions.items()}
        product_parameters = leave_to_catalogue(
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
        catalogue_images=None if linked is None else len(linked.get("images") or []),
        notes=notes,
    )
