"""The actors' decisions with fakes: one terminal status per event on every branch, never a
second offer, the lease always released."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from schemas.status import Status
from workers.actors import Steps
from workers.allegro import OfferListing, ServerError, ValidationFailed
from workers.allegro.errors import ErrorItem
from workers.broker import Payload, part_digests
from workers.domain.model import ProductState
from workers.domain.plan import fingerprint
from workers.middleware import Deferred
from workers.status import status_for
from workers.store import OfferRecord

from .conftest import Harness, product, state


def _payload(st: ProductState, mode: str = "content", **fields: Any) -> dict[str, Any]:
    changed = {"content": ("content", "price", "stock"), "fast": ("stock",), "delete": ("deleted",)}
    return Payload(
        event_id=f"ev-{st.version}",
        account=st.account,
        sku=st.sku,
        version=st.version,
        changed=changed[mode],
        digests=part_digests(st),
        mode=mode,
        **fields,
    ).to_dict()


def _body(st: ProductState) -> dict[str, Any]:
    return {
        "productSet": [{"product": {"id": "p-1"}}],
        "name": st.product["name"],
        "external": {"id": st.sku},
        "stock": {"available": st.product["stock"]["available"], "unit": "UNIT"},
        "sellingMode": {"format": "BUY_NOW", "price": dict(st.product["price"])},
    }


@pytest.fixture
def steps(harness: Harness) -> Steps:
    return Steps(harness.services)


def _given(harness: Harness, st: ProductState) -> ProductState:
    harness.store.states[(st.account, st.sku)] = st
    return st


# --- categorize ------------------------------------------------------------------------------


def test_categorize_hands_the_category_to_enrich(harness: Harness, steps: Steps) -> None:
    st = _given(harness, state(1))

    steps.categorize(_payload(st))

    [sent] = harness.queued("enrich")
    assert (sent["category_id"], sent["category_source"]) == ("85166", "override")
    assert harness.store.statuses == []


def test_a_category_that_is_no_leaf_is_rejected_not_retried(harness: Harness, steps: Steps) -> None:
    harness.client.category = {"id": "85166", "leaf": False, "name": "Audio"}
    st = _given(harness, state(1))

    steps.categorize(_payload(st))

    assert harness.statuses() == [Status.REJECTED]
    assert harness.queued("enrich") == []


def test_an_unmapped_category_is_rejected(harness: Harness, steps: Steps) -> None:
    st = _given(harness, state(1, product=product(allegro=None)))

    steps.categorize(_payload(st))

    [status] = harness.store.statuses
    assert status.status is Status.REJECTED
    assert status.errors[0].code == "UNMAPPED_CATEGORY"


def test_content_work_for_an_outdated_event_is_superseded(harness: Harness, steps: Steps) -> None:
    old = state(1)
    _given(harness, state(2, product=product(name="A newer name for the same headphones")))

    steps.enrich(_payload(old, category_id="85166"))

    assert harness.statuses() == [Status.SUPERSEDED]
    assert harness.queued("validate") == []


def test_stock_without_a_product_waits_for_it(harness: Harness, steps: Steps) -> None:
    st = _given(harness, state(1, complete=False))

    steps.categorize(_payload(st))

    [status] = harness.store.statuses
    assert status.status is Status.UNCHANGED
    assert status.errors[0].code == "WAITING_FOR_PRODUCT"


def test_stock_of_a_deleted_sku_goes_to_publish_as_a_delete(harness: Harness, steps: Steps) -> None:
    st = _given(harness, state(3, deleted=True))

    steps.categorize(_payload(st))

    assert [p["mode"] for p in harness.queued("publish")] == ["delete"]
    assert harness.store.statuses == []


# --- publish ---------------------------------------------------------------------------------


def test_a_new_offer_is_created_recorded_and_reported(harness: Harness, steps: Steps) -> None:
    st = _given(harness, state(1))
    body = _body(st)

    steps.publish(_payload(st, body=body, fingerprint=fingerprint(body)))

    assert [c[0] for c in harness.client.calls] == ["find", "POST"]
    record = harness.store.get_offer("default", "SKU-1")
    assert record is not None
    assert (record.offer_id, record.publication_status, record.published_version) == (
        "101",
        "ACTIVE",
        1,
    )
    assert record.fingerprint == fingerprint(record.published_body or {})
    [status] = harness.store.statuses
    assert (status.status, status.offer_id, status.trace_id) == (
        Status.PUBLISHED,
        "101",
        "trace-post",
    )
    # The intent before the POST; the registry entry (clearing the intent) before the
    # status; the lease is released with them (one store transaction where the store
    # groups writes); the status is marked published once sent, after that commit.
    calls = harness.store.calls
    assert calls[:2] == ["intent", "save_offer:101"]
    assert calls[-3:] == ["status:PUBLISHED", "release", "marked:PUBLISHED"]
    assert harness.store.intents == {}
    assert harness.client.resend_if_unsure == [False]
    assert harness.store.leases == {}


def test_the_outcome_writes_and_the_release_share_one_unit_of_work(
    harness: Harness, steps: Steps, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = _given(harness, state(1))
    body = _body(st)
    calls = harness.store.calls

    @contextmanager
    def unit() -> Iterator[None]:
        calls.append("unit:begin")
        yield
        calls.append("unit:commit")

    monkeypatch.setattr(harness.store, "unit_of_work", unit)
    steps.publish(_payload(st, body=body, fingerprint=fingerprint(body)))

    # The registry entry, the status and the release commit together; the status goes out
    # (and is marked) only after that.
    assert calls[-6:] == [
        "unit:begin",
        "save_offer:101",
        "status:PUBLISHED",
        "release",
        "unit:commit",
        "marked:PUBLISHED",
    ]
    assert harness.publisher.published and harness.store.leases == {}


def test_an_existing_offer_is_adopted_and_never_posted_again(
    harness: Harness, steps: Steps
) -> None:
    harness.client.found = [
        OfferListing.model_validate({"id": "55", "publication": {"status": "ACTIVE"}})
    ]
    st = _given(harness, state(1))
    body = _body(st)

    steps.publish(_payload(st, body=body))

    assert harness.client.writes() == ["PATCH"]
    [status] = harness.store.statuses
    assert (status.status, status.offer_id) == (Status.PUBLISHED, "55")
    assert harness.store.get_offer("default", "SKU-1").published_body is not None  # type: ignore[union-attr]


def test_a_redelivered_message_of_a_finished_event_does_nothing(
    harness: Harness, steps: Steps
) -> None:
    st = _given(harness, state(1))
    body = _body(st)
    steps.publish(_payload(st, body=body))
    calls = len(harness.client.calls)

    steps.publish(_payload(st, body=body))

    assert len(harness.client.calls) == calls
    assert harness.statuses() == [Status.PUBLISHED]
    assert len(harness.publisher.published) == 1


def test_the_same_content_again_is_unchanged_without_a_call(harness: Harness, steps: Steps) -> None:
    first = _given(harness, state(1))
    steps.publish(_payload(first, body=_body(first)))
    second = _given(harness, state(2))

    steps.publish(_payload(second, body=_body(second)))

    assert harness.client.writes() == ["POST"]
    assert harness.statuses() == [Status.PUBLISHED, Status.UNCHANGED]


def test_a_busy_sku_defers_without_a_call(harness: Harness, steps: Steps) -> None:
    st = _given(harness, state(1))
    harness.store.leases[("default", "SKU-1")] = "another-worker"

    with pytest.raises(Deferred):
        steps.publish(_payload(st, body=_body(st)))

    assert harness.client.calls == [] and harness.store.statuses == []


def test_the_lease_is_released_when_allegro_fails(harness: Harness, steps: Steps) -> None:
    st = _given(harness, state(1))
    harness.client.errors.append(ServerError("boom", status=503))

    with pytest.raises(ServerError):
        steps.publish(_payload(st, body=_body(st)))

    assert harness.store.leases == {} and harness.store.statuses == []


def test_allegros_422_is_rejected_with_its_items(harness: Harness, steps: Steps) -> None:
    st = _given(harness, state(1))
    items = (ErrorItem(code="ProductNotFoundException", message="no such product"),)
    harness.client.errors.append(
        ValidationFailed("422", status=422, trace_id="t-422", errors=items)
    )

    steps.publish(_payload(st, body=_body(st)))

    [status] = harness.store.statuses
    assert (status.status, status.trace_id) == (Status.REJECTED, "t-422")
    assert status.errors[0].code == "ProductNotFoundException"
    assert harness.store.get_offer("default", "SKU-1") is None


def test_the_fast_path_overlays_stock_on_the_published_body(harness: Harness, steps: Steps) -> None:
    first = _given(harness, state(1))
    steps.publish(_payload(first, body=_body(first)))
    restocked = _given(harness, state(2, product=product(stock={"available": 8, "unit": "UNIT"})))

    steps.publish(_payload(restocked, "fast"))

    name, patch = harness.client.calls[-1]
    assert name == "PATCH" and patch == {"stock": {"available": 8, "unit": "UNIT"}}
    assert harness.statuses() == [Status.PUBLISHED, Status.UPDATED]


def test_the_fast_path_without_a_published_body_does_the_content_work(
    harness: Harness, steps: Steps
) -> None:
    harness.store.offers[("default", "SKU-1")] = OfferRecord("default", "SKU-1", "55", "ACTIVE")
    st = _given(harness, state(2))

    steps.publish(_payload(st, "fast"))

    assert [p["mode"] for p in harness.queued("categorize")] == ["content"]
    assert harness.client.writes() == [] and harness.store.statuses == []


def test_a_delete_ends_the_offer(harness: Harness, steps: Steps) -> None:
    first = _given(harness, state(1))
    steps.publish(_payload(first, body=_body(first)))
    gone = _given(harness, state(2, deleted=True))

    steps.publish(_payload(gone, "delete"))

    assert harness.client.calls[-1] == ("PATCH", {"publication": {"status": "ENDED"}})
    [_, ended] = harness.store.statuses
    assert (ended.status, ended.offer_id, ended.publication_status) == (
        Status.ENDED,
        "101",
        "ENDED",
    )


def test_an_offer_adopted_by_an_earlier_run_is_still_reported_published(
    harness: Harness, steps: Steps
) -> None:
    # An earlier run adopted the offer (no body of ours yet), then its PATCH failed.
    harness.store.offers[("default", "SKU-1")] = OfferRecord("default", "SKU-1", "55", "ACTIVE")
    st = _given(harness, state(1))

    steps.publish(_payload(st, body=_body(st)))

    assert harness.client.writes() == ["PATCH"]
    assert harness.statuses() == [Status.PUBLISHED]


def test_a_content_step_publishes_a_pending_status_of_a_finished_event_and_stops(
    harness: Harness, steps: Steps
) -> None:
    # A redelivery of a message whose run recorded REJECTED and died before publishing it.
    st = _given(harness, state(1))
    harness.store.add_status(
        status_for(
            {"event_id": "ev-1", "sku": "SKU-1", "account": "default", "version": 1},
            Status.REJECTED,
            errors=[{"code": "UNMAPPED_CATEGORY", "message": "no category"}],
        )
    )

    for step in (steps.categorize, steps.enrich, steps.validate):
        step(_payload(st, category_id="85166"))

    assert harness.client.calls == []
    assert harness.queued("enrich") == [] and harness.queued("validate") == []
    [sent] = harness.publisher.published  # once: marked after the first
    assert sent.properties.message_id == "ev-1:REJECTED"


# --- category parameters ---------------------------------------------------------------------


def test_category_parameters_are_read_from_the_store_once_while_fresh(harness: Harness) -> None:
    from datetime import UTC, datetime, timedelta

    from workers.domain.model import CategoryParameters
    from workers.store import CachedParameters

    services, store = harness.services, harness.store
    reads: list[str] = []
    cached = store.cached_parameters

    def counting(category_id: str) -> CachedParameters | None:
        reads.append(category_id)
        return cached(category_id)

    store.cached_parameters = counting  # type: ignore[method-assign]
    fresh = [{"id": "11323", "name": "Stan"}]
    store.parameters["85166"] = CachedParameters("85166", fresh, datetime.now(UTC))

    first = services.parameters(harness.client, "85166")  # type: ignore[arg-type]
    again = services.parameters(harness.client, "85166")  # type: ignore[arg-type]
    assert first == fresh and isinstance(first, CategoryParameters) and again is first
    assert reads == ["85166"] and harness.client.calls == []

    # Stale in the process's memo: the store is asked again, and Allegro when it is stale too.
    old = datetime.now(UTC) - timedelta(seconds=services.settings.parameters_ttl_s + 1)
    services._parameters_memo["85166"] = CachedParameters("85166", first, old)
    store.parameters["85166"] = CachedParameters("85166", fresh, old)
    assert services.parameters(harness.client, "85166") == []  # type: ignore[arg-type]
    assert harness.client.calls == [("parameters", "85166")]
    assert reads == ["85166", "85166", "85166"]  # before and under the lock

    services.forget_clients()
    assert services._parameters_memo == {}
