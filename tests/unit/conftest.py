"""Fixtures every unit test folder may use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workers import metrics


@pytest.fixture
def counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """allegro-feed's Prometheus metrics on for the test (a multiprocess directory of its
    own), and forgotten after it."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    metrics.reset()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    yield
    metrics.reset()
