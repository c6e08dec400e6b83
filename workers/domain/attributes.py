"""Store values -> Allegro parameter values (pure).

A category's parameters come from Allegro as ``CategoryParameter`` dicts (``id``, ``name``,
``type`` dictionary | integer | float | string, ``unit``, ``options``, ``restrictions``,
``dictionary``, ``formerData``). :func:`convert` turns one store value into one parameter
in Allegro's request shape (``{id, valuesIds}``, ``{id, values}``, ``{id, rangeValue}``)
or raises :class:`ValueProblem` saying why it cannot.

Rules applied, in this order:

1. ``values`` of the mapping rule translate the store value (case-insensitively) into an
   Allegro label, a dictionary value id, or any text;
2. **dictionary**: the label is matched case- and accent-insensitively ("Żółty" =
   "zolty"), also against former labels and ids; a dependent dictionary
   (``dependsOnParameterId``) prefers the value allowed with the parent's chosen value;
   no match -> the "other" entry (``ambiguousValueId``) with the text as a custom value
   when ``customValuesEnabled``, else a problem listing the allowed labels. A boolean is
   "tak" / "nie". Several values only when ``multipleChoices`` (a string is split at ``,``
   ``;`` ``|`` if it does not match as a whole);
3. **integer / float**: numbers or text such as ``"1,5 kg"``, ``"250g"``, ``"6.1\""``
   (comma or dot as decimal separator, spaces between thousands); the rule's ``scale``
   multiplies, else the value's unit (or the rule's ``unit``) is converted to the
   parameter's unit when both are known (g -> kg, mm -> cm, ml -> l, ...); integers must
   come out whole, floats are rounded to ``precision``; ``min``/``max`` are checked;
   ``range: true`` takes ``"a-b"``, ``"a \u2013 b"`` (en dash), ``"od a do b"`` or a list of two
   (:mod:`workers.domain.attribute_numbers`);
4. **string**: text (numbers formatted without a trailing ``.0``), at most
   ``allowedNumberOfValues`` values of ``minLength``..``maxLength`` characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from schemas.mapping import AttributeRule
from workers.domain.attribute_numbers import (
    CODE_VALUE,
    ValueProblem,
    format_number,
    number_value,
    range_value,
)
from workers.domain.rules_common import Code

__all__ = [
    "CODE_DICTIONARY_VALUE",
    "CODE_VALUE",
    "Converted",
    "DictionaryLabels",
    "ParameterIndex",
    "ValueProblem",
    "allowed_labels",
    "convert",
    "fold",
    "format_number",
    "is_required",
]

#: Allegro's code for a label that is not in a parameter's dictionary.
CODE_DICTIONARY_VALUE = Code.DICTIONARY_VALUE_NOT_FOUND

#: Labels listed in a problem before "(+N more)".
SHOWN_LABELS = 10

_SPECIAL_LETTERS = str.maketrans(
    {"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "\u0131": "i"}
)
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Text compared case- and accent-insensitively: "Żółty " -> "zolty"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_SPECIAL_LETTERS))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare).strip()


@dataclass(frozen=True)
class Converted:
    """A parameter in Allegro's request shape, with remarks made on the way."""

    parameter: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def value_ids(self) -> list[str]:
        return [str(v) for v in self.parameter.get("valuesIds") or []]


class ParameterIndex:
    """A category's parameter definitions, found by id or by (former) name."""

    def __init__(self, definitions: Iterable[Mapping[str, Any]]) -> None:
        self.definitions = [dict(d) for d in definitions]
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, dict[str, Any]] = {}
        self._labels: dict[str, DictionaryLabels] = {}
        for definition in self.definitions:
            self._by_id.setdefault(str(definition.get("id")), definition)
            self._by_name.setdefault(fold(str(definition.get("name", ""))), definition)
        for definition in self.definitions:
            former = definition.get("formerData") or {}
            for pid in former.get("ids") or []:
                self._by_id.setdefault(str(pid), definition)
            for name in former.get("names") or []:
                self._by_name.setdefault(fold(str(name)), definition)

    def by_id(self, parameter_id: str) -> dict[str, Any] | None:
        return self._by_id.get(str(parameter_id))

    def by_name(self, name: str) -> dict[str, Any] | None:
        return self._by_name.get(fold(name))

    def labels(self, definition: Mapping[str, Any]) -> DictionaryLabels:
        """:class:`DictionaryLabels` of ``definition`` (one of this index's), built on first
        use and kept: the index lives as long as the category's cached parameters."""
        key = str(definition.get("id"))
        kept = self._labels.get(key)
        if kept is None or kept.definition is not definition:
            kept = DictionaryLabels(definition)
            if self._by_id.get(key) is definition:
                self._labels[key] = kept  # threads may race: each builds the same
        return kept


