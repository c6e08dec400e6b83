"""Validate Allegro requests and responses against Allegro's OpenAPI 3.0 spec.

The spec (``../shared/allegro/openapi.yaml``, see ``../shared/allegro/SOURCE.md``) is data in
the shared folder. It is read at test time and never copied into the project; the only copy
this module makes is a JSON parse cache in the system temp dir (see :func:`load_spec`).

Public API::

    shared_dir() -> Path | None          # the shared folder, or None
    require_spec() -> Spec               # loaded spec, or pytest.skip / pytest.fail (CI)
    load_spec(path) -> Spec              # load any copy of the spec
    Spec.operation(method, path)         # concrete path -> Operation (KeyError when unknown)
    Spec.validate_request(...)           # strict: request body, incl. unknown properties
    Spec.unknown_properties(...)         # dotted paths the request schema does not declare
    Spec.validate_response(...)          # lenient (FACTS §14) or strict
    Spec.unknown_response_properties()   # dotted paths the response schema does not declare
    Spec.validate_parameters(...)        # path and query parameters (strict)
    Spec.check_exchange(entry)           # one sandbox request-log entry, all of the above
    is_spec_path(path)                   # False for /auth/oauth/* and /__sandbox/*

Every ``validate_*`` returns a list of human-readable problems (empty = valid); each names
the JSON path of the offending value in Allegro's own notation, e.g.
``productSet[0].product.parameters[9].values[0]``.

Conversion of OpenAPI 3.0 schemas to JSON Schema (draft 7), decided here:

* ``$ref: #/components/schemas/X`` becomes a reference into one JSON Schema document per
  mode (``urn:allegro-openapi:<mode>``) holding every converted component under
  ``definitions``; references are resolved lazily by ``referencing``, never inlined.
* ``nullable: true`` adds ``"null"`` to ``type`` (and ``None`` to ``enum``); a nullable
  schema without ``type`` (``allOf``/``oneOf`` wrappers) becomes ``anyOf: [null, schema]``.
* ``readOnly`` properties are dropped from ``required`` in requests and reported as errors
  when a request sends them (OpenAPI 3.0: "SHOULD NOT be sent"; Allegro answers 422
  UnknownJSONProperty); ``writeOnly`` properties are dropped from ``required`` in responses.
* ``discriminator`` (both forms found in the spec: a ``oneOf`` with a discriminator, and a
  base schema whose subtypes ``allOf``-include it) becomes a dispatch on the property
  value: the value must be a mapping key and the object is validated against exactly the
  mapped schema. A subtype's ``allOf`` reference back to its base gets the base without
  the dispatch, so there is no loop. Undiscriminated ``oneOf`` stays ``oneOf`` (strict).
* ``format``: only ``date-time`` and ``date`` are checked, loosely (ISO 8601 shape with the
  ``T``; seconds, fraction and time zone optional), and only in strict modes. Every other
  format, including the spec's free-text ones ("ISO 4217", "BCP-47 language code"), is
  ignored.
* ``example``/``examples``, ``description``, ``title``, ``default``, ``deprecated``,
  ``xml``, ``externalDocs`` and ``x-*`` are dropped; ``additionalProperties`` is kept as
  declared (OpenAPI's default, like JSON Schema's, allows extra properties).
* The boolean ``exclusiveMinimum``/``exclusiveMaximum`` of OpenAPI 3.0 become draft-7 numbers.
* PATCH bodies are JSON Merge Patches (RFC 7396): their ``null`` members mean "remove the
  field" and are not validated as values.

Lenient response mode (FACTS.md §14): no property is required, every value may be
``null``, an empty array ``[]`` is accepted where an object is expected, unknown
properties are ignored (``additionalProperties: false`` is dropped), ``oneOf`` becomes
``anyOf``, and ``pattern``/``format`` are not checked (amounts differ in formatting between
endpoints). Types, enums, discriminator values, lengths and bounds are still checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT7

from schemas._yaml import use_yaml12_types

__all__ = [
    "NON_SPEC_PATH_PREFIXES",
    "SHARED_DIR_ENV",
    "SPEC_RELATIVE_PATH",
    "Operation",
    "Spec",
    "is_spec_path",
    "load_spec",
    "load_yaml12",
    "require_spec",
    "shared_dir",
    "spec_path",
]

SHARED_DIR_ENV = "ALLEGRO_FEED_SHARED_DIR"
SPEC_RELATIVE_PATH = Path("allegro") / "openapi.yaml"
# Paths the sandbox serves that Allegro's REST spec does not describe: OAuth lives on the
# shop domain (form-encoded, FACTS §2) and /__sandbox/ is the simulator's own control API.
NON_SPEC_PATH_PREFIXES = ("/auth/oauth/", "/__sandbox/")

_REPO_ROOT = Path(__file__).resolve().parents[2]
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA_REF = "#/components/schemas/"
# Bump when the loader's output changes, so stale parse caches are not reused.
_CACHE_VERSION = "1"


# --------------------------------------------------------------------------- locating


def shared_dir() -> Path | None:
    """The shared reference folder: ``$ALLEGRO_FEED_SHARED_DIR`` when set, else ``../shared``
    beside the repository root. ``None`` when that directory does not exist."""
    configured = os.environ.get(SHARED_DIR_ENV)
    candidate = Path(configured).expanduser() if configured else _REPO_ROOT.parent / "shared"
    return candidate.resolve() if candidate.is_dir() else None


def spec_path() -> Path | None:
    """``<shared>/allegro/openapi.yaml`` when it exists, else ``None``."""
    base = shared_dir()
    if base is None:
        return None
    path = base / SPEC_RELATIVE_PATH
    return path if path.is_file() else None


def require_spec() -> Spec:
    """The loaded spec, cached per process. Skips the calling test when the shared folder
    is missing, but fails it when ``$CI`` is set: in CI the contract tests must run."""
    path = spec_path()
    if path is None:
        where = os.environ.get(SHARED_DIR_ENV) or "../shared beside the repository"
        message = (
            f"../shared/allegro/openapi.yaml not found (looked in {where}): contract tests "
            f"need the shared folder beside the repo, or {SHARED_DIR_ENV} pointing at it"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return load_spec(path)


# --------------------------------------------------------------------------- loading


class _Yaml12Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader with the YAML 1.2 core-schema scalar rules.

    PyYAML implements YAML 1.1, where ``11323_1`` is the integer 113231 (``_`` is a digit
    separator), ``2024-01-01`` a date, ``yes``/``on`` booleans and ``010`` octal. In YAML 1.2
    all of those are strings, or decimal 10. Only null, bool, int and float are resolved;
    every other plain scalar stays a string.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}  # replaced, not extended: no 1.1 rules


use_yaml12_types(_Yaml12Loader)  # the mapping file's rules (schemas/_yaml.py)


def load_yaml12(text: str | bytes) -> Any:
    """Parse YAML with the YAML 1.2 core-schema scalar rules (see :class:`_Yaml12Loader`)."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 (a SafeLoader subclass)


