"""Helpers shared by the client↔sandbox integration tests (their fixtures are in
``conftest.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workers.settings import Settings

if TYPE_CHECKING:
    from sandbox.testing import SandboxHandle
    from workers.allegro import AllegroClient
    from workers.budget import RateBudget

#: The ``make_budgeted`` fixture: a client and its rate budget, limits as keywords.
MakeBudgeted = Callable[..., "tuple[AllegroClient, RateBudget]"]


class Clocks:
    """Local time that moves with the sandbox's: ``sleep`` advances both, never waits."""

    def __init__(self, handle: SandboxHandle) -> None:
        self.handle = handle
        self.offset = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds
        if seconds > 0:
            self.handle.advance_clock(seconds)


def sandbox_settings(sandbox: SandboxHandle, token_file: Path, **changes: Any) -> Settings:
    """Settings that point at ``sandbox`` with tiny backoffs; ``changes`` override any field."""
    fields: dict[str, Any] = {
        "api_url": sandbox.url,
        "auth_url": sandbox.url,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "token_file": token_file,
        "retry_backoff_initial_s": 0.01,
        "retry_backoff_max_s": 0.05,
    }
    return Settings(**{**fields, **changes})


def statuses_of(sandbox: SandboxHandle, method: str, path: str) -> list[int]:
    """The statuses the sandbox answered to ``method path``, in order."""
    return [
        int(r["status"]) for r in sandbox.requests() if r["method"] == method and r["path"] == path
    ]
