"""The publish decision: what to send to Allegro for one SKU, from what it should be and what
was last sent (pure).

- :func:`fingerprint`: a stable hash of an offer body's content;
- :func:`merge_patch`: the JSON Merge Patch (RFC 7396) that turns one body into another;
- :func:`plan_publish`: create, patch, end, re-activate or leave alone, as a
  :class:`PublishPlan`.

Choices, stated once:

- **Content versus state.** ``publication`` is the offer's state, not its content: it is
  left out of fingerprints and of ordinary diffs, and only the plan's actions set it.
- **Prices are compared as decimals** (``"179.0"`` equals ``"179.00"``: Allegro formats
  amounts differently per endpoint, FACTS.md §14); a price object (``{amount, currency}``),
  a reference (``{id}`` / ``{name}``) or the ``stock`` that changed is sent whole.
- **Never null what Allegro manages.** A field we stopped sending is cleared with ``null``
  only when it is ours to clear (``name``, ``parameters``, ``description``, ``images``,
  ...). Fields Allegro fills in itself when they are absent (``delivery``,
  ``afterSalesServices``, ``location``, ``payments``, ``publication``, ...) keep their
  value on Allegro: a mapping default that was removed does not wipe the offer's
  shipping rates.
- **A changed ``productSet`` re-syncs the offer from the catalogue** (FACTS.md §7), which
  overwrites description, images and parameters unless they are sent too; so a patch that
  carries ``productSet`` also carries the desired ``description``, ``images`` and
  ``parameters``.
- **Stock 0 on an ACTIVE or ACTIVATING offer** sends ``{"publication": {"status": "ENDED"},
  "stock": {...0...}}`` in one PATCH. Allegro would end the offer on stock 0 alone, but only
  asynchronously; ``ENDED`` is applied even when other changes of the request fail (FACTS.md
  §7), so the end is certain, and the stock sent keeps Allegro's stock equal to the store's
  (the offer cannot be resumed by hand with stock it does not have). Other content changes
  wait for the re-activation, whose diff starts from the last published body.
- **Re-activation** (an ENDED offer, or the INACTIVE draft created with stock 0, whose
  desired stock is above 0): first a PATCH with the content changes and always the stock
  (sales may have changed Allegro's stock since our last body), then
  ``{"publication": {"status": "ACTIVE"}}`` (FACTS.md §11).
- **Deleted products**: an ACTIVE/ACTIVATING offer (or one of unknown status) is ended; an
  ENDED one needs nothing (``NOOP_ENDED``); an INACTIVE draft is left to expire (it is not
  visible to buyers, and Allegro ends only published offers); without an offer there is
  nothing to do.
- **An offer without a stored body** (known by id and status, e.g. found by
  ``external.id`` after a crash) is patched with the whole desired content.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from schemas.status import Status
from workers.domain.rules_common import as_dict

__all__ = [
    "ACTIVATE_PATCH",
    "ALLEGRO_MANAGED",
    "ENDED_PATCH",
    "PublishAction",
    "PublishPlan",
    "content",
    "fingerprint",
    "merge_patch",
    "needs_activation",
    "not_live",
    "plan_publish",
    "wants_live",
    "warned_keys",
]

#: Top-level fields Allegro fills in itself when absent, or that are read-only: a patch
#: never sets them (or anything inside them) to null.
ALLEGRO_MANAGED: Final = frozenset(
    {
        "publication",
        "delivery",
        "afterSalesServices",
        "location",
        "payments",
        "language",
        "taxSettings",
        "b2b",
        "additionalMarketplaces",
        "additionalServices",
        "attachments",
        "compatibilityList",
        "contact",
        "discounts",
        "fundraisingCampaign",
        "messageToSellerSettings",
        "sizeTable",
        "aiCoCreatedContent",
        # read-only fields of a GET, should a stored body come from one
        "id",
        "createdAt",
        "updatedAt",
        "validation",
        "warnings",
    }
)
#: Top-level objects sent whole when anything in them changed.
_WHOLE: Final = frozenset({"stock"})
#: Sent with a patch that changes ``productSet`` (which re-syncs them from the catalogue).
_RESYNCED: Final = ("description", "images", "parameters")
_ACTIVE_STATES: Final = frozenset({"ACTIVE", "ACTIVATING"})
ENDED_PATCH: Final[dict[str, Any]] = {"publication": {"status": "ENDED"}}
ACTIVATE_PATCH: Final[dict[str, Any]] = {"publication": {"status": "ACTIVE"}}


class PublishAction(StrEnum):
    """What :func:`plan_publish` decided."""

    CREATE = "CREATE"  # POST the body: there is no offer yet
    UNCHANGED = "UNCHANGED"  # nothing to send
    PATCH = "PATCH"  # PATCH the content changes
    END = "END"  # PATCH publication ENDED (deleted, or stock 0 on a live offer)
    REACTIVATE = "REACTIVATE"  # PATCH content and stock, then PATCH publication ACTIVE
    NOOP_ENDED = "NOOP_ENDED"  # the offer is ENDED and is to stay so: nothing to send


@dataclass(frozen=True)
class PublishPlan:
    """The calls to make for one SKU, and what to report and record once they succeed.

    ``body``: the POST body (CREATE). ``patch``: the first PATCH body (PATCH, END,
    REACTIVATE). ``activate``: the second PATCH (REACTIVATE). ``status_if_done``: the
    terminal status to report when every call succeeded. ``expected``: the offer's content
    on Allegro afterwards (publication left out): store it as the published body, with
    :func:`fingerprint` of it. ``reason``: one line for the log.
    """

    action: PublishAction
    status_if_done: Status
    expected: dict[str, Any] | None
    reason: str
    body: dict[str, Any] | None = None
    patch: dict[str, Any] | None = None
    activate: dict[str, Any] | None = None

    @property
    def patches(self) -> list[dict[str, Any]]:
        """The PATCH bodies to send, in order."""
        return [p for p in (self.patch, self.activate) if p is not None]


# --- canonical form, fingerprint --------------------------------------------------------------


def _decimal_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    return format(number.normalize(), "f")


def _is_price(value: Mapping[str, Any]) -> bool:
    return "amount" in value and set(value) <= {"amount", "currency"}


def _is_reference(value: Mapping[str, Any]) -> bool:
    return bool(value) and set(value) <= {"id", "name"}


#: Leaf types returned as they are (checked by exact type: the common case costs no call).
_LEAVES = frozenset({str, int, float, bool})


def _canonical(value: Any) -> Any:
    """``value`` with null fields dropped and price amounts as normalised decimals."""
    if isinstance(value, dict):
        result = {
            k: v if type(v) in _LEAVES else _canonical(v) for k, v in value.items() if v is not None
        }
        if "amount" in value and _is_price(value):
            result["amount"] = _decimal_text(value["amount"])
        return result
    if isinstance(value, list):
        return [v if type(v) in _LEAVES else _canonical(v) for v in value]
    return value


def content(body: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``body`` without ``publication`` (the offer's state, not content)."""
    return {k: copy.deepcopy(v) for k, v in body.items() if k != "publication"}