class DictionaryLabels:
    """A dictionary parameter's entries by value id and by folded label (:func:`fold`),
    current and former (``formerData``), in dictionary order. A large dictionary (a brand
    list of thousands) is folded once, not for every value looked up."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        self.definition = definition
        self.entries: list[Mapping[str, Any]] = list(definition.get("dictionary") or [])
        self._current: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        self._former: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        for position, entry in enumerate(self.entries):
            former = entry.get("formerData") or {}
            for (by_id, by_label), ids, labels in (
                (self._current, [entry.get("id")], [entry.get("value")]),
                (self._former, former.get("ids") or [], former.get("values") or []),
            ):
                for value_id in {str(i) for i in ids}:
                    by_id.setdefault(value_id, []).append(position)
                for label in {fold(str(v)) for v in labels}:
                    by_label.setdefault(label, []).append(position)

    def find(self, text: str, parent_ids: set[str]) -> str | None:
        """The value id of label (or value id) ``text``: current labels and ids first, then
        former ones; among equal labels the one allowed with the parent's value."""
        wanted = fold(text)
        for by_id, by_label in (self._current, self._former):
            positions = sorted({*by_id.get(text, ()), *by_label.get(wanted, ())})
            if positions:
                candidates = [self.entries[i] for i in positions]
                allowed = [
                    e
                    for e in candidates
                    if parent_ids & {str(v) for v in e.get("dependsOnValueIds") or []}
                ]
                return str((allowed or candidates)[0]["id"])
        return None


def is_required(
    definition: Mapping[str, Any], known: Mapping[str, set[str]], *, for_product: bool = True
) -> bool:
    """Whether ``definition`` must have a value: ``required`` or (``for_product``: a new
    product is described) ``requiredForProduct``, narrowed by ``requiredIf`` when given.
    ``known`` maps the ids of the parameters that have a value to their dictionary value
    ids (empty for non-dictionary ones)."""
    needed = definition.get("required") or (for_product and definition.get("requiredForProduct"))
    if not needed:
        return False
    conditions = definition.get("requiredIf")
    if not conditions:
        return True
    for condition in conditions.get("parametersWithValue") or []:
        ids = known.get(str(condition.get("id")))
        if ids is None or not ids & {str(v) for v in condition.get("oneOfValueIds") or []}:
            return False
    return all(
        str(condition.get("id")) not in known
        for condition in conditions.get("parametersWithoutValue") or []
    )


def allowed_labels(definition: Mapping[str, Any], limit: int = SHOWN_LABELS) -> str:
    """The first ``limit`` labels of a dictionary, then "(+N more)"."""
    labels = [str(v.get("value")) for v in definition.get("dictionary") or []]
    shown = ", ".join(labels[:limit])
    return f"{shown} (+{len(labels) - limit} more)" if len(labels) > limit else shown


