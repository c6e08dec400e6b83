"""``allegro-feed check-mapping``: is a mapping file usable, and does Allegro agree?

Without network: :func:`schemas.mapping.load_mapping` (YAML syntax, unknown or misspelt
fields, ids, repeated keys and rules), each problem printed with its line and fix.

With ``--against-allegro``, also (:func:`check_against_allegro`):

- every target category (``categories.exact``, ``prefix``, ``default`` and the rules'
  ``categories``) exists and is a leaf;
- every rule's ``parameter`` id (or ``parameter_name``) exists in the categories the rule
  applies to: all of its ``categories``, or at least one target category for a general rule;
- every ``values`` target of a dictionary parameter is one of its labels or value ids;
- ``defaults.condition`` is a value of "Stan" (11323) where the categories have it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from schemas.errors import FieldError
from schemas.mapping import (
    CONDITION_PARAMETER_ID,
    MappingError,
    MappingFile,
    load_mapping,
    normalize_name,
)
from workers.allegro import AllegroError, Category, CategoryParameter, NotFound
from workers.ops import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    OpsError,
    add_command,
    load_ops_settings,
    report_error,
)
from workers.ops.params import AppOnlyTokens, budgeted_client

__all__ = ["CategoryFacts", "check_against_allegro", "format_problem", "register", "targets"]


@dataclass(frozen=True)
class CategoryFacts:
    """What Allegro says about one category: None when it does not exist."""

    category: Category | None
    parameters: list[CategoryParameter]


def targets(mapping: MappingFile) -> dict[str, list[str]]:
    """Every Allegro category id the file names, with where (dotted paths) it is named."""
    found: dict[str, list[str]] = {}
    for key, category_id in mapping.categories.exact.items():
        found.setdefault(category_id, []).append(f"categories.exact.{key}")
    for key, category_id in mapping.categories.prefix.items():
        found.setdefault(category_id, []).append(f"categories.prefix.{key}")
    if mapping.categories.default is not None:
        found.setdefault(mapping.categories.default, []).append("categories.default")
    for index, rule in enumerate(mapping.attributes):
        for position, category_id in enumerate(rule.categories or []):
            found.setdefault(category_id, []).append(f"attributes[{index}].categories[{position}]")
    return found


def _find_parameter(
    parameters: Iterable[CategoryParameter], parameter_id: str | None, name: str | None
) -> CategoryParameter | None:
    for parameter in parameters:
        if parameter_id is not None and parameter.id == parameter_id:
            return parameter
        if name is not None and normalize_name(parameter.name or "") == normalize_name(name):
            return parameter
    return None


def _value_ok(parameter: CategoryParameter, value: str) -> bool:
    if parameter.type != "dictionary" or not parameter.dictionary:
        return True
    options = parameter.options
    if options is not None and options.custom_values_enabled:
        return True
    wanted = normalize_name(value)
    return any(
        v.id == value or normalize_name(v.value or "") == wanted for v in parameter.dictionary
    )


def check_against_allegro(
    mapping: MappingFile, facts_of: Callable[[str], CategoryFacts]
) -> list[FieldError]:
    """The problems Allegro's categories reveal (see the module docstring).

    ``facts_of(category_id)`` fetches (and may cache) what Allegro says about a category.
    """
    problems: list[FieldError] = []
    named = targets(mapping)
    facts = {category_id: facts_of(category_id) for category_id in named}
    usable = {cid for cid, f in facts.items() if f.category is not None and f.category.leaf}
    for category_id, places in named.items():
        fact = facts[category_id]
        if fact.category is None:
            problems += [
                FieldError(
                    place,
                    f"Allegro has no category {category_id}",
                    'find the right leaf id with: allegro-feed suggest "<product name>"',
                )
                for place in places
            ]
        elif fact.category.leaf is False:
            problems += [
                FieldError(
                    place,
                    f"category {category_id} ({fact.category.name}) is not a leaf: offers "
                    "can only be listed in leaf categories",
                    f"use one of its subcategories (allegro-feed params {category_id} lists them)",
                )
                for place in places
            ]
    for index, rule in enumerate(mapping.attributes):
        field = f"attributes[{index}]." + ("parameter" if rule.parameter else "parameter_name")
        wanted = rule.parameter or rule.parameter_name or ""
        scope = [c for c in (rule.categories or sorted(usable)) if c in usable]
        if not scope:
            continue  # the categories themselves were reported above (or none is usable)
        found = {
            c: _find_parameter(facts[c].parameters, rule.parameter, rule.parameter_name)
            for c in scope
        }
        missing = [c for c, p in found.items() if p is None]
        if rule.categories is not None and missing:
            problems.append(
                FieldError(
                    field,
                    f"parameter {wanted!r} does not exist in categor"
                    f"{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}",
                    "take the id from: allegro-feed params " + missing[0],
                )
            )
        elif rule.categories is None and len(missing) == len(scope):
            problems.append(
                FieldError(
                    field,
                    f"parameter {wanted!r} exists in none of the mapped categories "
                    f"({', '.join(scope)})",
                    "take the id from allegro-feed params <category>, or limit the rule with "
                    "categories:",
                )
            )
        for store_value, target in rule.values.items():
            refused = [c for c, p in found.items() if p is not None and not _value_ok(p, target)]
            if refused:
                problems.append(
                    FieldError(
                        f"attributes[{index}].values.{store_value}",
                        f"{target!r} is neither a label nor a value id of parameter {wanted} "
                        f"in categor{'y' if len(refused) == 1 else 'ies'} {', '.join(refused)}",
                        "use a label or value id listed by allegro-feed params " + refused[0],
                    )
                )
    condition = mapping.defaults.condition
    if condition is not None:
        stan = [
            p
            for c in sorted(usable)
            if (p := _find_parameter(facts[c].parameters, CONDITION_PARAMETER_ID, None))
        ]
        if stan and all(not _value_ok(p, condition) for p in stan):
            problems.append(
                FieldError(
                    "defaults.condition",
                    f"{condition!r} is not a value of parameter 11323 (Stan)",
                    'use "11323_1" (Nowy), "11323_2" (Używany) or another listed value',
                )
            )
    return problems


def format_problem(error: FieldError) -> str:
    """``<field>: <what> — <fix>`` (the style of :mod:`schemas.mapping`)."""
    text = f"{error.field}: {error.message}" if error.field else error.message
    return f"{text} — {error.fix}" if error.fix else text


# --- the command ---------------------------------------------------------------------------

_DESCRIPTION = """\
Check a mapping file: YAML syntax, unknown or misspelt fields, ids, repeated keys and
rules; every problem is printed with its line and fix. With --against-allegro, also that
every target category exists on Allegro and is a leaf, that every rule's parameter exists
in the categories it applies to, that dictionary values are labels or value ids of their
parameter, and that defaults.condition is a value of "Stan" (11323).
"""

_EPILOG = """\
examples:
  allegro-feed check-mapping mapping.yaml
  allegro-feed check-mapping mapping.yaml --against-allegro
  ALLEGRO_FEED_MAPPING_FILE=mapping.yaml allegro-feed check-mapping