def _cache_dir() -> Path | None:
    """A per-user directory in the system temp dir, or None when it is not safe to use."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    path = Path(tempfile.gettempdir()) / f"allegro-feed-openapi-{uid if uid is not None else 0}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        if uid is not None and path.stat().st_uid != uid:
            return None
    except OSError:
        return None
    return path


def _read_document(raw: bytes, *, disk_cache: bool) -> dict[str, Any]:
    """Parse the spec bytes, through a JSON cache keyed by their sha256 when allowed.

    JSON rather than pickle: as fast to read back (about 10 ms for this spec), and a file
    left in a shared temp dir cannot execute code when loaded. Every value the YAML 1.2
    loader produces (str, int, float, bool, None, str-keyed dicts, lists) survives JSON.
    """
    digest = hashlib.sha256(raw).hexdigest()
    cache = _cache_dir() if disk_cache else None
    cached = cache / f"openapi-{digest}-v{_CACHE_VERSION}.json" if cache else None
    if cached is not None and cached.is_file():
        with contextlib.suppress(OSError, ValueError):
            document = json.loads(cached.read_bytes())
            if isinstance(document, dict):
                return document
    document = load_yaml12(raw)
    if not isinstance(document, dict):
        raise ValueError("the OpenAPI document is not a mapping")
    if cached is not None:
        with contextlib.suppress(OSError):
            fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(document, out, ensure_ascii=False)
            os.replace(tmp, cached)
    return document


_LOADED: dict[tuple[str, int, int], Spec] = {}


def load_spec(path: str | os.PathLike[str], *, disk_cache: bool = True) -> Spec:
    """Load an OpenAPI 3.0 file into a :class:`Spec`, cached per process (by path, mtime
    and size) and, unless ``disk_cache`` is False, through a parse cache in the temp dir."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    if disk_cache and key in _LOADED:
        return _LOADED[key]
    spec = Spec(_read_document(resolved.read_bytes(), disk_cache=disk_cache), source=resolved)
    if disk_cache:
        _LOADED[key] = spec
    return spec


# --------------------------------------------------------------------------- small helpers


