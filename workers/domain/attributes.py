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
   ``range: true`` takes ``"a-b"``, ``"a \u2013 b"`` (en dash), ``"od a do b"`` or a list of two;
4. **string**: text (numbers formatted without a trailing ``.0``), at most
   ``allowedNumberOfValues`` values of ``minLength``..``maxLength`` characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from schemas.mapping import AttributeRule
from workers.domain.rules_common import Code

__all__ = [
    "CODE_DICTIONARY_VALUE",
    "CODE_VALUE",
    "Converted",
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
#: Ours: a value that does not fit a numeric or text parameter (format, unit, range, count).
CODE_VALUE = "PARAMETER_VALUE_INVALID"

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


class ValueProblem(ValueError):
    """A store value that does not fit a parameter. ``reason`` says what is wrong, ``fix``
    what to do; ``code`` is Allegro's where one fits."""

    def __init__(self, reason: str, fix: str, code: str = CODE_VALUE) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.code = code


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
) -> Converted:
    """``value`` (a string, number, boolean or list of them) as parameter ``definition``.

    ``rule`` is the mapping rule that led here (for ``values``, ``scale``, ``unit``);
    ``chosen`` maps parameter ids to the dictionary value ids already chosen (for
    dependent dictionaries). Raises :class:`ValueProblem`.
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
        low, high, notes = _range(items, definition, rule)
        return Converted({"id": pid, "rangeValue": {"from": low, "to": high}}, notes)
    if kind == "dictionary":
        return _dictionary(items, definition, chosen or {})
    if kind in ("integer", "float"):
        if len(items) > 1:
            raise ValueProblem(
                f"it has {len(items)} values; the parameter takes one",
                "send a single number",
            )
        number, notes = _number(items[0], definition, rule)
        return Converted({"id": pid, "values": [number]}, notes)
    return Converted({"id": pid, "values": _strings(items, definition)})


# --- dictionaries --------------------------------------------------------------------------


def _dictionary(
    items: list[Any], definition: Mapping[str, Any], chosen: Mapping[str, Sequence[str]]
) -> Converted:
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
        found = _lookup(text, definition, parent_ids)
        if found is None and multiple and re.search(r"[,;|]", text):
            parts = [p.strip() for p in re.split(r"[,;|]", text) if p.strip()]
            matches = [_lookup(p, definition, parent_ids) for p in parts]
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


def _lookup(text: str, definition: Mapping[str, Any], parent_ids: set[str]) -> str | None:
    """The value id of label (or value id) ``text``: current labels and ids first, then
    former ones; among equal labels the one allowed with the parent's value."""
    entries = list(definition.get("dictionary") or [])
    wanted = fold(text)
    for current in (True, False):
        candidates = []
        for entry in entries:
            former = entry.get("formerData") or {}
            if current:
                ids, labels = [entry.get("id")], [entry.get("value")]
            else:
                ids, labels = former.get("ids") or [], former.get("values") or []
            if text in {str(i) for i in ids} or wanted in {fold(str(v)) for v in labels}:
                candidates.append(entry)
        if candidates:
            allowed = [
                e
                for e in candidates
                if parent_ids & {str(v) for v in e.get("dependsOnValueIds") or []}
            ]
            return str((allowed or candidates)[0]["id"])
    return None


# --- numbers ---------------------------------------------------------------------------

_NUMBER = r"[-+]?[0-9]+(?:[ \u00a0\u202f][0-9]{3})*(?:[.,][0-9]+)?"
_WITH_UNIT = re.compile(rf"^\s*({_NUMBER})\s*([^\s0-9.,].*?)?\s*$")
_RANGE = re.compile(
    rf"^\s*(?:od\s+)?({_NUMBER})\s*([^\s0-9.,\-\u2013\u2014]*?)\s*(?:-|\u2013|\u2014|\.\.|do)\s*({_NUMBER})"
    r"\s*([^\s0-9.,].*?)?\s*$",
    re.IGNORECASE,
)

# Units known to the converter, by dimension, as factors of a base unit (exact decimals).
_UNITS: dict[str, tuple[str, Decimal]] = {}
for _dimension, _table in {
    "mass": {"mg": "0.001", "g": "1", "dag": "10", "dkg": "10", "kg": "1000", "t": "1000000"},
    "length": {"mm": "1", "cm": "10", "dm": "100", "m": "1000", "km": "1000000"},
    "inch": {"cal": "1", "in": "1", '"': "1", "″": "1", "inch": "1", "cale": "1"},
    "volume": {"ml": "1", "cm3": "1", "cm³": "1", "cl": "10", "dl": "100", "l": "1000"},
    "power": {"mw": "0.001", "w": "1", "kw": "1000"},
    "voltage": {"mv": "0.001", "v": "1", "kv": "1000"},
    "current": {"ma": "0.001", "a": "1"},
    "charge": {"mah": "1", "ah": "1000"},
    "time": {"s": "1", "sek": "1", "min": "60", "h": "3600", "godz": "3600", "godzin": "3600"},
    "frequency": {"hz": "1", "khz": "1000", "mhz": "1000000", "ghz": "1000000000"},
    "age": {"lata": "12", "lat": "12", "rok": "12", "roku": "12", "mies": "1", "miesięcy": "1"},
}.items():
    for _unit, _size in _table.items():
        _UNITS[_unit] = (_dimension, Decimal(_size))
