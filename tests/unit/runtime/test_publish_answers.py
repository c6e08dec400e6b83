"""The publish step reads Allegro's answers: a slow creation is recorded and polled, never
POSTed twice; an offer Allegro left INACTIVE or ENDED is activated or REJECTED; an offer
Allegro no longer knows (404) is forgotten and created again."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.status import Status
from tests.unit.runtime.conftest import FakeClient, Harness, state
from workers.allegro import (
    NotFound,
    OfferResult,
    OperationFailed,
    OperationPending,
    OperationRef,
    ProductOffer,
    ValidationFailed,
)
from workers.allegro.models import ErrorItem
from workers.broker import Payload, part_digests
from workers.domain.model import ProductState
from workers.domain.plan import content, fingerprint
from workers.middleware import Deferred, deferring
from workers.publish import PublishStep
from workers.store import OfferRecord
from workers.topology import Step

OP_URL = "/sale/product-offers/777/operations/op-1"


def _offer(offer_id: str, status: str, **fields: Any) -> ProductOffer:
    return ProductOffer.model_validate(
        {"id": offer_id, "publication": {"status": status}, **fields}
    )


class AsyncClient(FakeClient):
    """FakeClient whose POST can answer 202 (``accept``) and whose operations are scripted:
    ``operation`` is a list of outcomes (an exception to raise, or the final offer)."""

    def __init__(self) -> None:
        super().__init__()
        self.accept = False
        self.created: ProductOffer | None = None
        self.operation: list[BaseException | ProductOffer] = []
        self.patched: dict[str, ProductOffer] = {}
        self.gone: set[str] = set()

    def create_offer(
        self, body: dict[str, Any], *, resend_if_unsure: bool = False, wait: bool = True
    ) -> OfferResult:
        if not self.accept and self.created is None:
            return super().create_offer(body, resend_if_unsure=resend_if_unsure, wait=wait)
        self.calls.append(("POST", body))
        self._maybe_fail()
        if self.created is not None:
            return OfferResult(offer=self.created, status=201, trace_id="t-post")
        assert not wait
        return OfferResult(
            offer=_offer("777", "INACTIVE"),
            status=202,
            trace_id="t-post",
            operation=OperationRef(OP_URL, "777", "op-1", retry_after_s=5.0),
            pending=True,
        )

    def wait_operation(self, location: str, *, retry_after_s: float | None = None) -> OfferResult:
        self.calls.append(("poll", location))
        outcome = self.operation.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return OfferResult(offer=outcome, status=303, trace_id="t-poll")

    def update_offer(self, offer_id: str, patch: dict[str, Any]) -> OfferResult:
        if offer_id in self.gone:
            self.calls.append(("PATCH", patch))
            raise NotFound(
                "gone", status=404, method="PATCH", path=f"/sale/product-offers/{offer_id}"
            )
        if offer_id in self.patched and "publication" not in patch:
            self.calls.append(("PATCH", patch))
            self._maybe_fail()
            return OfferResult(offer=self.patched[offer_id], status=200, trace_id="t-patch")
        return super().update_offer(offer_id, patch)

    def get_offer(self, offer_id: str) -> ProductOffer:
        self.calls.append(("GET", offer_id))
        if offer_id in self.gone:
            raise NotFound(
                "gone", status=404, method="GET", path=f"/sale/product-offers/{offer_id}"
            )
        return _offer(offer_id, "ACTIVE")


@pytest.fixture
def client(harness: Harness) -> AsyncClient:
    fake = AsyncClient()
    harness.client = fake
    harness.services._client_factory = lambda _s, _st, _a: fake  # type: ignore[attr-defined]
    harness.services.forget_clients()
    return fake


@pytest.fixture
def step(harness: Harness, client: AsyncClient) -> PublishStep:
    return PublishStep(harness.services, clock=lambda: harness.store.now)


def _body(st: ProductState, stock: int = 5) -> dict[str, Any]:
    return {
        "productSet": [{"product": {"id": "p-1"}}],
        "name": st.product["name"],
        "external": {"id": st.sku},
        "stock": {"available": stock, "unit": "UNIT"},
        "sellingMode": {"format": "BUY_NOW", "price": dict(st.product["price"])},
        "images": ["https://img.example/1.jpg"],
    }


def _content(st: ProductState, stock: int = 5, event: str | None = None) -> dict[str, Any]:
    return Payload(
        event_id=event or f"ev-{st.version}",
        account=st.account,
        sku=st.sku,
        version=st.version,
        changed=("content", "price", "stock"),
        digests=part_digests(st),
        mode="content",
        body=_body(st, stock),
    ).to_dict()


def _fast(st: ProductState, event: str) -> dict[str, Any]:
    return Payload(
        event_id=event,
        account=st.account,
        sku=st.sku,
        version=st.version,
        changed=("stock",),
        digests=part_digests(st),
        mode="fast",
    ).to_dict()


def _stored(harness: Harness, version: int = 1, **fields: Any) -> ProductState:
    st = state(version, **fields)
    harness.store.states[(st.account, st.sku)] = st
    return st


def _registry(harness: Harness) -> OfferRecord | None:
    return harness.store.offers.get(("default", "SKU-1"))


def _pending(step: PublishStep, data: dict[str, Any]) -> None:
    with pytest.raises(Deferred):
        deferring(step.publish)(data)


# --- item: a slow creation is recorded at once and polled, never POSTed again ------------------


def test_a_202_is_recorded_before_polling_and_a_long_operation_is_polled_later(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    client.accept = True
    pending = OperationPending("running", offer_id="777", operation_url=OP_URL, status=202)
    client.operation = [pending, pending, _offer("777", "ACTIVE")]
    _pending(step, _content(st))
    record = _registry(harness)
    assert record is not None and record.offer_id == "777" and record.operation_url == OP_URL
    assert record.published_body is None
    assert harness.store.intents == {}  # the offer is known: no POST is pending any more
    # A redelivery (and a later search that does not list 777 yet) polls, never POSTs.
    _pending(step, _content(st))
    step.publish(_content(st))
    assert client.writes() == ["POST"]
    # Only the first run searched (before its POST); the later runs poll the operation.
    assert [name for name, _ in client.calls if name == "find"] == ["find"]
    assert harness.statuses() == [Status.PUBLISHED]
    status = harness.store.statuses[0]
    assert status.offer_id == "777" and status.publication_status == "ACTIVE"
    done = _registry(harness)
    assert done is not None and done.operation_url is None
    assert done.published_body == content(_body(st))


def test_a_poll_that_fails_transiently_keeps_the_offer_and_the_retry_polls(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    client.accept = True
    client.operation = [ConnectionError("reset"), _offer("777", "ACTIVE")]
    with pytest.raises(ConnectionError):
        step.publish(_content(st))
    step.publish(_content(st))
    assert client.writes() == ["POST"]
    assert harness.statuses() == [Status.PUBLISHED]


def test_a_creation_finished_with_an_older_body_is_patched_to_the_new_one(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    client.accept = True
    pending = OperationPending("running", offer_id="777", operation_url=OP_URL, status=202)
    client.operation = [pending, _offer("777", "ACTIVE")]
    _pending(step, _content(st))
    newer = _stored(harness, 2, product={**st.product, "name": "Sony WH-1000XM5 headphones grey"})
    body = _body(newer)
    step.publish({**_content(newer), "body": body})
    assert client.writes() == ["POST", "PATCH"]
    assert harness.statuses() == [Status.PUBLISHED]


def test_a_failed_operation_of_a_recorded_creation_leaves_a_draft_to_activate(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    client.accept = True
    failed = OperationFailed(
        "processing failed",
        offer_id="777",
        status=422,
        errors=[ErrorItem(code="AvailableStockMustEqualToOneOrBeGreaterThanOne", message="m")],
    )
    client.operation = [failed]
    step.publish(_content(st))
    assert harness.statuses() == [Status.REJECTED]
    record = _registry(harness)
    assert record is not None and record.offer_id == "777"
    assert record.publication_status == "INACTIVE" and record.operation_url is None
    # The corrected event: the whole body, then the activation (audit #5), no POST.
    client.accept = False
    st2 = _stored(harness, 2)
    step.publish(_content(st2))
    assert client.writes() == ["POST", "PATCH", "PATCH"]
    assert client.calls[-1] == ("PATCH", {"publication": {"status": "ACTIVE"}})
    assert harness.statuses() == [Status.REJECTED, Status.PUBLISHED]
    assert harness.store.statuses[-1].publication_status == "ACTIVE"


def test_an_unknown_status_patched_to_a_draft_is_activated(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    # An offer known only by id (status unknown) turns out to be a draft: the PATCH answer
    # says INACTIVE, so it is activated in the same run instead of being reported live.
    st = _stored(harness)
    harness.store.offers[("default", "SKU-1")] = OfferRecord("default", "SKU-1", "555")
    client.patched["555"] = _offer("555", "INACTIVE")
    step.publish(_content(st))
    assert [p for n, p in client.calls if n == "PATCH"][-1] == {"publication": {"status": "ACTIVE"}}
    assert harness.statuses() == [Status.PUBLISHED]
    assert harness.store.statuses[0].publication_status == "ACTIVE"


# --- item: Allegro's answer is checked ------------------------------------------------------------


def test_a_created_offer_left_inactive_with_errors_is_rejected_and_kept(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    errors = [{"code": "OfferImagesNotAvailableException", "message": "m", "path": "images"}]
    client.created = _offer("1", "INACTIVE", validation={"errors": errors})
    step.publish(_content(st))
    assert harness.statuses() == [Status.REJECTED]
    status = harness.store.statuses[0]
    assert status.offer_id == "1" and status.publication_status == "INACTIVE"
    assert [e.code for e in status.errors] == ["OfferImagesNotAvailableException"]
    record = _registry(harness)
    assert record is not None and record.offer_id == "1" and record.published_body is None
    assert client.writes() == ["POST"]  # no activation: it would be refused again
    # The next event sends the whole body and activates it; never a second POST.
    client.created = None
    step.publish(_content(_stored(harness, 2)))
    assert client.writes() == ["POST", "PATCH", "PATCH"]
    assert harness.statuses()[-1] is Status.PUBLISHED


def test_warned_parts_are_reported_and_not_recorded_as_published(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    warnings = [{"code": "ImagesNotSaved", "message": "not saved", "path": "images[0]"}]
    client.created = _offer("1", "ACTIVE", warnings=warnings)
    step.publish(_content(st))
    assert harness.statuses() == [Status.PUBLISHED]
    assert [e.code for e in harness.store.statuses[0].errors] == ["ImagesNotSaved"]
    record = _registry(harness)
    assert record is not None and record.published_body is not None
    assert "images" not in record.published_body and "name" in record.published_body
    # The next run sends the images again.
    client.created = None
    step.publish(_content(_stored(harness, 2)))
    assert client.calls[-1] == ("PATCH", {"images": ["https://img.example/1.jpg"]})


# --- item: an offer Allegro ended itself is activated on restock ---------------------------------


def test_a_restock_of_an_offer_allegro_ended_activates_it(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    body = content(_body(st, stock=1))
    harness.store.offers[("default", "SKU-1")] = OfferRecord(
        "default", "SKU-1", "9", "ACTIVE", fingerprint(body), 0, body
    )
    client.patched["9"] = _offer("9", "ENDED", stock={"available": 5})
    step.publish(_content(st))
    patches = [p for n, p in client.calls if n == "PATCH"]
    assert patches == [
        {"stock": {"available": 5, "unit": "UNIT"}},
        {"publication": {"status": "ACTIVE"}},
    ]
    assert harness.statuses() == [Status.UPDATED]
    assert harness.store.statuses[0].publication_status == "ACTIVE"
    record = _registry(harness)
    assert record is not None and record.publication_status == "ACTIVE"


def test_a_refused_activation_is_rejected_and_the_ended_status_kept(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    body = content(_body(st, stock=1))
    harness.store.offers[("default", "SKU-1")] = OfferRecord(
        "default", "SKU-1", "9", "ACTIVE", fingerprint(body), 0, body
    )
    client.patched["9"] = _offer("9", "ENDED")
    refusal = ValidationFailed(
        "refused",
        status=422,
        method="PATCH",
        path="/sale/product-offers/9",
        errors=[ErrorItem(code="OfferStatusChangeNotAllowedException", message="no")],
    )
    original = client.update_offer

    def update(offer_id: str, patch: dict[str, Any]) -> OfferResult:
        if "publication" in patch:  # the content PATCH passes, the activation is refused
            client.calls.append(("PATCH", patch))
            raise refusal
        return original(offer_id, patch)

    client.update_offer = update  # type: ignore[method-assign]
    step.publish(_content(st))
    assert harness.statuses() == [Status.REJECTED]
    record = _registry(harness)
    assert record is not None and record.publication_status == "ENDED"
    assert record.published_body == body  # what we published before stays true


# --- item: 404 for a known offer -----------------------------------------------------------


def _archived(harness: Harness, st: ProductState, status: str = "ENDED") -> None:
    body = content(_body(st, stock=0))
    harness.store.offers[("default", "SKU-1")] = OfferRecord(
        "default", "SKU-1", "9", status, fingerprint(body), 0, body
    )


def test_a_404_of_an_archived_offer_creates_a_new_one(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    _archived(harness, st)
    client.gone.add("9")
    step.publish(_content(st))
    assert client.writes() == ["PATCH", "POST"]
    assert harness.statuses() == [Status.PUBLISHED]
    record = _registry(harness)
    assert record is not None and record.offer_id == "101"
    assert harness.store.statuses[0].offer_id == "101"
    assert "forget_offer:9" in harness.store.calls


def test_a_stock_change_of_a_gone_offer_goes_through_the_content_path(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    _archived(harness, st)
    client.gone.add("9")
    step.publish(_fast(st, "ev-stock"))
    assert _registry(harness) is None
    assert client.writes() == ["PATCH"]
    forwarded = harness.queued(Step.CATEGORIZE.value)
    assert [(p["event_id"], p["mode"]) for p in forwarded] == [("ev-stock", "content")]
    assert harness.statuses() == []


def test_a_delete_of_a_gone_offer_ends(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness, deleted=True)
    _archived(harness, st, status="ACTIVE")
    client.gone.add("9")
    step.publish({**_content(st), "mode": "delete", "body": None})
    assert harness.statuses() == [Status.ENDED]
    assert _registry(harness) is None
    assert client.writes() == ["PATCH"]


def test_a_404_of_another_call_is_not_taken_for_a_gone_offer(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    _archived(harness, st)
    client.errors = [NotFound("no", status=404, method="PATCH", path="/sale/product-offers/8")]
    with pytest.raises(NotFound):
        step.publish(_content(st))
    assert _registry(harness) is not None


def test_a_pending_creation_whose_offer_is_gone_is_created_again(
    harness: Harness, step: PublishStep, client: AsyncClient
) -> None:
    st = _stored(harness)
    harness.store.offers[("default", "SKU-1")] = OfferRecord(
        "default", "SKU-1", "777", "INACTIVE", fingerprint(content(_body(st))), operation_url=OP_URL
    )
    client.gone.add("777")
    client.operation = [NotFound("no op", status=404, method="GET", path=OP_URL)]
    step.publish(_content(st))
    assert client.writes() == ["POST"]
    record = _registry(harness)
    assert record is not None and record.offer_id == "101" and record.operation_url is None
