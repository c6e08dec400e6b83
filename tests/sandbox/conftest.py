"""Fixtures of the sandbox's HTTP tests: one running sandbox per test module, reset before
every test that uses it, and an API client with a fresh seller token.

A module that needs other knobs overrides :func:`sandbox_knobs`::

    @pytest.fixture(scope="module")
    def sandbox_knobs() -> dict[str, Any]:
        return {"command_delay_s": 2}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.testing import SandboxHandle, running_sandbox


@pytest.fixture(scope="module")
def sandbox_knobs() -> dict[str, Any]:
    """Knobs (``SandboxConfig`` fields) the module's sandbox starts with."""
    return {}


@pytest.fixture(scope="module")
def sandbox(sandbox_knobs: dict[str, Any]) -> Iterator[SandboxHandle]:
    with running_sandbox(**sandbox_knobs) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    """A test that uses the module's sandbox starts from a reset one (the others start
    none)."""
    if "sandbox" in request.fixturenames:
        handle: SandboxHandle = request.getfixturevalue("sandbox")
        handle.reset()


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with sandbox.client() as client:
        yield client