_UNITS["litr"] = _UNITS["litry"] = _UNITS["litrów"] = _UNITS["l"]
_UNITS["gram"] = _UNITS["gramy"] = _UNITS["gramów"] = _UNITS["g"]
_UNITS["kilogram"] = _UNITS["kilogramy"] = _UNITS["kilogramów"] = _UNITS["kg"]
_UNITS["godziny"] = _UNITS["h"]
#: Inches are a length of their own table (Allegro's unit "cal"), convertible to mm.
_INCH_MM = Decimal("25.4")


def _unit_key(unit: str) -> str:
    return unit.strip().rstrip(".").casefold()


def _factor(source: str, target: str) -> Decimal | None:
    """How many ``target`` units one ``source`` unit is; None when not convertible."""
    a, b = _UNITS.get(_unit_key(source)), _UNITS.get(_unit_key(target))
    if _unit_key(source) == _unit_key(target):
        return Decimal(1)
    if a is None or b is None:
        return None
    if a[0] == b[0]:
        return a[1] / b[1]
    if {a[0], b[0]} == {"inch", "length"}:
        inch_a = a[1] * _INCH_MM if a[0] == "inch" else a[1]
        inch_b = b[1] * _INCH_MM if b[0] == "inch" else b[1]
        return inch_a / inch_b
    return None


def _parse(value: Any) -> tuple[Decimal, str | None]:
    """A number and its unit (None when the value names none)."""
    if isinstance(value, bool):
        raise ValueProblem(f"{_text(value)} is not a number", "send a number")
    if isinstance(value, int):
        return Decimal(value), None
    if isinstance(value, float):
        return Decimal(str(value)), None
    text = str(value)
    match = _WITH_UNIT.match(text)
    if match is None:
        raise ValueProblem(
            f'"{text}" is not a number',
            'send a number, optionally with its unit ("1,5 kg", "250 g")',
        )
    return _decimal(match.group(1)), match.group(2) or None


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(re.sub(r"[ \u00a0\u202f]", "", text).replace(",", "."))
    except InvalidOperation:  # pragma: no cover - excluded by the pattern
        raise ValueProblem(f'"{text}" is not a number', "send a number") from None


def format_number(number: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: 0.250 -> "0.25", 1E+2 -> "100"."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def _scaled(
    number: Decimal, unit: str | None, definition: Mapping[str, Any], rule: AttributeRule | None
) -> Decimal:
    """``number`` in the parameter's unit: by the rule's scale, or by unit conversion."""
    if rule is not None and rule.scale is not None:
        return number * Decimal(str(rule.scale))
    unit = unit or (rule.unit if rule is not None else None)
    target = definition.get("unit")
    if unit is None or not target:
        return number
    factor = _factor(unit, str(target))
    if factor is None:
        raise ValueProblem(
            f'its unit "{unit}" cannot be converted to the parameter\'s unit "{target}"',
            f"send the value in {target}, or give the rule a scale (e.g. scale: 0.001 for g -> kg)",
        )
    return number * factor


def _fit(number: Decimal, definition: Mapping[str, Any], notes: list[str]) -> str:
    """``number`` checked against the type, precision, min and max; formatted."""
    restrictions = definition.get("restrictions") or {}
    unit = f" {definition['unit']}" if definition.get("unit") else ""
    if definition.get("type") == "integer":
        if number != number.to_integral_value():
            raise ValueProblem(
                f"{format_number(number)}{unit} is not a whole number",
                "send a whole number (or scale it into the parameter's unit)",
            )
        number = number.to_integral_value()
    else:
        precision = restrictions.get("precision")
        if isinstance(precision, int) and precision >= 0:
            rounded = number.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)
            if rounded != number:
                notes.append(
                    f'parameter "{definition.get("name")}" ({definition["id"]}): '
                    f"{format_number(number)} rounded to {format_number(rounded)} "
                    f"({precision} decimal places)"
                )
            number = rounded
    low, high = restrictions.get("min"), restrictions.get("max")
    too_low = low is not None and number < Decimal(str(low))
    too_high = high is not None and number > Decimal(str(high))
    if too_low or too_high:
        raise ValueProblem(
            f"{format_number(number)}{unit} is outside {low}..{high}{unit}",
            f"send a value between {low} and {high}{unit}",
        )
    return format_number(number)


def _number(
    value: Any, definition: Mapping[str, Any], rule: AttributeRule | None
) -> tuple[str, list[str]]:
    number, unit = _parse(value)
    notes: list[str] = []
    return _fit(_scaled(number, unit, definition, rule), definition, notes), notes


def _range(
    items: list[Any], definition: Mapping[str, Any], rule: AttributeRule | None
) -> tuple[str, str, list[str]]:
    if len(items) == 2:
        ends = [_parse(items[0]), _parse(items[1])]
    elif len(items) == 1 and isinstance(items[0], str) and (m := _RANGE.match(items[0])):
        unit_high = m.group(4) or None
        ends = [(_decimal(m.group(1)), m.group(2) or unit_high), (_decimal(m.group(3)), unit_high)]
    elif len(items) == 1:
        ends = [_parse(items[0])] * 2
    else:
        raise ValueProblem(
            f"it has {len(items)} values; a range takes one or two",
            'send "from-to" (e.g. "10-20") or a list of two numbers',
        )
    notes: list[str] = []
    low, high = (_scaled(n, u, definition, rule) for n, u in ends)
    if low > high:
        raise ValueProblem(
            f"the range starts at {format_number(low)} after its end {format_number(high)}",
            'send "from-to" with from <= to',
        )
    return _fit(low, definition, notes), _fit(high, definition, notes), notes


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
