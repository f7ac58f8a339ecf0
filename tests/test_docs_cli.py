"""docs/cli.md documents every command and every option that ``textrobust ... --help`` shows."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
from conftest import ROOT

from textrobust.cli import main

CLI_PAGE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
COMMANDS = [
    ["eval"],
    ["certify"],
    ["perturbations"],
    ["inspect"],
    ["compare"],
    ["check"],
    ["card"],
    ["report"],
    ["vision", "eval"],
    ["vision", "certify"],
    ["vision", "reproduce"],
]


def help_text(argv: list[str], monkeypatch) -> str:
    """What ``textrobust <argv> --help`` prints, on a terminal wide enough not to cut names."""
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("TERMINAL_WIDTH", "250")
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        assert main([*argv, "--help"]) == 0
    return shown.getvalue()


def section(command: list[str]) -> str:
    """The part of docs/cli.md under the heading ``## `textrobust <command>` ``."""
    title = f"## `textrobust {' '.join(command)}`"
    assert title in CLI_PAGE, f"docs/cli.md has no section {title}"
    return CLI_PAGE.split(title, 1)[1].split("\n## ", 1)[0]


def test_every_command_has_a_section(monkeypatch):
    for group in ([], ["vision"]):
        panel = help_text(group, monkeypatch).split("Commands", 1)[1]
        names = re.findall(r"^│ (\w[\w-]*) ", panel, re.M)
        assert names, "no commands found in the help text"
        for name in names:
            if [*group, name] != ["vision"]:
                assert [*group, name] in COMMANDS, f"textrobust {' '.join([*group, name])} is not documented"
    for command in COMMANDS:
        section(command)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_option_is_documented(command, monkeypatch):
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", help_text(command, monkeypatch))) - {"--help"}
    documented = set(re.findall(r"`(--[a-z][a-z0-9-]*)`", section(command)))
    assert options - documented == set(), f"missing from docs/cli.md: {sorted(options - documented)}"
    assert documented - options == set(), (
        f"docs/cli.md documents options that do not exist: {sorted(documented - options)}"
    )