def fingerprint(body: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the body's content as canonical JSON: key order, null fields,
    ``publication`` and the formatting of price amounts make no difference."""
    # _canonical builds new objects, so the body's content needs no copy of its own here.
    text = json.dumps(
        _canonical({k: v for k, v in body.items() if k != "publication"}),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _same(old: Any, new: Any) -> bool:
    return bool(_canonical(old) == _canonical(new))


# --- merge patch ------------------------------------------------------------------------------


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The RFC 7396 merge patch that turns ``old`` into ``new``.

    Only changed keys; objects are recursed into; arrays, price objects, ``{id}`` /
    ``{name}`` references and ``stock`` are replaced whole when different; a key ``new``
    lacks becomes ``null``, except the fields in :data:`ALLEGRO_MANAGED` (and anything
    inside them), which are never nulled. Values are compared canonically (prices as decimals, null
    fields as absent). The result shares no objects with the inputs.
    """
    return _diff(old, new, top=True, keep=False)


def _diff(
    old: Mapping[str, Any], new: Mapping[str, Any], *, top: bool, keep: bool
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if value is None:
            if before is not None and not keep and not (top and key in ALLEGRO_MANAGED):
                patch[key] = None
            continue
        if before is not None and _same(before, value):
            continue
        if (
            isinstance(value, dict)
            and isinstance(before, dict)
            and not (_is_price(value) or _is_reference(value) or (top and key in _WHOLE))
        ):
            keep_inside = keep or (top and key in ALLEGRO_MANAGED)
            inner = _diff(before, value, top=False, keep=keep_inside)
            if inner:
                patch[key] = inner
        else:
            patch[key] = copy.deepcopy(value)
    if not keep:
        for key, before in old.items():
            if key in new or before is None or (top and key in ALLEGRO_MANAGED):
                continue
            patch[key] = None
    return patch


# --- the decision -------------------------------------------------------------------------------


def _available(body: Mapping[str, Any]) -> int:
    available = as_dict(body.get("stock")).get("available")
    return available if isinstance(available, int) and not isinstance(available, bool) else 0


def plan_publish(
    *,
    desired: Mapping[str, Any],
    published: Mapping[str, Any] | None,
    offer_status: str | None,
    deleted: bool,
) -> PublishPlan:
    """What to send for one SKU (module docstring).

    ``desired``: the body the product should have (:func:`~workers.domain.offer.build_offer`
    or :func:`~workers.domain.offer.stock_price_overlay`); ``published``: the body last sent
    (the registry's), None when there is none; ``offer_status``: Allegro's
    ``publication.status`` of the offer (INACTIVE, ACTIVATING, ACTIVE, ENDED), None when
    there is no offer or it is not known; ``deleted``: the product was deleted in the store.
    """
    status = offer_status.upper() if offer_status else None
    if published is None and status is None:
        if deleted:
            return PublishPlan(
                PublishAction.UNCHANGED, Status.UNCHANGED, None, "deleted before it had an offer"
            )
        body = copy.deepcopy(dict(desired))
        if _available(body) == 0:
            body["publication"] = {**as_dict(body.get("publication")), "status": "INACTIVE"}
            reason = "new offer, as an INACTIVE draft until there is stock"
        else:
            reason = "new offer"
        return PublishPlan(PublishAction.CREATE, Status.PUBLISHED, content(body), reason, body=body)
    old = content(published or {})
    if deleted:
        return _plan_deleted(old, status)
    new = content(desired)
    changes = merge_patch(old, new)
    if "productSet" in changes:
        changes.update({k: copy.deepcopy(new[k]) for k in _RESYNCED if new.get(k) is not None})
    if status in ("ENDED", "INACTIVE"):
        if _available(new) > 0:
            patch = {**changes, "stock": copy.deepcopy(new["stock"])}
            what = "re-activate the ended offer" if status == "ENDED" else "activate the draft"
            return PublishPlan(
                PublishAction.REACTIVATE,
                Status.UPDATED,
                new,
                f"{what}: stock {_available(new)}",
                patch=patch,
                activate=copy.deepcopy(ACTIVATE_PATCH),
            )
        if status == "ENDED":
            return PublishPlan(
                PublishAction.NOOP_ENDED,
                Status.UNCHANGED,
                old,
                "the offer is ended and there is no stock; content is sent on re-activation",
            )
    elif _available(new) == 0:
        patch = copy.deepcopy(ENDED_PATCH)
        expected = old
        if "stock" in changes:
            patch["stock"] = copy.deepcopy(new["stock"])
            expected = {**old, "stock": copy.deepcopy(new["stock"])}
        return PublishPlan(PublishAction.END, Status.ENDED, expected, "stock 0", patch=patch)
    if not changes:
        return PublishPlan(PublishAction.UNCHANGED, Status.UNCHANGED, new, "no change")
    return PublishPlan(
        PublishAction.PATCH,
        Status.UPDATED,
        new,
        "changed: " + ", ".join(sorted(changes)),
        patch=changes,
    )


def _plan_deleted(old: dict[str, Any], status: str | None) -> PublishPlan:
    if status == "ENDED":
        return PublishPlan(
            PublishAction.NOOP_ENDED, Status.UNCHANGED, old, "deleted; already ended"
        )
    if status == "INACTIVE":
        return PublishPlan(
            PublishAction.UNCHANGED, Status.UNCHANGED, old, "deleted; the draft is left to expire"
        )
    return PublishPlan(
        PublishAction.END, Status.ENDED, old, "deleted", patch=copy.deepcopy(ENDED_PATCH)
    )


# --- reading Allegro's answer ---------------------------------------------------------------

#: What a plan that leaves the offer for sale may end in (FACTS.md §11).
_NOT_LIVE: Final = frozenset({"INACTIVE", "ENDED"})
_LIVE_ACTIONS: Final = frozenset(
    {PublishAction.CREATE, PublishAction.PATCH, PublishAction.REACTIVATE}
)


def wants_live(plan: PublishPlan, *, deleted: bool) -> bool:
    """Whether ``plan``'s calls are meant to leave the offer for sale (ACTIVE, or
    ACTIVATING when scheduled): a creation, change or re-activation with stock above 0 of a
    product that is not deleted."""
    return (
        not deleted
        and plan.action in _LIVE_ACTIONS
        and plan.expected is not None
        and _available(plan.expected) > 0
    )


def not_live(plan: PublishPlan, status: str | None, *, deleted: bool) -> bool:
    """Whether Allegro's answer (``publication.status``) shows an offer that is not for
    sale although ``plan`` meant it to be."""
    return wants_live(plan, deleted=deleted) and (status or "").upper() in _NOT_LIVE


def needs_activation(
    plan: PublishPlan, status: str | None, *, deleted: bool, refused: bool
) -> bool:
    """Whether the offer must still be activated (``ACTIVATE_PATCH``) after ``plan``'s
    calls: Allegro's answer shows it INACTIVE or ENDED (ended by Allegro itself, e.g.
    ``EMPTY_STOCK``, or a draft left by a failed creation, while the registry believed it
    live), the plan wanted it for sale and did not activate it already. ``refused``: the
    answer lists validation errors; activating would only be refused again, so not."""
    return plan.activate is None and not refused and not_live(plan, status, deleted=deleted)


def warned_keys(paths: Iterable[str | None]) -> set[str]:
    """The top-level fields named by the paths of an answer's top-level ``warnings``
    (parts Allegro did not save, FACTS.md §8): ``images``, ``productSet[0].product`` →
    ``images``, ``productSet``."""
    return {re.split(r"[.\[]", path, maxsplit=1)[0] for path in paths if path}
