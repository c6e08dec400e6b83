"""Finding the shared folder: skip locally without it, fail in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .openapi import SHARED_DIR_ENV, Spec, require_spec, shared_dir, spec_path

pytestmark = pytest.mark.contract

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_default_is_the_shared_folder_beside_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHARED_DIR_ENV, raising=False)
    beside = REPO_ROOT.parent / "shared"
    assert shared_dir() == (beside.resolve() if beside.is_dir() else None)


def test_missing_directory_gives_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path / "absent"))
    assert shared_dir() is None
    assert spec_path() is None


def test_without_the_spec_tests_skip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    assert shared_dir() == tmp_path.resolve()
    assert spec_path() is None
    with pytest.raises(pytest.skip.Exception, match=r"\.\./shared/allegro/openapi\.yaml not found"):
        require_spec()


def test_without_the_spec_tests_fail_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="contract tests need the shared folder"):
        require_spec()


def test_the_variable_may_point_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, allegro_spec: Spec
) -> None:
    assert allegro_spec.source is not None
    (tmp_path / "allegro").mkdir()
    (tmp_path / "allegro" / "openapi.yaml").symlink_to(allegro_spec.source)
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path))
    assert require_spec() is allegro_spec  # same file: the per-process cache answers


@pytest.mark.parametrize(("ci", "outcome", "code"), [(None, "1 skipped", 0), ("1", "1 error", 1)])
def test_a_session_without_the_shared_folder(
    tmp_path: Path, ci: str | None, outcome: str, code: int
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env[SHARED_DIR_ENV] = str(tmp_path)
    if ci:
        env["CI"] = ci
    test = "tests/contract/test_loader.py::test_counts_match_source_md"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert outcome in result.stdout, result.stdout + result.stderr
    assert result.returncode == code
