"""YAML 1.2 for the mapping file: reading, and finding the line of a value.

:func:`read_yaml` parses text with :class:`Yaml12Loader` (the YAML 1.2 core schema's
implicit types only, a repeated key refused) and keeps the node tree, so that
:func:`line_of` can name the line of the value a validation error points at;
:func:`yaml_problem` words a syntax error as a :class:`~schemas.errors.FieldError`. Used
by :func:`schemas.mapping.parse_mapping`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from schemas.errors import ErrorCode, FieldError

__all__ = ["Yaml12Loader", "line_of", "read_yaml", "use_yaml12_types", "yaml_problem"]


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's implicit types only.

    Plain scalars become null, booleans (true/false), integers (decimal, 0o, 0x), floats,
    or text. Everything YAML 1.1 adds (``yes``/``no``/``on``/``off``, ``1_000``,
    sexagesimal ``1:20``, dates, ``=``, ``<<`` merges) stays text.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}  # PyYAML's registry, emptied for 1.2

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # YAML forbids a repeated key; PyYAML would keep the last one in silence.
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports the unhashable key
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} a second time (first on line {first})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


#: The YAML 1.2 core schema's implicit types: (tag, pattern of a plain scalar, the first
#: characters it can start with). Every other plain scalar is text.
_CORE_TYPES = (
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+.0123456789"),
    ),
)


def _construct_yaml12_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith("0o"):
        return int(digits[2:], 8)
    if digits.startswith("0x"):
        return int(digits[2:], 16)
    return sign * int(digits)


def use_yaml12_types(loader: type[yaml.SafeLoader]) -> None:
    """Resolve plain scalars in ``loader`` (a subclass of PyYAML's ``SafeLoader`` or
    ``CSafeLoader`` whose ``yaml_implicit_resolvers`` is its own, emptied) by the YAML 1.2
    core schema: null, booleans, integers (decimal, ``0o``, ``0x``) and floats."""
    for tag, pattern, first in _CORE_TYPES:
        loader.add_implicit_resolver(
            f"tag:yaml.org,2002:{tag}", re.compile(rf"^(?:{pattern})$"), first
        )
    loader.add_constructor("tag:yaml.org,2002:int", _construct_yaml12_int)


use_yaml12_types(Yaml12Loader)


def _child(node: yaml.Node, part: int | str) -> tuple[yaml.Node, int] | None:
    """The node under ``node`` at ``part`` and the line (1-based) that names it."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                return value_node, key_node.start_mark.line + 1
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and part in range(len(node.value))
    ):
        child: yaml.Node = node.value[part]
        return child, child.start_mark.line + 1
    return None


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (pydantic's error location), or of the
    deepest node found on the way.

    A part that names no key as a whole (a validator's ``attributes[3]`` or ``values.x``)
    is tried once more split at its first ``.`` and at ``[n]``.
    """
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        found = _child(node, part)
        if found is None and isinstance(part, str):
            match = re.fullmatch(r"([^.\[]+)(?:\[([0-9]+)\])?(?:\.(.+))?", part)
            if match and match.group(0) != match.group(1):
                head, index, rest = match.groups()
                pieces: list[int | str] = [head]
                pieces += [int(index)] if index is not None else []
                pieces += [rest] if rest is not None else []
                parts[:0] = pieces
                continue
        if found is None:
            break
        node, line = found
    return line


def yaml_problem(exc: yaml.YAMLError) -> FieldError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = str(getattr(exc, "problem", None) or exc).strip()
    context = getattr(exc, "context", None)
    if context and "second time" not in problem:
        problem = f"{context}: {problem}"
    message = (
        f"is not valid YAML at {where}: {problem}" if where else "is not valid YAML: " + problem
    )
    if "second time" in problem:
        fix = "keep one of the two entries (merge their contents)"
    else:
        fix = "fix the syntax there (indent with spaces, quote values containing ': ' or '#')"
    return FieldError("", message, fix, ErrorCode.INVALID_FIELD)


def read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree of the one document in ``text`` and its data (None, None when the text
    holds no document). Raises :class:`yaml.YAMLError`."""
    loader = Yaml12Loader(text)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
