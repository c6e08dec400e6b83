"""Store numbers -> Allegro's numeric parameter values (pure), for
:mod:`workers.domain.attributes`.

Numbers or text such as ``"1,5 kg"``, ``"250g"``, ``"6.1\""`` (comma or dot as decimal
separator, spaces between thousands); the mapping rule's ``scale`` multiplies, else the
value's unit (or the rule's ``unit``) is converted to the parameter's unit when both are
known (g -> kg, mm -> cm, ml -> l, ...); integers must come out whole, floats are rounded to
``precision``; ``min``/``max`` are checked. ``range: true`` parameters take ``"a-b"``,
``"a \u2013 b"`` (en dash), ``"od a do b"`` or a list of two.

:class:`ValueProblem`, the converter's one failure, is defined here (the lowest layer) and
re-exported by :mod:`workers.domain.attributes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from schemas.mapping import AttributeRule

__all__ = ["CODE_VALUE", "ValueProblem", "format_number", "number_value", "range_value"]

#: Ours: a value that does not fit a numeric or text parameter (format, unit, range, count).
CODE_VALUE = "PARAMETER_VALUE_INVALID"


class ValueProblem(ValueError):
    """A store value that does not fit a parameter. ``reason`` says what is wrong, ``fix``
    what to do; ``code`` is Allegro's where one fits."""

    def __init__(self, reason: str, fix: str, code: str = CODE_VALUE) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.code = code


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
        raise ValueProblem(f"{'tak' if value else 'nie'} is not a number", "send a number")
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


def number_value(
    value: Any, definition: Mapping[str, Any], rule: AttributeRule | None
) -> tuple[str, list[str]]:
    """One number (``"1,5 kg"``, 250, ``"6.1\""``) as parameter ``definition``'s value and
    the notes made on the way (rounding). Raises :class:`ValueProblem`."""
    number, unit = _parse(value)
    notes: list[str] = []
    return _fit(_scaled(number, unit, definition, rule), definition, notes), notes


def range_value(
    items: list[Any], definition: Mapping[str, Any], rule: AttributeRule | None
) -> tuple[str, str, list[str]]:
    """A ``range: true`` parameter's ends (from, to) and notes, from ``"a-b"``, ``"od a do
    b"``, one number (both ends) or two. Raises :class:`ValueProblem`."""
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