def _as_items(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [v for v in value if v is not None and v != ""]
    return [] if value is None or value == "" else [value]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "tak" if value else "nie"
    if isinstance(value, float):
        return format_number(Decimal(str(value)))
    return str(value).strip()


def convert(
    definition: Mapping[str, Any],
    value: Any,
    *,
    rule: AttributeRule | None = None,
    chosen: Mapping[str, Sequence[str]] | None = None,
    index: ParameterIndex | None = None,
) -> Converted:
    """``value`` (a string, number, boolean or list of them) as parameter ``definition``.

    ``rule`` is the mapping rule that led here (for ``values``, ``scale``, ``unit``);
    ``chosen`` maps parameter ids to the dictionary value ids already chosen (for
    dependent dictionaries); ``index``, the category's :class:`ParameterIndex` that
    ``definition`` comes from, keeps its dictionary's labels folded between calls.
    Raises :class:`ValueProblem`.
    """
    items = _as_items(value)
    if not items:
        raise ValueProblem("the value is empty", "send a value or leave the attribute out")
    if rule is not None and rule.values:
        items = [
            translated if (translated := rule.translate(_text(item))) is not None else item
            for item in items
        ]
    restrictions = definition.get("restrictions") or {}
    kind = definition.get("type")
    pid = str(definition["id"])
    if restrictions.get("range"):
        low, high, notes = range_value(items, definition, rule)
        return Converted({"id": pid, "rangeValue": {"from": low, "to": high}}, notes)
    if kind == "dictionary":
        lookup = index.labels(definition) if index is not None else DictionaryLabels(definition)
        return _dictionary(items, lookup, chosen or {})
    if kind in ("integer", "float"):
        if len(items) > 1:
            raise ValueProblem(
                f"it has {len(items)} values; the parameter takes one",
                "send a single number",
            )
        number, notes = number_value(items[0], definition, rule)
        return Converted({"id": pid, "values": [number]}, notes)
    return Converted({"id": pid, "values": _strings(items, definition)})


# --- dictionaries --------------------------------------------------------------------------


def _dictionary(
    items: list[Any], lookup: DictionaryLabels, chosen: Mapping[str, Sequence[str]]
) -> Converted:
    definition = lookup.definition
    pid = str(definition["id"])
    options = definition.get("options") or {}
    multiple = bool((definition.get("restrictions") or {}).get("multipleChoices"))
    if not multiple and len(items) > 1:
        raise ValueProblem(
            f"it has {len(items)} values; the parameter takes one",
            "send a single value",
        )
    parent = options.get("dependsOnParameterId")
    parent_ids = set(chosen.get(str(parent), ())) if parent else set()
    ids: list[str] = []
    custom: list[str] = []
    for item in items:
        text = _text(item)
        found = lookup.find(text, parent_ids)
        if found is None and multiple and re.search(r"[,;|]", text):
            parts = [p.strip() for p in re.split(r"[,;|]", text) if p.strip()]
            matches = [lookup.find(p, parent_ids) for p in parts]
            if all(m is not None for m in matches):
                ids.extend(m for m in matches if m is not None and m not in ids)
                continue
        if found is not None:
            if found not in ids:
                ids.append(found)
            continue
        ambiguous = options.get("ambiguousValueId")
        if ambiguous and options.get("customValuesEnabled"):
            custom.append(text)
            continue
        raise ValueProblem(
            f'"{text}" is not in its dictionary (allowed: {allowed_labels(definition)})',
            "send one of the allowed labels, or translate the store value in the mapping "
            f'file (attributes: values: {{"{text}": "<allowed label>"}})',
            code=CODE_DICTIONARY_VALUE,
        )
    if len(custom) > 1:
        # Allegro pairs values with valuesIds one to one: one custom text, on the "other"
        # entry (DictionaryParameterIdsAndValuesNotMatch otherwise).
        raise ValueProblem(
            f"it has {len(custom)} values that are not in its dictionary "
            f"({', '.join(repr(c) for c in custom[:5])}); it takes only one custom value",
            "map the others to dictionary labels in the mapping file "
            f"(attributes: values: {{...}}; allowed: {allowed_labels(definition)})",
            code=CODE_DICTIONARY_VALUE,
        )
    if custom:
        ambiguous_id = str(options["ambiguousValueId"])
        labels = _labels(definition)
        notes = [
            f'parameter "{definition.get("name")}" ({pid}): "{c}" is not in the dictionary; '
            f'sent as a custom value of "{labels.get(ambiguous_id, "other")}"'
            for c in custom
        ]
        values = [labels[i] for i in ids if i in labels] + custom
        return Converted({"id": pid, "valuesIds": [*ids, ambiguous_id], "values": values}, notes)
    return Converted({"id": pid, "valuesIds": ids})


def _labels(definition: Mapping[str, Any]) -> dict[str, str]:
    return {str(v.get("id")): str(v.get("value")) for v in definition.get("dictionary") or []}


# --- text ------------------------------------------------------------------------------


def _strings(items: list[Any], definition: Mapping[str, Any]) -> list[str]:
    restrictions = definition.get("restrictions") or {}
    allowed = int(restrictions.get("allowedNumberOfValues") or 1)
    values = [_text(item) for item in items]
    if len(values) > allowed:
        raise ValueProblem(
            f"it has {len(values)} values; the parameter takes at most {allowed}",
            f"send at most {allowed} value(s)",
        )
    low = int(restrictions.get("minLength") or 0)
    high = restrictions.get("maxLength")
    for text in values:
        if len(text) < low or (high is not None and len(text) > int(high)):
            raise ValueProblem(
                f'"{text[:40]}" has {len(text)} characters; the parameter takes {low}..{high}',
                f"shorten or lengthen it to {low}..{high} characters",
                code=Code.STRING_LENGTH,
            )
    return values
