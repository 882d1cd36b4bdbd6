"""The docs a user needs stay true to the code."""

from __future__ import annotations

from engage.config import Settings
from tests.conftest import ROOT


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [
        f"ENGAGE_{name.upper()}" for name in Settings.model_fields if f"ENGAGE_{name.upper()}" not in text
    ]
    assert not missing, f"document these in docs/configuration.md: {missing}"


def test_readme_has_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make run" in text and "make test" in text