exit code 1 when the file has problems (each printed with its line and fix), 2 when no file
was given and ALLEGRO_FEED_MAPPING_FILE is not set.
"""


def register(subparsers: Any) -> None:
    """Add ``check-mapping``."""
    parser = add_command(
        subparsers,
        "check-mapping",
        help="check a mapping file; with --against-allegro also its categories and parameters",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="the mapping file (default: ALLEGRO_FEED_MAPPING_FILE)",
    )
    parser.add_argument(
        "--against-allegro",
        action="store_true",
        help="also check every category and parameter with Allegro (application token)",
    )
    parser.set_defaults(handler=run_check_mapping)


def run_check_mapping(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """The ``check-mapping`` command. Returns the exit code."""
    stream = out or sys.stdout
    settings = load_ops_settings()
    path: Path | None = args.file or settings.mapping_file
    if path is None:
        report_error("check-mapping", OpsError("give FILE, or set ALLEGRO_FEED_MAPPING_FILE"))
        return EXIT_USAGE
    try:
        mapping = load_mapping(path)
    except MappingError as exc:
        print(f"{path}: {len(exc.field_errors)} problem(s)", file=stream)
        for error in exc.field_errors:
            print("  " + format_problem(error), file=stream)
        return EXIT_FAILED
    rules = len(mapping.categories.exact) + len(mapping.categories.prefix)
    summary = f"{rules} category rules, {len(mapping.attributes)} attribute rules"
    if not args.against_allegro:
        print(f"{path}: OK ({summary})", file=stream)
        return EXIT_OK
    try:
        settings.require_credentials()
    except ValueError as exc:
        report_error("check-mapping", exc)
        return EXIT_USAGE
    try:
        with budgeted_client(settings, AppOnlyTokens()) as allegro:

            def facts_of(category_id: str) -> CategoryFacts:
                try:
                    category = allegro.get_category(category_id)
                except NotFound:
                    return CategoryFacts(None, [])
                parameters = allegro.get_category_parameters(category_id) if category.leaf else []
                return CategoryFacts(category, parameters)

            problems = check_against_allegro(mapping, facts_of)
    except AllegroError as exc:
        report_error("check-mapping", exc)
        return EXIT_FAILED
    except OpsError as exc:
        report_error("check-mapping", exc)
        return EXIT_USAGE
    if problems:
        print(f"{path}: {len(problems)} problem(s) found against Allegro", file=stream)
        for error in problems:
            print("  " + format_problem(error), file=stream)
        return EXIT_FAILED
    print(
        f"{path}: OK ({summary}; {len(targets(mapping))} categories checked with Allegro, "
        f"{settings.environment})",
        file=stream,
    )
    return EXIT_OK
