"""The mapping template ``allegro-feed params`` writes (pure: no network).

:func:`render_template` turns a leaf category and its parameters into YAML in the format
of :mod:`schemas.mapping`: a commented header saying what to fill in, empty
``categories`` rules, and one ``attributes`` rule per parameter, each under a comment
(:func:`describe_parameter`) with everything Allegro says about the parameter. Each rule's
``attribute`` is a guess from the parameter's name (:func:`attribute_guess`).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from workers.allegro import Category, CategoryParameter

__all__ = [
    "DICTIONARY_VALUES_SHOWN",
    "attribute_guess",
    "describe_parameter",
    "one_line",
    "render_template",
]

#: Dictionary values listed per parameter in the template ("the first ~20").
DICTIONARY_VALUES_SHOWN = 20
_WIDTH = 96


def attribute_guess(parameter: CategoryParameter) -> str:
    """A store attribute name guessed from the parameter's name: ``"Marka telefonu"`` ->
    ``marka_telefonu`` (letters kept, everything else ``_``)."""
    words = re.findall(r"[^\W_]+", (parameter.name or "").casefold())
    return "_".join(words)[:64] or f"param_{parameter.id}"


def _number(value: Decimal | None) -> str:
    if value is None:
        return "?"
    text = format(value.normalize(), "f")
    return text


def one_line(text: str | None) -> str:
    """``text`` on one line, runs of white space as one space."""
    return " ".join((text or "").split())


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def _conditions(data: dict[str, Any] | None) -> list[str]:
    parts: list[str] = []
    for condition in (data or {}).get("parametersWithValue") or []:
        if isinstance(condition, dict):
            ids = ", ".join(str(v) for v in condition.get("oneOfValueIds") or [])
            parts.append(f"{condition.get('id')} is one of [{ids}]")
    for condition in (data or {}).get("parametersWithoutValue") or []:
        if isinstance(condition, dict):
            parts.append(f"{condition.get('id')} has no value")
    return parts


def describe_parameter(parameter: CategoryParameter) -> list[str]:
    """What Allegro says about a parameter, as comment lines (without ``#``)."""
    kind = parameter.type or "?"
    options = parameter.options
    where = "product parameter" if parameter.describes_product else "offer parameter"
    flags = [kind, where + (" (describesProduct)" if parameter.describes_product else "")]
    if parameter.unit:
        flags.append(f"unit {parameter.unit}")
    if parameter.required:
        flags.append("REQUIRED in the offer")
    if parameter.required_for_product:
        flags.append("REQUIRED to create a product (requiredForProduct)")
    if not parameter.required and not parameter.required_for_product:
        flags.append("optional")
    lines = [", ".join(flags)]
    required_if = _conditions(parameter.required_if)
    if required_if:
        lines.append("required only if: " + "; ".join(required_if))
    displayed_if = _conditions(parameter.displayed_if)
    if displayed_if:
        lines.append("shown only if: " + "; ".join(displayed_if))
    restrictions = parameter.restrictions
    limits: list[str] = []
    if restrictions is not None:
        if kind in ("integer", "float") and (
            restrictions.min is not None or restrictions.max is not None
        ):
            limits.append(f"from {_number(restrictions.min)} to {_number(restrictions.max)}")
        if restrictions.precision is not None:
            limits.append(f"at most {restrictions.precision} decimal places")
        if restrictions.range:
            limits.append("a range: send rangeValue {from, to}")
        if restrictions.min_length is not None or restrictions.max_length is not None:
            limits.append(
                f"{restrictions.min_length or 0} to {restrictions.max_length or '?'} characters"
            )
        if restrictions.allowed_number_of_values is not None:
            count = restrictions.allowed_number_of_values
            limits.append(f"at most {count} value{'s' if count != 1 else ''}")
        if kind == "dictionary":
            limits.append(
                "several values allowed" if restrictions.multiple_choices else "one value"
            )
    if options is not None and options.custom_values_enabled:
        other = options.ambiguous_value_id
        limits.append(f"own text allowed with the value {other}" if other else "own text allowed")
    if options is not None and options.depends_on_parameter_id:
        limits.append(f"values depend on parameter {options.depends_on_parameter_id}")
    if limits:
        lines.append("restrictions: " + "; ".join(limits))
    if parameter.dictionary:
        total = len(parameter.dictionary)
        shown = parameter.dictionary[:DICTIONARY_VALUES_SHOWN]
        head = (
            f"values ({total}):"
            if total <= len(shown)
            else f"values (first {len(shown)} of {total}):"
        )
        entries = ", ".join(f"{one_line(v.value)} ({v.id})" for v in shown)
        lines.append(f"{head} {entries}")
    former = parameter.former_data or {}
    if former.get("names") or former.get("ids"):
        names = ", ".join(str(n) for n in former.get("names") or [])
        ids = ", ".join(str(i) for i in former.get("ids") or [])
        lines.append("formerly: " + "; ".join(x for x in (names, ids and f"ids {ids}") if x))
    return lines


def _rule(parameter: CategoryParameter, category_id: str) -> list[str]:
    title = f"# --- {parameter.id} {one_line(parameter.name)} "
    lines = [title + "-" * max(3, _WIDTH - 2 - len(title))]
    for line in describe_parameter(parameter):
        lines += textwrap.wrap(
            line,
            width=_WIDTH - 2,
            initial_indent="#   ",
            subsequent_indent="#     ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    lines += [
        f"- attribute: {_quoted(attribute_guess(parameter))}   # guessed: your attribute's name",
        f"  parameter: {_quoted(parameter.id or '')}",
        f"  categories: [{_quoted(category_id)}]",
    ]
    if parameter.type == "dictionary":
        example = next((v.value for v in parameter.dictionary or [] if v.value), "label")
        lines.append(
            "  values: {}   # store value: Allegro label or value id, e.g. "
            f"{_quoted(one_line(example).lower())}: {_quoted(one_line(example))}"
        )
    elif parameter.type in ("integer", "float") and parameter.unit:
        lines.append(
            "  # scale: 1   # or unit: <the store's unit>, when its numbers are not in "
            + parameter.unit
        )
    return lines


def render_template(
    category: Category,
    path: Sequence[Category],
    parameters: Sequence[CategoryParameter],
    *,
    fetched_at: datetime,
    environment: str,
) -> str:
    """The mapping template (YAML text) for one leaf category; see the module docstring.

    ``path`` is the category's ancestors and itself, from the top. The text parses with
    :func:`schemas.mapping.parse_mapping`.
    """
    category_id = category.id or "?"
    name = one_line(category.name)
    trail = " > ".join(one_line(c.name) for c in path) or name
    required = sum(1 for p in parameters if p.required)
    for_product = sum(1 for p in parameters if p.required_for_product)
    when = fetched_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Plain YAML text, not SQL (ruff's S608 takes "delete ... from" for a query).
    head = f"""\
# allegro-feed mapping template for Allegro category {category_id} "{name}"
#   {trail}
#   {len(parameters)} parameters ({required} required in the offer, {for_product} required to
#   create a product), fetched from Allegro ({environment}) on {when} with
#   `allegro-feed params {category_id}`.
#
# To fill in:
#   1. categories: the store categories (path or id) whose products belong here, e.g.
#        exact:  {{"Electronics > Phones > Smartphones": "{category_id}"}}
#        prefix: {{"Electronics > Phones": "{category_id}"}}
#   2. attributes: one rule per parameter below. Replace each guessed `attribute` with
#      the name of your store attribute that holds the value (compared case-insensitively),
#      and delete the rules you do not need. A dictionary parameter takes an Allegro label
#      or value id: map differing store values under `values`. Parameters a catalogue
#      product (found by EAN) already has need no rule; "Stan" (11323) may also come from
#      defaults.condition.
#   3. Check it: allegro-feed check-mapping FILE --against-allegro
# Several templates merge by joining their categories and attributes sections.
version: 1
# defaults:
#   condition: "11323_1"   # parameter 11323 "Stan" when a product has none (11323_1 = Nowy)
categories:
  exact: {{}}
  prefix: {{}}
attributes:"""  # noqa: S608
    lines = head.splitlines()
    if not parameters:
        lines[-1] = "attributes: []   # this category has no parameters"
    for parameter in parameters:
        lines.append("")
        lines += ["  " + line for line in _rule(parameter, category_id)]
    return "\n".join(lines) + "\n"