def _media_key(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _is_json_media(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _json_path(parts: Iterable[str | int]) -> str:
    """Allegro's notation for a location in a body: ``productSet[0].product.name``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(prefix: str, parts: Iterable[str | int]) -> str:
    path = _json_path(parts)
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix} {path}"


def _decode_body(body: Any, content_type: str | None) -> tuple[Any, str | None]:
    """A logged body as JSON data: bytes/str are parsed when they look like JSON.

    Returns ``(value, problem)``; ``problem`` is set when a JSON body does not parse.
    """
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", errors="replace")
    if not isinstance(body, str):
        return body, None
    if not body.strip():
        return None, None
    media = _media_key(content_type)
    if media is not None and not _is_json_media(media):
        return body, None
    try:
        return json.loads(body), None
    except ValueError as exc:
        if media is None:
            return body, None
        return body, f"body is not valid JSON ({exc})"


_DATE = r"\d{4}-\d{2}-\d{2}"
_DATE_RE = re.compile(rf"^{_DATE}$")
_DATE_TIME_RE = re.compile(
    rf"^{_DATE}[Tt]\d{{2}}:\d{{2}}(?::\d{{2}}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{{2}}(?::?\d{{2}})?)?$"
)


def _format_checker() -> FormatChecker:
    """Loose ISO 8601 checks for ``date-time`` and ``date``; no other format is checked."""
    checker = FormatChecker(formats=())
    for name, pattern in (("date-time", _DATE_TIME_RE), ("date", _DATE_RE)):
        checker.checks(name)(partial(_matches, pattern))
    return checker


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return not isinstance(value, str) or bool(pattern.match(value))


# --------------------------------------------------------------------------- conversion

_REQUEST, _RESPONSE, _LENIENT = "request", "response", "lenient"
_MODES = (_REQUEST, _RESPONSE, _LENIENT)
_COMPOSITE = frozenset({"properties", "additionalProperties", "allOf", "oneOf", "anyOf"})
_COPIED_KEYWORDS = frozenset(
    {
        "type", "enum", "format", "pattern", "minLength", "maxLength", "minimum", "maximum",
        "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
    }
)  # fmt: skip


def _schema_name(ref: str) -> str:
    if not ref.startswith(_SCHEMA_REF):
        raise ValueError(f"unsupported $ref {ref!r}: only {_SCHEMA_REF}* is used by the spec")
    return ref[len(_SCHEMA_REF) :]


class _Converter:
    """OpenAPI 3.0 schema objects -> JSON Schema draft 7, for one mode."""

    def __init__(self, schemas: Mapping[str, Any], mode: str) -> None:
        self.schemas = schemas
        self.mode = mode
        self.lenient = mode == _LENIENT
        self.uri = f"urn:allegro-openapi:{mode}"
        # Base schemas that dispatch on a discriminator (no oneOf/anyOf of their own), and
        # the names of their subtypes: a subtype's allOf reference to its base must get the
        # base without the dispatch, or validation would loop base -> subtype -> base.
        self.subtypes: dict[str, set[str]] = {}
        for name, schema in schemas.items():
            if isinstance(schema, dict) and self._is_dispatching_base(schema):
                self.subtypes[name] = set(self.mapping(schema, owner=name).values())

    @staticmethod
    def _is_dispatching_base(schema: Mapping[str, Any]) -> bool:
        return "discriminator" in schema and not ("oneOf" in schema or "anyOf" in schema)

    def mapping(self, schema: Mapping[str, Any], owner: str | None = None) -> dict[str, str]:
        """Discriminator value -> component name, explicit mapping plus implicit names."""
        disc = schema["discriminator"]
        result = {
            str(key): target.rsplit("/", 1)[-1]
            for key, target in (disc.get("mapping") or {}).items()
        }
        alternatives = schema.get("oneOf") or schema.get("anyOf") or []
        for alt in alternatives:
            if isinstance(alt, dict) and "$ref" in alt:
                name = _schema_name(alt["$ref"])
                if name not in result.values():
                    result[name] = name
        if not result and owner is not None:  # a base without mapping: subtypes by name
            for name, other in self.schemas.items():
                members = other.get("allOf", []) if isinstance(other, dict) else []
                if any(m.get("$ref") == _SCHEMA_REF + owner for m in members):
                    result[name] = name
        return result

    def ref(self, name: str, *, base: bool = False) -> dict[str, str]:
        if name not in self.schemas:
            raise ValueError(f"$ref to unknown schema {name!r}")
        return {"$ref": f"{self.uri}#/definitions/{name}{'~base' if base else ''}"}

    def document(self) -> dict[str, Any]:
        definitions: dict[str, Any] = {}
        for name, schema in self.schemas.items():
            definitions[name] = self.convert(schema, owner=name)
            if name in self.subtypes:
                definitions[f"{name}~base"] = self.convert(schema, owner=name, dispatch=False)
        return {"definitions": definitions}

    def _read_only(self, schema: Any) -> tuple[bool, bool]:
        if isinstance(schema, dict) and "$ref" in schema:
            schema = self.schemas.get(_schema_name(schema["$ref"]), {})
        if not isinstance(schema, dict):
            return False, False
        return bool(schema.get("readOnly")), bool(schema.get("writeOnly"))

    def convert(
        self, schema: Any, *, owner: str | None, dispatch: bool = True, in_all_of: bool = False
    ) -> Any:
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            name = _schema_name(schema["$ref"])
            return self.ref(name, base=in_all_of and owner in self.subtypes.get(name, ()))
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in _COPIED_KEYWORDS:
                out[key] = list(value) if isinstance(value, list) else value
            elif key == "properties":
                out[key] = {k: self.convert(v, owner=owner) for k, v in value.items()}
            elif key in ("items", "not"):
                out[key] = self.convert(value, owner=owner)
            elif key == "additionalProperties":
                if not (self.lenient and value is False):
                    out[key] = self.convert(value, owner=owner)
            elif key == "allOf":
                out[key] = [self.convert(v, owner=owner, in_all_of=True) for v in value]
            elif key in ("oneOf", "anyOf"):
                target = "anyOf" if self.lenient else key
                out[target] = [self.convert(v, owner=owner) for v in value]
        self._bounds(schema, out)
        self._required(schema, out)
        if self.lenient:
            out = _relaxed(out)
        if dispatch and "discriminator" in schema:
            out = self._dispatch(schema, out, owner)
        return out if self.lenient else _nullable(schema, out)

    @staticmethod
    def _bounds(schema: Mapping[str, Any], out: dict[str, Any]) -> None:
        for bound in ("Minimum", "Maximum"):
            exclusive, inclusive = f"exclusive{bound}", bound.lower()
            if schema.get(exclusive) is True and inclusive in out:
                out[exclusive] = out.pop(inclusive)

    def _required(self, schema: Mapping[str, Any], out: dict[str, Any]) -> None:
        names = schema.get("required")
        if not names or self.lenient:
            return
        properties = schema.get("properties") or {}
        kept = []
        for name in names:
            read_only, write_only = self._read_only(properties.get(name))
            if (self.mode == _REQUEST and read_only) or (self.mode == _RESPONSE and write_only):
                continue
            kept.append(name)
        if kept:
            out["required"] = kept

    def _dispatch(
        self, schema: Mapping[str, Any], out: dict[str, Any], owner: str | None
    ) -> dict[str, Any]:
        """Replace a discriminator (+ oneOf/anyOf) by: value in mapping, then validate
        against exactly the mapped schema."""
        prop = schema["discriminator"]["propertyName"]
        mapping = self.mapping(schema, owner if self._is_dispatching_base(schema) else None)
        out.pop("oneOf", None)
        out.pop("anyOf", None)
        keys_by_target: dict[str, list[str]] = {}
        for key, target in mapping.items():
            keys_by_target.setdefault(target, []).append(key)
        dispatcher: dict[str, Any] = {
            "type": "object",
            "properties": {prop: {"enum": list(mapping)}},
            "allOf": [
                {
                    # `type` in the condition: a null or [] never selects a subtype.
                    "if": {
                        "type": "object",
                        "properties": {prop: {"enum": keys}},
                        "required": [prop],
                    },
                    "then": self.ref(target),
                }
                for target, keys in keys_by_target.items()
            ],
        }
        if self.lenient:
            dispatcher["properties"][prop] = _relaxed(dispatcher["properties"][prop])
            dispatcher = _relaxed(dispatcher)
        if not out:
            return dispatcher
        return {"allOf": [out, dispatcher]}


def _nullable(schema: Mapping[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """Strict modes: ``nullable: true`` as JSON Schema."""
    if not schema.get("nullable"):
        return out
    if "type" not in out and "enum" not in out:
        return {"anyOf": [{"type": "null"}, out]}
    if "type" in out and not isinstance(out["type"], list):
        out["type"] = [out["type"], "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _relaxed(out: dict[str, Any]) -> dict[str, Any]:
    """Lenient mode (FACTS §14) on one converted schema: null is always allowed, ``[]``
    is accepted where an object is declared, patterns and formats are not checked."""
    out.pop("pattern", None)
    out.pop("format", None)
    if "type" in out:
        kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
        if "object" in kinds and "array" not in kinds:
            # maxItems constrains arrays only, so objects are unaffected.
            kinds = [*kinds, "array"]
            out["maxItems"] = 0
        out["type"] = kinds if "null" in kinds else [*kinds, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, matched from a concrete request path."""

    method: str  # upper case, e.g. "POST"
    template: str  # e.g. "/sale/product-offers/{offerId}"
    definition: Mapping[str, Any] = field(repr=False)  # the OpenAPI operation object
    path_item: Mapping[str, Any] = field(repr=False)
    path_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str | None:
        return self.definition.get("operationId")

    @property
    def parameters(self) -> list[Mapping[str, Any]]:
        """Path-item parameters overridden by the operation's own, by (name, in)."""
        merged: dict[tuple[str, str], Mapping[str, Any]] = {}
        for source in (self.path_item, self.definition):
            for param in source.get("parameters", []):
                merged[(param["name"], param["in"])] = param
        return list(merged.values())

    @property
    def responses(self) -> Mapping[str, Any]:
        return {str(code): value for code, value in self.definition.get("responses", {}).items()}

    def response_for(self, status: int) -> tuple[str, Mapping[str, Any]] | None:
        """The response object for a status: exact code, then ``4XX``-style, then default."""
        responses = self.responses
        for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
            if key in responses:
                return key, responses[key]
        return None

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True)
class _Route:
    template: str
    regex: re.Pattern[str]
    names: tuple[str, ...]
    specificity: tuple[int, ...]  # per segment: 0 literal, 1 parameter (smaller wins)


def _route(template: str) -> _Route:
    names: list[str] = []
    pattern = ""
    specificity = []
    for segment in template.strip("/").split("/"):
        pieces = re.split(r"(\{[^}]+\})", segment)
        regex = ""
        for piece in pieces:
            if piece.startswith("{") and piece.endswith("}"):
                names.append(piece[1:-1])
                regex += "([^/]+)"
            else:
                regex += re.escape(piece)
        pattern += "/" + regex
        specificity.append(1 if "{" in segment else 0)
    return _Route(template, re.compile(f"^{pattern}$"), tuple(names), tuple(specificity))


def _split_target(path: str) -> tuple[str, str | None]:
    """``https://host/a/b?x=1`` or ``/a/b?x=1`` -> (``/a/b``, ``x=1``)."""
    parts = urlsplit(path)
    return parts.path or "/", parts.query or None


def is_spec_path(path: str) -> bool:
    """False for OAuth and sandbox-control paths, which Allegro's REST spec does not cover."""
    bare, _ = _split_target(path)
    return not bare.startswith(NON_SPEC_PATH_PREFIXES)


# --------------------------------------------------------------------------- the spec

_UNKNOWN = "unknown property: the spec does not declare it (Allegro: 422 UnknownJSONProperty)"
_READ_ONLY = "read-only property: must not be sent (readOnly in the spec)"
_Found = list[tuple[list[str | int], str]]  # (location in the body, reason)


@dataclass
class _Shape:
    """What an object schema declares, over all its allOf/oneOf/anyOf parts."""

    properties: dict[str, list[Any]] = field(default_factory=dict)  # name -> declarations
    additional: list[Any] = field(default_factory=list)  # additionalProperties schemas
    open: bool = False  # additionalProperties: true, or a free-form alternative
    declared: bool = False
    read_only: set[str] = field(default_factory=set)


class Spec:
    """Allegro's OpenAPI document with request/response validation."""

    def __init__(self, document: Mapping[str, Any], *, source: Path | None = None) -> None:
        self.document = document
        self.source = source
        self.schemas: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
        self.paths: Mapping[str, Any] = document.get("paths", {})
        self._routes = sorted((_route(t) for t in self.paths), key=lambda r: r.specificity)
        self._converters = {mode: _Converter(self.schemas, mode) for mode in _MODES}
        self._registries: dict[str, Registry[Any]] = {}
        self._validators: dict[tuple[str, int], tuple[Any, Draft7Validator]] = {}
        self._format_checker = _format_checker()
        self._component_names = {id(schema): name for name, schema in self.schemas.items()}

    # ------------------------------------------------------------------ structure

    def operations(self) -> Iterator[Operation]:
        """Every operation of the spec (without path parameter values)."""
        for template, item in self.paths.items():
            for method in _HTTP_METHODS:
                if method in item:
                    yield Operation(method.upper(), template, item[method], item)

    def operation(self, method: str, path: str) -> Operation:
        """Match a concrete path (a query string or scheme and host are ignored) to its
        template. The most literal template wins (``/sale/offers/unfilled-parameters``
        beats ``/sale/offers/{offerId}``). Raises KeyError when nothing matches."""
        bare, _ = _split_target(path)
        verb = method.lower()
        matched = []
        for route in self._routes:
            found = route.regex.match(bare)
            if found is None:
                continue
            matched.append(route.template)
            item = self.paths[route.template]
            if verb in item:
                values = (unquote(v) for v in found.groups())
                params = dict(zip(route.names, values, strict=True))
                return Operation(method.upper(), route.template, item[verb], item, params)
        label = f"{method.upper()} {bare}"
        if matched:
            declared = sorted(
                {m.upper() for t in matched for m in _HTTP_METHODS if m in self.paths[t]}
            )
            raise KeyError(
                f"{label}: the path matches {', '.join(matched)} but the spec declares only "
                f"{', '.join(declared)} there"
            )
        raise KeyError(f"{label}: no path template of the spec matches this path")

    def _deref(self, value: Any, section: str = "schemas") -> Any:
        """Follow ``$ref: #/components/<section>/X`` until a non-reference."""
        seen = set()
        while isinstance(value, dict) and "$ref" in value:
            ref = value["$ref"]
            prefix = f"#/components/{section}/"
            if ref in seen or not ref.startswith(prefix):
                raise ValueError(f"unsupported or cyclic $ref {ref!r}")
            seen.add(ref)
            value = self.document["components"][section][ref[len(prefix) :]]
        return value

    # ------------------------------------------------------------------ JSON Schema

    def json_schema(self, schema: Any, mode: str = _REQUEST) -> Any:
        """An OpenAPI schema object converted for ``mode`` ('request', 'response' or
        'lenient'); its ``$ref``s point into that mode's registry."""
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, not {mode!r}")
        return self._converters[mode].convert(schema, owner=None)

    def _registry(self, mode: str) -> Registry[Any]:
        if mode not in self._registries:
            converter = self._converters[mode]
            resource = DRAFT7.create_resource(converter.document())
            self._registries[mode] = Registry().with_resource(converter.uri, resource)
        return self._registries[mode]

    def _validate(self, schema: Any, instance: Any, mode: str, prefix: str) -> list[str]:
        """Problems of ``instance`` against an OpenAPI schema object of this document."""
        key = (mode, id(schema))
        if key not in self._validators:
            validator = Draft7Validator(
                self.json_schema(schema, mode),
                registry=self._registry(mode),
                format_checker=None if mode == _LENIENT else self._format_checker,
            )
            # Keeping the schema alive keeps its id from being reused by another object.
            self._validators[key] = (schema, validator)
        messages: list[str] = []
        for error in self._validators[key][1].iter_errors(instance):
            for leaf in _explain(error):
                message = f"{_where(prefix, leaf.absolute_path)}: {_describe(leaf)}"
                if message not in messages:
                    messages.append(message)
        return messages

    # ------------------------------------------------------------------ requests

    def _request_media(
        self, operation: Operation, content_type: str | None
    ) -> tuple[str | None, Any, list[str]]:
        """(media type, schema, problems) of an operation's request body."""
        body = self._deref(operation.definition.get("requestBody"), "requestBodies")
        declared = {_media_key(k): v for k, v in ((body or {}).get("content") or {}).items()}
        wanted = _media_key(content_type)
        if wanted in declared:
            return wanted, declared[wanted].get("schema"), []
        problems = []
        if wanted is not None:
            listed = ", ".join(k for k in declared if k)
            problems.append(
                f"request content type {content_type!r} is not declared for {operation} "
                f"(declared: {listed})"
            )
        json_media = [k for k in declared if k and _is_json_media(k)]
        if len(json_media) == 1:
            return json_media[0], declared[json_media[0]].get("schema"), problems
        return None, None, problems

    def validate_request(
        self, method: str, path: str, body: object, content_type: str | None = None
    ) -> list[str]:
        """Strictly validate a request body: types, enums, required fields, declared
        ``additionalProperties: false``, discriminators, and every property the schema does
        not declare (Allegro rejects those with 422 UnknownJSONProperty). Paths outside the
        spec (OAuth, sandbox control) give ``[]``; other unknown paths raise KeyError."""
        if not is_spec_path(path):
            return []
        operation = self.operation(method, path)
        declared = self._deref(operation.definition.get("requestBody"), "requestBodies")
        if declared is None:
            return [] if body is None else [f"request body: {operation} declares none"]
        if body is None:
            return ["request body: missing, but required"] if declared.get("required") else []
        media, schema, problems = self._request_media(operation, content_type)
        if media is None or not _is_json_media(media) or schema is None:
            return problems
        if operation.method == "PATCH":
            body = _without_null_members(body)
        problems += self._validate(schema, body, _REQUEST, "request body")
        for where, reason in self._undeclared(schema, body):
            problems.append(f"{_where('request body', where)}: {reason}")
        return problems

    def unknown_properties(
        self, method: str, path: str, body: object, content_type: str | None = None
    ) -> list[str]:
        """Dotted paths (``productSet[0].product.foo``) of request-body properties that the
        operation's request schema declares nowhere. allOf/oneOf/anyOf count as the union
        of their declared properties; a discriminator value picks its mapped schema."""
        if not is_spec_path(path):
            return []
        operation = self.operation(method, path)
        _, schema, _ = self._request_media(operation, content_type)
        if schema is None:
            return []
        if operation.method == "PATCH":
            body = _without_null_members(body)
        return self._unknown_paths(schema, body)

    def _undeclared(self, schema: Any, body: Any) -> _Found:
        found: _Found = []
        self._walk([schema], body, [], found)
        return found

    def _unknown_paths(self, schema: Any, body: Any) -> list[str]:
        found = self._undeclared(schema, body)
        return [_json_path(where) for where, why in found if why == _UNKNOWN]

    def _walk(self, schemas: list[Any], value: Any, where: list[str | int], found: _Found) -> None:
        """Report the properties of ``value`` that none of ``schemas`` (the declarations of
        one location, all of which apply) declares; recurse into declared ones."""
        if isinstance(value, list):
            items = self._items(schemas)
            for index, element in enumerate(value if items else []):
                self._walk(items, element, [*where, index], found)
            return
        if not isinstance(value, dict):
            return
        shape = _Shape()
        seen: set[int] = set()
        for schema in schemas:
            self._shape(schema, value, shape, seen)
        if not shape.declared and not shape.additional:
            return  # a free-form object: anything goes
        for key, sub in value.items():
            here = [*where, key]
            if key in shape.properties:
                if key in shape.read_only:
                    found.append((here, _READ_ONLY))
                self._walk(shape.properties[key], sub, here, found)
            elif shape.additional:
                self._walk(shape.additional, sub, here, found)
            elif not shape.open:
                found.append((here, _UNKNOWN))

    def _shape(self, schema: Any, value: Mapping[str, Any], shape: _Shape, seen: set[int]) -> None:
        schema = self._deref(schema)
        if not isinstance(schema, dict) or id(schema) in seen:
            return
        seen.add(id(schema))
        for key, sub in (schema.get("properties") or {}).items():
            shape.properties.setdefault(key, []).append(sub)
            resolved = self._deref(sub)
            if isinstance(resolved, dict) and resolved.get("readOnly"):
                shape.read_only.add(key)
        shape.declared = shape.declared or "properties" in schema
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            shape.additional.append(extra)
        elif extra is True or extra == {}:
            shape.open = True
        for member in schema.get("allOf", []):
            self._shape(member, value, shape, seen)
        if "discriminator" in schema:
            owner = self._component_names.get(id(schema))
            mapping = self._converters[_REQUEST].mapping(schema, owner)
            chosen = mapping.get(str(value.get(schema["discriminator"]["propertyName"])))
            for target in [chosen] if chosen else sorted(set(mapping.values())):
                self._shape(self.schemas[target], value, shape, seen)
            if chosen:
                return
        for alternative in schema.get("oneOf") or schema.get("anyOf") or []:
            resolved = self._deref(alternative)
            if isinstance(resolved, dict) and not (_COMPOSITE & resolved.keys()):
                shape.open = True  # a free-form alternative allows any property
            else:
                self._shape(resolved, value, shape, seen)

    def _items(self, schemas: list[Any]) -> list[Any]:
        """The ``items`` declarations of array schemas, through allOf/oneOf/anyOf."""
        items: list[Any] = []
        seen: set[int] = set()
        pending = list(schemas)
        while pending:
            schema = self._deref(pending.pop())
            if not isinstance(schema, dict) or id(schema) in seen:
                continue
            seen.add(id(schema))
            if isinstance(schema.get("items"), dict):
                items.append(schema["items"])
            for key in ("allOf", "oneOf", "anyOf"):
                pending.extend(schema.get(key, []))
        return items

    # ------------------------------------------------------------------ parameters

    def validate_parameters(self, method: str, path: str, query: Any = None) -> list[str]:
        """Strictly validate path and query parameters: required ones present, values of
        the declared type (query strings are converted first) and enum. Undeclared query
        parameters are not reported: some operations take dynamic filters
        (``GET /sale/products``). ``query`` is a mapping (values str or list of str), a
        list of pairs or a raw query string; when it is empty, the query string of ``path``
        is used."""
        if not is_spec_path(path):
            return []
        operation = self.operation(method, path)
        values = _query_values(query or _split_target(path)[1])
        problems: list[str] = []
        for param in operation.parameters:
            location, name = param.get("in"), param["name"]
            label = f"{location} parameter {name}"
            if location == "path":
                raw = [operation.path_params[name]] if name in operation.path_params else []
            elif location == "query":
                raw = values.get(name, [])
            else:
                continue  # headers and cookies are not in the request log
            if not raw:
                if param.get("required"):
                    problems.append(f"{label}: missing, but required")
                continue
            schema = param.get("schema") or {}
            value = self._coerce(raw, schema, param)
            if value is _REPEATED:
                problems.append(f"{label}: sent {len(raw)} times, but it is not an array")
            else:
                problems += self._validate(schema, value, _REQUEST, label)
        return problems

    def _coerce(self, raw: list[str], schema: Any, param: Mapping[str, Any]) -> Any:
        """Query-string text as the declared type; arrays from repeated keys (``explode``,
        the default of style ``form``) or from a comma-separated value."""
        resolved = self._deref(schema)
        kind = resolved.get("type")
        if kind == "array":
            if not param.get("explode", param.get("style", "form") == "form"):
                raw = [piece for value in raw for piece in value.split(",")]
            item_kind = self._deref(resolved.get("items") or {}).get("type")
            return [_scalar(v, item_kind) for v in raw]
        return _REPEATED if len(raw) > 1 else _scalar(raw[0], kind)

    # ------------------------------------------------------------------ responses

    def _response_schema(
        self, operation: Operation, status: int, content_type: str | None, *, lenient: bool
    ) -> tuple[Any, list[str]]:
        """(schema, problems) of a response; the schema is None when there is no JSON body
        to validate."""
        found = operation.response_for(status)
        if found is None:
            if lenient and status >= 400:
                return None, []
            listed = ", ".join(operation.responses)
            return None, [f"response {status}: not declared for {operation} (declared: {listed})"]
        content = {_media_key(k): v for k, v in (found[1].get("content") or {}).items()}
        media = _media_key(content_type)
        if content and media not in content:
            if media is not None and not lenient:
                listed = ", ".join(k for k in content if k)
                return None, [f"response {status}: content type {content_type!r} not in {listed}"]
            media = next((k for k in content if k and _is_json_media(k)), None)
        if media is None or media not in content or not _is_json_media(media):
            return None, []
        return content[media].get("schema"), []

    def validate_response(
        self,
        method: str,
        path: str,
        status: int,
        body: object,
        *,
        lenient: bool = True,
        content_type: str | None = None,
    ) -> list[str]:
        """Validate a response body against the schema the spec declares for ``status``
        (exact code, ``NXX``, then ``default``). ``lenient`` applies FACTS.md §14 (see the
        module docstring). A status the operation does not declare is a problem, except an
        error status (>= 400) in lenient mode; in strict mode, so is a body where the spec
        declares none."""
        if not is_spec_path(path):
            return []
        operation = self.operation(method, path)
        status = int(status)
        schema, problems = self._response_schema(operation, status, content_type, lenient=lenient)
        if schema is not None:
            mode = _LENIENT if lenient else _RESPONSE
            return problems + self._validate(schema, body, mode, f"response {status} body")
        found = operation.response_for(status)
        if not lenient and found and not found[1].get("content") and body not in (None, "", b""):
            problems.append(f"response {status}: the spec declares no body, got {_short(body)}")
        return problems

    def unknown_response_properties(
        self, method: str, path: str, status: int, body: object, content_type: str | None = None
    ) -> list[str]:
        """Dotted paths of response-body properties the spec does not declare. Lenient
        validation ignores them (Allegro adds fields without notice); this lists them, e.g.
        to keep the sandbox from inventing fields Allegro does not send."""
        if not is_spec_path(path):
            return []
        operation = self.operation(method, path)
        schema, _ = self._response_schema(operation, int(status), content_type, lenient=True)
        if schema is None:
            return []
        return self._unknown_paths(schema, body)

    # ------------------------------------------------------------------ exchanges

    def check_exchange(self, entry: Mapping[str, Any]) -> list[str]:
        """Check one request-log entry of the sandbox: ``method``, ``path`` (may carry the
        query string), ``query``, ``content_type``, ``body``, ``status``, ``response_body``
        and optionally ``response_content_type``. Bodies may be JSON text or parsed data.

        OAuth and sandbox-control paths give ``[]``. Otherwise the operation must exist,
        parameters and the request body are checked strictly (with unknown properties) and
        the response body leniently. Each problem starts with ``METHOD /path:``."""
        method, path = str(entry["method"]).upper(), str(entry["path"])
        if not is_spec_path(path):
            return []
        try:
            operation = self.operation(method, path)
        except KeyError as exc:
            return [str(exc.args[0])]  # names the method and path already
        problems = self.validate_parameters(method, path, entry.get("query"))
        content_type = entry.get("content_type")
        body, problem = _decode_body(entry.get("body"), content_type)
        if problem:
            problems.append(f"request {problem}")
        elif body is not None or "requestBody" in operation.definition:
            problems += self.validate_request(method, path, body, content_type)
        if entry.get("status") is not None:
            status = int(entry["status"])
            response_type = entry.get("response_content_type")
            response, problem = _decode_body(entry.get("response_body"), response_type)
            if problem:
                problems.append(f"response {status} {problem}")
            else:
                problems += self.validate_response(
                    method, path, status, response, lenient=True, content_type=response_type
                )
        label = f"{method} {_split_target(path)[0]}"
        return [f"{label}: {problem}" for problem in problems]


# --------------------------------------------------------------------------- errors

_REPEATED = object()


def _scalar(text: str, kind: str | None) -> Any:
    """A query-string value as the declared type (left as text when it does not convert,
    so the schema reports the type error)."""
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _without_null_members(value: Any) -> Any:
    """A PATCH body without its ``null`` members: Allegro's PATCH is a JSON Merge Patch
    (RFC 7396, FACTS §7), where ``null`` removes a field instead of being its value.
    Arrays are replaced whole, so nothing inside them is touched."""
    if isinstance(value, dict):
        return {k: _without_null_members(v) for k, v in value.items() if v is not None}
    return value


def _query_values(query: Any) -> dict[str, list[str]]:
    pairs: Iterable[tuple[str, Any]]
    if query is None:
        return {}
    if isinstance(query, bytes):
        query = query.decode()
    if isinstance(query, str):
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    elif isinstance(query, Mapping):
        pairs = query.items()
    else:
        pairs = query
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        items = value if isinstance(value, list | tuple) else [value]
        out.setdefault(str(name), []).extend(str(v) for v in items)
    return out


def _explain(error: ValidationError) -> list[ValidationError]:
    """The errors worth showing for one reported error: the failing branch of an
    ``anyOf``/``oneOf`` rather than "is not valid under any of the given schemas".

    The ``{"type": "null"}`` branch added for ``nullable`` never explains anything. When
    every remaining sub-error comes from one branch, all of them are shown; otherwise the
    deepest one stands for the group.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    useful = [
        e for e in error.context if not (e.validator == "type" and e.validator_value == "null")
    ]
    if not useful:
        return [error]
    branches = {e.schema_path[0] for e in useful if e.schema_path}
    if len(branches) == 1:
        return [leaf for e in useful for leaf in _explain(e)]
    deepest = max(useful, key=lambda e: len(e.absolute_path))
    return _explain(deepest)


def _describe(error: ValidationError) -> str:
    """The error message with the offending value shortened."""
    value = _short(error.instance)
    if error.validator == "type":
        expected = error.validator_value
        kinds = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{value} is not of type {kinds}"
    if error.validator == "enum":
        return f"{value} is not one of {error.validator_value!r}"
    if error.validator == "maxItems" and error.validator_value == 0:
        return f"{value} is a non-empty array where an object is expected"
    message = str(error.message)
    return message if len(message) <= 240 else message[:239] + "…"
