"""The publish step's outcome: what Allegro's answer says, the registry entry to keep and the
status to report (a part of :class:`workers.publish.PublishStep`).

**A status is reported only once Allegro's answer confirms it.** A POST or PATCH that
Allegro took may still leave the offer not for sale: the 201 of a creation is final and its
``validation.errors`` complete (FACTS.md §6), and a full validation runs at activation
(§11), so an offer can come back INACTIVE with errors; Allegro also ends offers itself
(``EMPTY_STOCK``, ``EXPIRATION``, ``ADMIN``). So when the plan meant the offer to be for
sale and the answer shows it INACTIVE or ENDED, the event is ``REJECTED`` with Allegro's
errors; the offer id stays in the registry (never a second offer), with Allegro's status
and no published body, so that the next event sends the whole content again and activates
it. The top-level ``warnings`` of an answer name parts that were not saved (§8): those
top-level fields are left out of the stored body, so they are sent again, and the warnings
are reported with the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.status import PublicationStatus, Status, StatusError, StatusMessage
from workers._step import StepBase
from workers.allegro import OfferResult, OperationFailed, ValidationFailed
from workers.broker import Payload
from workers.domain.model import ProductState
from workers.domain.plan import PublishPlan, fingerprint, not_live, warned_keys
from workers.status import allegro_errors
from workers.store import OfferRecord

__all__ = ["OutcomeMixin", "Run", "publication_status"]

_LIVE = frozenset({"ACTIVE", "ACTIVATING"})


def publication_status(value: str | None) -> str | None:
    """Allegro's publication status when it is one the status message knows."""
    return value if value in {s.value for s in PublicationStatus} else None


@dataclass
class Run:
    """One run of the publish step: the registry entry it works on (None: no offer known)
    and Allegro's last answer. ``first``: succeeding is the SKU's first publication."""

    record: OfferRecord | None
    result: OfferResult | None = None
    first: bool = False
    #: a PATCH of this run asked for ``publication.status`` ENDED
    sent_end: bool = False

    @property
    def offer_id(self) -> str | None:
        if self.result is not None and self.result.offer_id:
            return self.result.offer_id
        return self.record.offer_id if self.record is not None else None


class OutcomeMixin(StepBase):
    """Reading Allegro's answer, the registry entry and the status of one run."""

    def prepare_outcome(
        self,
        payload: Payload,
        state: ProductState,
        plan: PublishPlan,
        run: Run,
        *,
        deleted: bool,
    ) -> tuple[OfferRecord | None, StatusMessage]:
        """What the outcome writes: the registry entry to save (what Allegro has now; None:
        nothing to save) and the status to report. Worked out before the store's writer
        lock is taken: the fingerprint and the status message are the costly part."""
        record, result = run.record, run.result
        offer_id = run.offer_id
        publication = record.publication_status if record is not None else None
        trace_id = None
        if result is not None:
            publication = result.offer.status or publication
            trace_id = result.trace_id
        if (
            result is not None
            and offer_id is not None
            and not_live(plan, publication, deleted=deleted)
        ):
            return self._not_live(payload, offer_id, publication, result, trace_id)
        expected = plan.expected
        errors: list[StatusError] = []
        warnings = result.offer.warnings if result is not None else None
        if warnings and expected is not None:
            unsaved = warned_keys(w.path for w in warnings)
            expected = {k: v for k, v in expected.items() if k not in unsaved}
            errors = allegro_errors(warnings, fallback="Allegro did not save a part of the offer")
        saved = None
        if offer_id is not None and expected is not None and result is not None:
            version = state.version if payload.mode == "content" else payload.version
            if record is not None and record.published_version is not None:
                version = max(version, record.published_version)
            saved = OfferRecord(
                account=payload.account,
                sku=payload.sku,
                offer_id=offer_id,
                publication_status=publication,
                fingerprint=fingerprint(expected),
                published_version=version,
                published_body=expected,
            )
        status = plan.status_if_done
        if run.first and status in (Status.UPDATED, Status.UNCHANGED) and result is not None:
            status = Status.PUBLISHED
        message = self.status(
            payload,
            status,
            errors,
            offer_id=offer_id,
            publication_status=publication_status(publication),
            trace_id=trace_id,
        )
        return saved, message

    def _not_live(
        self,
        payload: Payload,
        offer_id: str,
        publication: str | None,
        result: OfferResult,
        trace_id: str | None,
    ) -> tuple[OfferRecord, StatusMessage]:
        """The offer is not for sale although the plan meant it to be: REJECTED with
        Allegro's errors; the registry keeps the offer with its status and no body."""
        errors = allegro_errors(
            result.offer.validation_errors,
            fallback=(
                f"Allegro left offer {offer_id} {publication}, not for sale; correct the "
                "product (see the offer's errors on Allegro) and send it again"
            ),
        )
        saved = OfferRecord(
            account=payload.account,
            sku=payload.sku,
            offer_id=offer_id,
            publication_status=publication,
        )
        message = self.status(
            payload,
            Status.REJECTED,
            errors,
            offer_id=offer_id,
            publication_status=publication_status(publication),
            trace_id=trace_id,
        )
        return saved, message

    def save_outcome(self, saved: OfferRecord | None, message: StatusMessage) -> None:
        """Save the registry entry, then report the status (:meth:`prepare_outcome` gave
        both)."""
        if saved is not None:
            self.services.store.save_offer(saved)
        self.services.reporter.report(message)

    def rejected_by_allegro(
        self, payload: Payload, run: Run, exc: ValidationFailed | OperationFailed
    ) -> None:
        """Allegro refused the offer (422, or its async processing failed): REJECTED. The
        registry keeps the offer (never a second one) with the status Allegro left it in."""
        record = run.record
        offer_id = getattr(exc, "offer_id", None) or run.offer_id
        status = self._status_after_refusal(run, exc)
        if offer_id and (
            record is None
            or record.operation_url
            or record.offer_id != offer_id
            or (status is not None and status != record.publication_status)
        ):
            keep = record is not None and record.offer_id == offer_id and not record.operation_url
            self.services.store.save_offer(
                OfferRecord(
                    account=payload.account,
                    sku=payload.sku,
                    offer_id=offer_id,
                    publication_status=status,
                    # What we published before stays true of the offer; only its state moved.
                    **(_published_part(record) if keep and record is not None else {}),
                )
            )
        self.report(
            payload,
            Status.REJECTED,
            allegro_errors(exc.errors, fallback=str(exc)),
            offer_id=offer_id,
            publication_status=publication_status(status),
            trace_id=exc.trace_id,
        )

    @staticmethod
    def _status_after_refusal(run: Run, exc: ValidationFailed | OperationFailed) -> str | None:
        """The offer's publication status after Allegro refused a call of this run."""
        record = run.record
        if isinstance(exc, OperationFailed) and (record is None or record.operation_url):
            return "INACTIVE"  # a failed creation leaves a draft (FACTS.md §6, §11)
        if run.result is not None and run.result.offer.status:
            return run.result.offer.status  # e.g. ENDED, before a refused activation
        before = record.publication_status if record is not None else None
        if run.sent_end and (before or "").upper() in _LIVE:
            return "ENDED"  # ENDED is applied even when the rest of the edit fails (§7)
        return before


def _published_part(record: OfferRecord) -> dict[str, Any]:
    return {
        "fingerprint": record.fingerprint,
        "published_version": record.published_version,
        "published_body": record.published_body,
    }
