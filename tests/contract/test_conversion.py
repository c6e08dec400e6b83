"""The OpenAPI 3.0 -> JSON Schema conversion, on a small hand-written spec.

These tests need no shared folder: each rule of the conversion is shown on the smallest
schema that has it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from .openapi import Spec

pytestmark = pytest.mark.contract

MEDIA = "application/vnd.allegro.public.v1+json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {MEDIA: {"schema": schema}}}


SCHEMAS: dict[str, Any] = {
    "ThingRequest": {
        "type": "object",
        "required": ["name", "kind", "serial"],
        "properties": {
            "name": {"type": "string", "minLength": 3},
            "kind": {"type": "string", "enum": ["A", "B"]},
            "serial": {"type": "string", "readOnly": True},
            "when": {"type": "string", "format": "date-time"},
            "currency": {"type": "string", "format": "ISO 4217"},
            "price": ref("Price"),
            "note": {"type": "string", "nullable": True},
            "discount": {"nullable": True, "allOf": [ref("Price")]},
            "items": {"type": "array", "items": ref("Item")},
            "choice": ref("Choice"),
            "maybe": {
                "nullable": True,
                "oneOf": [ref("Left"), ref("Right")],
                "discriminator": {"propertyName": "side"},
            },
            "closed": ref("Closed"),
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "free": {"type": "object"},
            "tree": ref("Node"),
            "count": {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
        },
    },
    "Price": {
        "type": "object",
        "required": ["amount", "currency"],
        "properties": {"amount": {"type": "string"}, "currency": {"type": "string"}},
    },
    "Closed": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"a": {"type": "integer"}},
    },
    # The "base schema" form of a discriminator: subtypes include the base with allOf.
    "Item": {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"type": "string"}},
        "discriminator": {
            "propertyName": "type",
            "mapping": {
                "TEXT": "#/components/schemas/TextItem",
                "IMAGE": "#/components/schemas/ImageItem",
            },
        },
    },
    "TextItem": {
        "allOf": [
            ref("Item"),
            {
                "type": "object",
                "required": ["content"],
                "properties": {"content": {"type": "string"}},
            },
        ]
    },
    "ImageItem": {
        "allOf": [
            ref("Item"),
            {"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}},
        ]
    },
    # The oneOf form, with implicit mapping by schema name.
    "Choice": {"oneOf": [ref("Left"), ref("Right")], "discriminator": {"propertyName": "side"}},
    "Left": {
        "type": "object",
        "properties": {"side": {"type": "string"}, "l": {"type": "integer"}},
    },
    "Right": {
        "type": "object",
        "properties": {"side": {"type": "string"}, "r": {"type": "integer"}},
    },
    "Node": {"type": "object", "properties": {"name": {"type": "string"}, "child": ref("Node")}},
    "Thing": {
        "type": "object",
        "required": ["id", "status", "price", "secret"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": ["ACTIVE", "ENDED"]},
            "price": ref("Price"),
            "meta": {"type": "object", "additionalProperties": {"type": "string"}},
            "createdAt": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "secret": {"type": "string", "writeOnly": True},
            "parts": {"type": "array", "items": ref("Price")},
            "item": ref("Item"),
        },
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.0",
    "paths": {
        "/things": {
            "post": {
                "requestBody": {"required": True, **body(ref("ThingRequest"))},
                "responses": {"201": body(ref("Thing")), "422": {"description": "no body"}},
            },
        },
        "/things/{thingId}": {
            "parameters": [
                {"name": "thingId", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 10}},
                    {
                        "name": "include",
                        "in": "query",
                        "schema": {
                            "type": "array",
                            "items": {"type": "string", "enum": ["a", "b"]},
                        },
                    },
                    {"name": "mode", "in": "query", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"200": body(ref("Thing")), "303": {"description": "see other"}},
            },
            "patch": {
                "requestBody": {"required": True, **body(ref("ThingRequest"))},
                "responses": {"200": body(ref("Thing"))},
            },
        },
        "/things/special": {"get": {"responses": {"200": body({"type": "string"})}}},
    },
    "components": {"schemas": SCHEMAS},
}

VALID_REQUEST: dict[str, Any] = {
    "name": "lamp",
    "kind": "A",
    "when": "2026-07-22T10:00:00Z",
    "price": {"amount": "1.00", "currency": "PLN"},
    "items": [{"type": "TEXT", "content": "<p>x</p>"}, {"type": "IMAGE", "url": "https://x"}],
    "choice": {"side": "Left", "l": 1},
    "closed": {"a": 1},
    "labels": {"any": "thing"},
    "free": {"whatever": [1, 2]},
    "tree": {"name": "root", "child": {"name": "leaf", "child": {"name": "deeper"}}},
    "count": 1,
}

VALID_RESPONSE: dict[str, Any] = {
    "id": "1",
    "status": "ACTIVE",
    "price": {"amount": "179.00", "currency": "PLN"},
    "meta": {"k": "v"},
    "createdAt": "2026-07-22T10:00:00.000Z",
    "code": "ABC",
    "parts": [{"amount": "1", "currency": "PLN"}],
}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(DOCUMENT)


def request_with(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID_REQUEST)
    data.update(changes)
    return data


def check(spec: Spec, data: Any) -> list[str]:
    return spec.validate_request("POST", "/things", data)


def test_valid_request_passes(spec: Spec) -> None:
    assert check(spec, VALID_REQUEST) == []


def test_refs_are_resolved_through_the_registry_not_inlined(spec: Spec) -> None:
    converted = spec.json_schema(SCHEMAS["ThingRequest"], "request")
    assert converted["properties"]["tree"] == {
        "$ref": "urn:allegro-openapi:request#/definitions/Node"
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"kind": "C"}, "request body kind: 'C' is not one of ['A', 'B']"),
        ({"name": 123}, "request body name: 123 is not of type string"),
        ({"name": "ab"}, "request body name: 'ab' is too short"),
        (
            {"price": {"amount": 1, "currency": "PLN"}},
            "request body price.amount: 1 is not of type string",
        ),
        ({"count": 0}, "request body count: 0 is less than or equal to the minimum of 0"),
        (
            {"when": "22.07.2026 10:00"},
            "request body when: '22.07.2026 10:00' is not a 'date-time'",
        ),
        (
            {"tree": {"child": {"child": {"name": 5}}}},
            "request body tree.child.child.name: 5 is not of type string",
        ),
        ({"name": None}, "request body name: None is not of type string"),
    ],
)
def test_strict_request_errors_name_the_path(
    spec: Spec, changes: dict[str, Any], expected: str
) -> None:
    assert expected in check(spec, request_with(**changes))


def test_missing_required_field(spec: Spec) -> None:
    data = request_with()
    del data["kind"]
    assert check(spec, data) == ["request body: 'kind' is a required property"]


def test_read_only_is_not_required_in_requests_and_must_not_be_sent(spec: Spec) -> None:
    assert "serial" not in VALID_REQUEST
    assert check(spec, request_with(serial="X1")) == [
        "request body serial: read-only property: must not be sent (readOnly in the spec)"
    ]


def test_write_only_is_not_required_in_responses(spec: Spec) -> None:
    assert "secret" not in VALID_RESPONSE
    assert spec.validate_response("POST", "/things", 201, VALID_RESPONSE, lenient=False) == []


def test_unknown_formats_are_ignored(spec: Spec) -> None:
    assert check(spec, request_with(currency="not a currency code")) == []


def test_nullable(spec: Spec) -> None:
    assert check(spec, request_with(note=None, discount=None)) == []
    assert check(spec, request_with(discount={"amount": "1"})) == [
        "request body discount: 'currency' is a required property"
    ]


def test_unknown_properties_are_listed_with_dotted_paths(spec: Spec) -> None:
    data = request_with(
        extra=1,
        price={"amount": "1", "currency": "PLN", "net": "1"},
        items=[{"type": "TEXT", "content": "x", "url": "https://x"}],
        labels={"maps": "allow any key"},
        free={"free": "form"},
    )
    assert sorted(spec.unknown_properties("POST", "/things", data)) == [
        "extra",
        "items[0].url",
        "price.net",
    ]
    assert "request body items[0].url: unknown property: the spec does not declare it " in "".join(
        check(spec, data)
    )


def test_additional_properties_false_is_enforced(spec: Spec) -> None:
    problems = check(spec, request_with(closed={"a": 1, "b": 2}))
    assert (
        "request body closed: Additional properties are not allowed ('b' was unexpected)"
        in problems
    )
    assert spec.unknown_properties("POST", "/things", request_with(closed={"b": 2})) == ["closed.b"]


def test_discriminator_picks_the_mapped_schema(spec: Spec) -> None:
    assert check(spec, request_with(items=[{"type": "TEXT"}])) == [
        "request body items[0]: 'content' is a required property"
    ]
    assert check(spec, request_with(items=[{"type": "VIDEO", "url": "x"}])) == [
        "request body items[0].type: 'VIDEO' is not one of ['TEXT', 'IMAGE']"
    ]
    image_with_text = [{"type": "IMAGE", "url": "https://x", "content": "x"}]
    assert spec.unknown_properties("POST", "/things", request_with(items=image_with_text)) == [
        "items[0].content"
    ]


def test_discriminator_with_one_of_and_implicit_mapping(spec: Spec) -> None:
    assert check(spec, request_with(choice={"side": "Right", "r": 2})) == []
    assert check(spec, request_with(choice={"side": "Right", "r": "2"})) == [
        "request body choice.r: '2' is not of type integer"
    ]
    assert spec.unknown_properties(
        "POST", "/things", request_with(choice={"side": "Right", "l": 1})
    ) == ["choice.l"]
    assert check(spec, request_with(choice=None)) == [
        "request body choice: None is not of type object"
    ]
    assert check(spec, request_with(maybe=None)) == []  # nullable discriminated union
    assert check(spec, request_with(maybe={"side": "Up"})) == [
        "request body maybe.side: 'Up' is not one of ['Left', 'Right']"
    ]


def test_patch_null_members_remove_fields(spec: Spec) -> None:
    # JSON Merge Patch: null deletes; not a value to validate. Arrays are values.
    assert (
        spec.validate_request(
            "PATCH", "/things/1", {"name": "lamp", "kind": "A", "note": None, "price": None}
        )
        == []
    )
    assert spec.validate_request(
        "PATCH", "/things/1", {"name": "lamp", "kind": "A", "items": [None]}
    ) == ["request body items[0]: None is not of type object"]


def test_request_body_presence_and_media_type(spec: Spec) -> None:
    assert spec.validate_request("POST", "/things", None) == ["request body: missing, but required"]
    assert spec.validate_request("GET", "/things/1", {"a": 1}) == [
        "request body: GET /things/{thingId} declares none"
    ]
    assert spec.validate_request("POST", "/things", VALID_REQUEST, f"{MEDIA}; charset=utf-8") == []
    assert spec.validate_request("POST", "/things", VALID_REQUEST, "application/json") == [
        "request content type 'application/json' is not declared for POST /things "
        f"(declared: {MEDIA})"
    ]


def test_strict_response(spec: Spec) -> None:
    assert spec.validate_response("GET", "/things/1", 200, VALID_RESPONSE, lenient=False) == []
    broken = {**VALID_RESPONSE, "price": None, "code": "abc", "createdAt": "yesterday"}
    assert spec.validate_response("GET", "/things/1", 200, broken, lenient=False) == [
        "response 200 body price: None is not of type object",
        "response 200 body createdAt: 'yesterday' is not a 'date-time'",
        "response 200 body code: 'abc' does not match '^[A-Z]{3}$'",
    ]


def test_lenient_response_follows_facts_section_14(spec: Spec) -> None:
    relaxed = {
        "id": None,  # null everywhere
        "price": None,
        "meta": [],  # [] where an object is declared
        "createdAt": "2026-07-22",  # formats and patterns are not checked
        "code": "abc",
        "parts": [{"amount": "179.0"}],  # nothing required
        "brandNew": {"field": 1},  # unknown fields ignored
    }
    assert spec.validate_response("GET", "/things/1", 200, relaxed) == []
    assert spec.validate_response("GET", "/things/1", 200, relaxed, lenient=False) != []


def test_lenient_response_still_checks_types_and_enums(spec: Spec) -> None:
    wrong = {"status": "DRAFT", "price": {"amount": 179}, "meta": [1]}
    assert spec.validate_response("GET", "/things/1", 200, wrong) == [
        "response 200 body status: 'DRAFT' is not one of ['ACTIVE', 'ENDED', None]",
        "response 200 body price.amount: 179 is not of type string or null",
        "response 200 body meta: [1] is a non-empty array where an object is expected",
    ]


def test_lenient_discriminated_objects(spec: Spec) -> None:
    relaxed: list[Any] = [None, [], {"type": "TEXT"}, {"type": None}]
    for item in relaxed:
        assert spec.validate_response("GET", "/things/1", 200, {"item": item}) == []
    assert spec.validate_response("GET", "/things/1", 200, {"item": [1]}) == [
        "response 200 body item: [1] is a non-empty array where an object is expected"
    ]
    assert spec.validate_response("GET", "/things/1", 200, {"item": {"type": "VIDEO"}}) == [
        "response 200 body item.type: 'VIDEO' is not one of ['TEXT', 'IMAGE', None]"
    ]
    assert spec.validate_response(
        "GET", "/things/1", 200, {"item": {"type": "TEXT", "content": 1}}
    ) == ["response 200 body item.content: 1 is not of type string or null"]


def test_response_statuses_and_bodies(spec: Spec) -> None:
    assert spec.validate_response("GET", "/things/1", 404, {"errors": []}) == []
    assert spec.validate_response("GET", "/things/1", 404, None, lenient=False) == [
        "response 404: not declared for GET /things/{thingId} (declared: 200, 303)"
    ]
    assert spec.validate_response("GET", "/things/1", 201, VALID_RESPONSE) == [
        "response 201: not declared for GET /things/{thingId} (declared: 200, 303)"
    ]
    assert spec.validate_response("GET", "/things/1", 303, None, lenient=False) == []
    assert spec.validate_response("GET", "/things/1", 303, "<html/>") == []
    assert spec.validate_response("GET", "/things/1", 303, "<html/>", lenient=False) == [
        "response 303: the spec declares no body, got '<html/>'"
    ]


def test_operation_matching(spec: Spec) -> None:
    special = spec.operation("GET", "/things/special")
    assert special.template == "/things/special"
    thing = spec.operation("get", "https://api.allegro.pl/things/a%2Fb?limit=1")
    assert (thing.method, thing.template, dict(thing.path_params)) == (
        "GET",
        "/things/{thingId}",
        {"thingId": "a/b"},
    )
    assert spec.operation("PATCH", "/things/special").template == "/things/{thingId}"
    with pytest.raises(KeyError, match=r"DELETE /things/1: the path matches /things/\{thingId\}"):
        spec.operation("DELETE", "/things/1")
    with pytest.raises(KeyError, match="GET /nothing: no path template of the spec matches"):
        spec.operation("GET", "/nothing")


def test_parameters(spec: Spec) -> None:
    assert spec.validate_parameters("GET", "/things/1?mode=x&limit=3&include=a&include=b") == []
    assert spec.validate_parameters("GET", "/things/1", {"limit": "11", "include": ["c"]}) == [
        "query parameter limit: 11 is greater than the maximum of 10",
        "query parameter include[0]: 'c' is not one of ['a', 'b']",
        "query parameter mode: missing, but required",
    ]
    assert spec.validate_parameters("GET", "/things/1", "mode=x&mode=y&limit=ten") == [
        "query parameter limit: 'ten' is not of type integer",
        "query parameter mode: sent 2 times, but it is not an array",
    ]


def test_check_exchange(spec: Spec) -> None:
    entry = {
        "method": "post",
        "path": "/things",
        "query": {},
        "content_type": MEDIA,
        "body": json.dumps(VALID_REQUEST),
        "status": 201,
        "response_body": json.dumps(VALID_RESPONSE).encode(),
    }
    assert spec.check_exchange(entry) == []
    assert spec.check_exchange({**entry, "body": "{not json"})[0].startswith(
        "POST /things: request body is not valid JSON"
    )
    assert spec.check_exchange({**entry, "body": json.dumps({**VALID_REQUEST, "x": 1})}) == [
        "POST /things: request body x: unknown property: the spec does not declare it "
        "(Allegro: 422 UnknownJSONProperty)"
    ]
    assert spec.check_exchange({**entry, "status": 422, "response_body": ""}) == []
    assert spec.check_exchange({"method": "GET", "path": "/things/1", "status": 303}) == [
        "GET /things/1: query parameter mode: missing, but required"
    ]
    assert spec.check_exchange({"method": "GET", "path": "/elsewhere", "status": 200}) == [
        "GET /elsewhere: no path template of the spec matches this path"
    ]
    for path in ("/auth/oauth/token", "/__sandbox/reset"):
        assert (
            spec.check_exchange({"method": "POST", "path": path, "body": "a=b", "status": 200})
            == []
        )
