"""Injected faults: random ones by ratio (seeded) and scripted ones for exact tests.

A fault is decided before the request reaches its handler:

- ``status``: answer the given status (500/503 for random faults) without applying the
  request, optionally with ``Retry-After``;
- ``timeout``: hold the response for ``timeout_hold_s`` of real time without applying the
  request, then answer the given status (random: 504) or drop the connection;
- ``lost_response``: apply the request, then answer the given status (random: 502 or 504) or
  drop the connection. This is the trap a client must survive: the offer exists although
  the client saw a failure.

Scripted faults match method and a path regular expression and are used up one request at
a time, in the order they were added; they apply to OAuth calls too. Random faults only hit
API calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from dataclasses import dataclass
from typing import Any

from sandbox.config import SandboxConfig

__all__ = ["FAULT_KINDS", "Fault", "FaultBook", "ScriptedFault", "drop_connection"]

FAULT_KINDS = ("status", "timeout", "lost_response")


@dataclass(frozen=True)
class Fault:
    """What to do to one request. ``status`` None with timeout/lost_response: drop."""

    kind: str
    status: int | None = None
    retry_after_s: float | None = None
    source: str = "random"  # random | scripted


@dataclass
class ScriptedFault:
    method: str
    path: re.Pattern[str]
    kind: str
    remaining: int
    status: int | None = None
    retry_after_s: float | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path.pattern,
            "kind": self.kind,
            "remaining": self.remaining,
            "status": self.status,
            "retry_after_s": self.retry_after_s,
        }


class FaultBook:
    """Scripted faults waiting to fire, and the event that ends timeout holds early."""

    def __init__(self) -> None:
        self.scripted: list[ScriptedFault] = []
        self._release = asyncio.Event()

    def add(
        self,
        *,
        method: str,
        path: str,
        kind: str,
        count: int = 1,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> ScriptedFault:
        """Queue a scripted fault; raises ``ValueError`` on a bad kind, pattern or status."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if kind == "status" and status is None:
            raise ValueError("kind 'status' needs a status")
        if status is not None and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        if count < 1:
            raise ValueError("count must be at least 1")
        try:
            pattern = re.compile(path)
        except re.error as exc:
            raise ValueError(f"path is not a regular expression: {exc}") from None
        fault = ScriptedFault(method.upper(), pattern, kind, count, status, retry_after_s)
        self.scripted.append(fault)
        return fault

    def take(
        self, method: str, path: str, *, is_api: bool, config: SandboxConfig, rng: random.Random
    ) -> Fault | None:
        """The fault for this request, if any (a scripted one is used up)."""
        for fault in self.scripted:
            if fault.method in (method, "*") and fault.path.search(path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.scripted.remove(fault)
                return Fault(fault.kind, fault.status, fault.retry_after_s, "scripted")
        if not is_api:
            return None
        ratios = (
            config.fault_5xx_ratio,
            config.fault_timeout_ratio,
            config.fault_lost_response_ratio,
        )
        if not any(ratios):
            return None  # draw nothing, so enabling faults later starts a fresh sequence
        draw = rng.random()
        if draw < ratios[0]:
            return Fault("status", rng.choice((500, 503)))
        if draw < ratios[0] + ratios[1]:
            return Fault("timeout", rng.choice((504, None)))
        if draw < sum(ratios):
            return Fault("lost_response", rng.choice((502, 504, None)))
        return None

    async def hold(self, seconds: float) -> None:
        """Wait ``seconds`` of real time, or less if :meth:`release_holds` is called."""
        release = self._release
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=seconds)

    def release_holds(self) -> None:
        """End every current timeout hold now (used by reset)."""
        self._release.set()
        self._release = asyncio.Event()


async def drop_connection(receive: Any) -> bool:
    """Close the client's TCP connection without a response; True when it was dropped.

    ASGI has no "drop" message, so this reaches for the transport of uvicorn's request
    cycle (the object behind the server's ``receive`` callable). The caller must then return
    without sending anything.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    # Let the server see the connection go (connection_lost marks the cycle disconnected),
    # so it does not complain that the app sent no response.
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
    return True
