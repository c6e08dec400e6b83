"""The error tree: status mapping, Allegro's error items, messages and pickling."""

from __future__ import annotations

import json
import pickle

import pytest

from tests.unit.allegro.conftest import EXAMPLES
from workers.allegro import errors as e


@pytest.mark.parametrize(
    ("status", "cls", "transient"),
    [
        (400, e.BadRequest, False),
        (401, e.Unauthorized, False),
        (403, e.Forbidden, False),
        (404, e.NotFound, False),
        (406, e.NotAcceptable, False),
        (408, e.ApiTimeout, True),
        (409, e.EditInProgress, True),
        (410, e.PermanentError, False),
        (422, e.ValidationFailed, False),
        (429, e.RateLimited, True),
        (500, e.ServerError, True),
        (502, e.ServerError, True),
        (503, e.ServerError, True),
        (504, e.ServerError, True),
    ],
)
def test_status_maps_to_class(status: int, cls: type[e.AllegroError], transient: bool) -> None:
    error = e.error_for_status(status, trace_id="t-1", method="GET", path="/sale/offers")
    assert type(error) is cls
    assert error.transient is transient
    assert isinstance(error, e.TransientError if transient else e.PermanentError)
    assert error.status == status
    assert error.trace_id == "t-1"
    assert (error.method, error.path) == ("GET", "/sale/offers")


def test_transient_errors_say_whether_the_request_may_have_been_applied() -> None:
    assert e.error_for_status(429).maybe_applied is False  # type: ignore[attr-defined]
    assert e.error_for_status(409).maybe_applied is False  # type: ignore[attr-defined]
    assert e.error_for_status(500).maybe_applied is True  # type: ignore[attr-defined]


def test_rate_limited_carries_retry_after() -> None:
    error = e.error_for_status(429, retry_after_s=60)
    assert isinstance(error, e.RateLimited)
    assert error.retry_after_s == 60
    assert "60 s" in str(error)


def test_error_items_are_typed_and_lenient() -> None:
    body = {
        "errors": [
            {
                "code": "PARAMETER_MISMATCH",
                "message": "m",
                "details": None,
                "path": "productSet[0].product.parameters",
                "userMessage": "u",
                "metadata": {"productId": "p-1", "count": 3},
            },
            {"code": "X", "metadata": []},  # production sends [] for an empty map
            {"code": "Y"},  # older answers have no metadata at all
            "plain text",
        ]
    }
    first, second, third, fourth = e.parse_error_items(body)
    assert first.code == "PARAMETER_MISMATCH"
    assert first.path == "productSet[0].product.parameters"
    assert first.user_message == "u"
    assert first.metadata == {"productId": "p-1", "count": "3"}
    assert second.metadata == {} and third.metadata == {}
    assert fourth.message == "plain text"
    assert e.parse_error_items({"error": "x"}) == ()
    assert e.parse_error_items(None) == ()


def test_validation_failed_message_names_codes_paths_and_trace() -> None:
    items = e.parse_error_items(
        {"errors": [{"code": "C1", "userMessage": "fix the name", "path": "name"}]}
    )
    error = e.error_for_status(
        422, errors=items, trace_id="abc", method="POST", path="/sale/product-offers"
    )
    text = str(error)
    assert "C1: fix the name (at name)" in text
    assert "HTTP 422" in text and "POST /sale/product-offers" in text and "abc" in text
    assert error.codes == ["C1"]


def test_not_connected_tells_how_to_connect() -> None:
    error = e.NotConnected("shop-2")
    assert "allegro-feed connect --account shop-2" in str(error)
    assert isinstance(error, e.PermanentError)


def test_errors_survive_pickling() -> None:
    items = e.parse_error_items({"errors": [{"code": "C", "metadata": {"a": "b"}}]})
    cases: list[e.AllegroError] = [
        e.error_for_status(422, errors=items, trace_id="t"),
        e.RateLimited("slow", retry_after_s=3, status=429),
        e.OperationPending("later", offer_id="1", operation_url="https://x/op"),
        e.NotConnected("acc"),
        e.InvalidRequest("bad"),
    ]
    for error in cases:
        copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
        assert type(copy) is type(error)
        assert copy.__dict__ == error.__dict__
        assert str(copy) == str(error)


def test_invalid_request_is_also_a_value_error() -> None:
    assert issubclass(e.InvalidRequest, ValueError)
    assert issubclass(e.InvalidRequest, e.PermanentError)


@pytest.mark.skipif(not EXAMPLES.exists(), reason="../shared/allegro/examples is not present")
@pytest.mark.parametrize(
    "name",
    [
        "docs/error-422.missing-required-parameters.json",
        "docs/error-422.parameter-mismatch.json",
        "docs/error.max-active-offers.json",
        "issues/error-422.json-mapping.issue-12696.json",
        "issues/error-422.missing-required-parameters.issue-8216.json",
        "issues/error-422.unknown-json-property.issue-10293.json",
        "issues/operation-errors.stock-below-one.issue-11011.json",
        "issues/task-errors.invalid-offer-quantity.issue-12233.json",
    ],
)
def test_real_error_bodies_parse(name: str) -> None:
    body = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    items = e.parse_error_items(body)
    assert items and all(item.code for item in items)
    assert all(isinstance(item.metadata, dict) for item in items)
