"""The rate budget's interface, shared by every backend."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from workers.budget._window import Claim, KeyState, Verdict, blocked_for, decide, used
from workers.budget.config import BudgetConfig, Kind

__all__ = ["BudgetStatus", "Clock", "RateBudget", "Request"]

#: Epoch seconds. Injected in tests; by default the backend's own clock (its server's for
#: PostgreSQL and Redis, so that hosts with skewed clocks still share one timeline).
Clock = Callable[[], float]

#: One item of :meth:`RateBudget.acquire_all`: (kind, cost, account).
Request = tuple[Kind | str, int, str]


@dataclass(frozen=True)
class BudgetStatus:
    """A read-only view of one budget: ``used`` units per window span (seconds), the
    ``limits`` per span, ``blocked_for_s`` left of a 429 block and the ``penalties`` (429s)
    recorded for it by every process."""

    kind: Kind
    subject: str
    used: dict[float, int]
    limits: dict[float, int]
    blocked_for_s: float
    penalties: int


class RateBudget(ABC):
    """Allegro's rate limits as one budget shared by every process that uses the same
    backend (see :func:`workers.budget.open_budget`). Thread-safe.

    Kinds (:class:`~workers.budget.config.Kind`): ``client`` counts every API request
    against the application's client id (``config.client_key``; ``account`` is ignored);
    every other kind (``offer_writes``, ``batch_changes``, ``offer_reads``,
    ``batch_reads``, ``product_reads``) counts against the seller ``account``.
    """

    def __init__(self, config: BudgetConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock
        self._counter_guard = threading.Lock()
        self._rate_limited: Counter[str] = Counter()

    # --- public API ---------------------------------------------------------------------

    def acquire(self, kind: Kind | str, cost: int = 1, *, account: str) -> float:
        """Take ``cost`` units of ``kind`` and return 0.0, or take nothing and return the
        seconds to wait until they would fit. Atomic across every process and host that
        shares the backend.

        Raises ValueError for an unknown kind, a negative cost or one above the limit (it
        could never fit), and :class:`~workers.budget.errors.BudgetUnavailable` when the
        backend cannot be reached.
        """
        return self.acquire_all([(kind, cost, account)]).wait_s

    def acquire_all(self, requests: Iterable[Request]) -> Verdict:
        """Take all of ``requests`` or none of them, atomically (a request to Allegro that
        counts against several budgets). The verdict names the kind that holds it back."""
        claims = self._claims(requests)
        if not claims:
            return Verdict(0.0)
        if not any(claim.windows for claim in claims):
            # Every limit off: only the block after a 429 can hold a request back, and
            # granting counts nothing, so reading the blocks is enough (no write, no lock).
            states = {claim.key: self._load(claim.kind.value, claim.subject) for claim in claims}
            return decide(states, claims, self._time())
        return self._take(claims, self._now())

    def penalize(
        self, kind: Kind | str, account: str, seconds: float, *, count: bool = True
    ) -> None:
        """After a 429: grant nothing of ``kind`` (for ``account``; the client id for
        ``client``) for ``seconds`` from now, in every process. Counts the 429 (in the
        state's penalties and this process's :meth:`rate_limited_counts`) unless ``count``
        is False (see :meth:`hold`)."""
        kind = Kind(kind)
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        if count:
            with self._counter_guard:
                self._rate_limited[kind.value] += 1
        self._penalize(kind.value, self._subject(kind, account), seconds, self._now(), count=count)

    def hold(self, kind: Kind | str, account: str, seconds: float) -> None:
        """:meth:`penalize` without counting a 429 against ``kind`` (a precaution, e.g. the
        client id held briefly after a seller's 429)."""
        self.penalize(kind, account, seconds, count=False)

    def status(self, kind: Kind | str, *, account: str) -> BudgetStatus:
        """What ``kind`` has used (for logs, metrics and tests); changes nothing."""
        kind = Kind(kind)
        subject = self._subject(kind, account)
        state = self._load(kind.value, subject)
        now = self._time()
        windows = self.config.windows(kind)
        return BudgetStatus(
            kind=kind,
            subject=subject,
            used={w.span_s: used(state, w, now) for w in windows},
            limits={w.span_s: w.limit for w in windows},
            blocked_for_s=blocked_for(state, now),
            penalties=state.penalties,
        )

    def rate_limited_counts(self) -> dict[str, int]:
        """429s penalized by this process, per kind (a counter for metrics and logs)."""
        with self._counter_guard:
            return dict(self._rate_limited)

    @abstractmethod
    def close(self) -> None:
        """Release connections. The budget cannot be used afterwards."""

    def __enter__(self) -> RateBudget:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- for the backends ---------------------------------------------------------------

    @abstractmethod
    def _take(self, claims: Sequence[Claim], now: float | None) -> Verdict:
        """Decide ``claims`` atomically; ``now`` None means the backend's own clock."""

    @abstractmethod
    def _penalize(
        self, kind: str, subject: str, seconds: float, now: float | None, *, count: bool = True
    ) -> None:
        """Apply :func:`workers.budget._window.penalize` atomically (``count``: whether
        the state's 429 count grows)."""

    @abstractmethod
    def _load(self, kind: str, subject: str) -> KeyState:
        """The stored state (a fresh one when there is none)."""

    def _server_now(self) -> float:
        """The backend's own clock (used when no clock was injected)."""
        return time.time()

    def _now(self) -> float | None:
        return self.clock() if self.clock is not None else None

    def _time(self) -> float:
        """The injected clock's time, else the backend's own: for the reads made outside
        :meth:`_take` and :meth:`_penalize`, which read the backend's clock themselves."""
        now = self._now()
        return self._server_now() if now is None else now

    # --- helpers ------------------------------------------------------------------------

    def _subject(self, kind: Kind, account: str) -> str:
        if kind is Kind.CLIENT:
            return self.config.client_key
        if not account:
            raise ValueError(f"{kind.value} needs the seller account")
        return account

    def _claims(self, requests: Iterable[Request]) -> list[Claim]:
        costs: dict[tuple[Kind, str], int] = {}
        for kind_name, cost, account in requests:
            kind = Kind(kind_name)
            if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
                raise ValueError(f"cost must be a whole number >= 0, not {cost!r}")
            key = (kind, self._subject(kind, account))
            costs[key] = costs.get(key, 0) + cost
        claims = []
        for (kind, subject), cost in sorted(costs.items()):
            if cost == 0:
                continue
            tightest = self.config.tightest(kind)
            if tightest is not None and cost > tightest.limit:
                raise ValueError(
                    f"{cost} units of {kind.value} can never fit its limit of "
                    f"{tightest.limit} per {tightest.span_s:g} s"
                )
            # Kept even with every limit off: a 429's block still applies to it.
            claims.append(Claim(kind, subject, cost, self.config.windows(kind)))
        # Sorted by (kind, subject): backends lock rows in this order, so two processes
        # never wait for each other in a cycle.
        return claims
