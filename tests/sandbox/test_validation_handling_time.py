"""The sandbox refuses a handlingTime outside the spec's list and its hour forms."""

from __future__ import annotations

import pytest

from tests.sandbox.test_validation import check, offer_for_product


@pytest.mark.parametrize(
    ("value", "ok"), [("PT48H", True), ("P2D", True), ("PT5H", False), ("P6D", False)]
)
def test_handling_time_is_one_of_allegros(value: str, ok: bool) -> None:
    body = offer_for_product()
    body["delivery"] = {**body.get("delivery", {}), "handlingTime": value}
    refused = [e for e in check(body).errors if e["path"] == "delivery.handlingTime"]
    assert (refused == []) is ok, refused
