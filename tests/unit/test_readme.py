"""The README stays true: every setting and every sandbox knob is documented there."""

from __future__ import annotations

from pathlib import Path

from sandbox.config import SandboxConfig
from workers.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [
        f"ALLEGRO_FEED_{name.upper()}"
        for name in Settings.model_fields
        if f"| `ALLEGRO_FEED_{name.upper()}` |" not in README
    ]
    assert missing == []


def test_every_sandbox_knob_is_in_the_readme_table() -> None:
    missing = [name for name in SandboxConfig().knobs() if f"| `{name}` |" not in README]
    assert missing == []


def test_readme_names_the_two_setup_commands() -> None:
    assert "make run" in README
    assert "make test" in README
