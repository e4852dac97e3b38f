"""The README documents what the product has: every setting, every command."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.cli import app
from gateway.settings import ENV_PREFIX, Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    documented = set(re.findall(r"^\| `(GATEWAY_[A-Z_]+)` \|", README, flags=re.MULTILINE))
    actual = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    assert documented == actual


def test_every_command_is_in_the_operator_table() -> None:
    import typer.main

    group = typer.main.get_command(app)
    names = set(getattr(group, "commands", {}))
    assert names, "no commands found"
    for name in names:
        assert f"`gateway {name}" in README, name
