"""Fixtures of the contract suite: Allegro's spec and examples from the shared folder.

Both skip the test when ``../shared`` is missing and fail it when ``$CI`` is set (see
:func:`.openapi.require_spec`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .openapi import Spec, require_spec, shared_dir


@pytest.fixture(scope="session")
def allegro_spec() -> Spec:
    """Allegro's OpenAPI spec, loaded once per test session."""
    return require_spec()


@pytest.fixture(scope="session")
def allegro_examples(allegro_spec: Spec) -> Path:
    """``<shared>/allegro/examples``: the shared folder is there, so it must be complete."""
    base = shared_dir()
    path = base / "allegro" / "examples" if base is not None else None
    if path is None or not path.is_dir():
        pytest.fail(f"the shared folder has the spec but no allegro/examples ({base})")
    return path
