"""A category id Allegro does not know (404) is the input's fault: REJECTED with
UNMAPPED_CATEGORY naming where the id came from, never FAILED or dead-lettered."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.mapping import parse_mapping
from schemas.status import Status
from workers.actors import Steps
from workers.allegro import NotFound

from .conftest import Harness, product, state
from .test_actors import _given, _payload


@pytest.fixture
def steps(harness: Harness) -> Steps:
    return Steps(harness.services)


def _missing(harness: Harness, method: str) -> None:
    def raise_404(category_id: str) -> Any:
        raise NotFound(f"category {category_id}", status=404, method="GET", path="/x")

    setattr(harness.client, method, raise_404)


def test_an_unknown_override_category_is_rejected_naming_allegro_category_id(
    harness: Harness, steps: Steps
) -> None:
    _missing(harness, "get_category")
    st = _given(harness, state(1, product=product(allegro={"category_id": "99999999"})))

    steps.categorize(_payload(st))  # does not raise: no retry, no dead letter

    [status] = harness.store.statuses
    assert status.status is Status.REJECTED
    [error] = status.errors
    assert (error.code, error.path) == ("UNMAPPED_CATEGORY", "allegro.category_id")
    assert '"99999999"' in error.message and "allegro.category_id" in error.message
    assert "existing leaf category" in (error.user_message or "")
    assert harness.queued("enrich") == []


def test_an_unknown_mapped_category_names_the_mapping_entry(
    harness: Harness, steps: Steps, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = parse_mapping('version: 1\ncategories:\n  exact: {"Audio > Headphones": "1234567"}\n')
    monkeypatch.setattr(harness.services, "_mapping", mapping)
    _missing(harness, "get_category")
    st = _given(harness, state(1, product=product(allegro=None, category="Audio > Headphones")))

    steps.categorize(_payload(st))

    [status] = harness.store.statuses
    [error] = status.errors
    assert (status.status, error.code, error.path) == (
        Status.REJECTED,
        "UNMAPPED_CATEGORY",
        "category",
    )
    assert 'categories.exact entry for "Audio > Headphones"' in error.message


def test_a_category_gone_before_enrich_is_rejected(harness: Harness, steps: Steps) -> None:
    _missing(harness, "get_category_parameters")
    st = _given(harness, state(1))

    steps.enrich(_payload(st, category_id="85166", category_source="override"))

    [status] = harness.store.statuses
    assert status.status is Status.REJECTED
    assert status.errors[0].path == "allegro.category_id"
    assert harness.queued("validate") == []


def test_a_category_that_is_no_leaf_names_the_field(harness: Harness, steps: Steps) -> None:
    harness.client.category = {"id": "85166", "leaf": False, "name": "Audio"}
    st = _given(harness, state(1))

    steps.categorize(_payload(st))

    [status] = harness.store.statuses
    assert status.errors[0].path == "allegro.category_id"
