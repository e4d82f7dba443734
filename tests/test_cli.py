"""The command line: every command documented, with an example that parses, and in the README."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dialplan.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def walk(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``group`` (groups included) with its path of names."""
    found = []
    for name, command in sorted(group.commands.items()):
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found += walk(command, (*path, name))
    return found


COMMANDS = [((), cli)] + walk(cli)
IDS = [" ".join(("dialplan", *p)) for p, _c in COMMANDS]
# bugs in src/ (the lead fixes them, then removes the marker)
KNOWN_BUGS: dict[str, str] = {}


def params():
    """COMMANDS as pytest params, the known bugs marked strict xfail."""
    return [
        pytest.param(path, command, id=name,
                     marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name])] if name in KNOWN_BUGS else [])
        for (path, command), name in zip(COMMANDS, IDS)
    ]


def example_of(command: click.Command) -> tuple[str, list[str]]:
    """The help text's final example block: its heading and its command lines."""
    lines = [line.rstrip() for line in (command.help or "").strip().splitlines()]
    heads = [i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:")]
    if not heads:
        return "", []
    body = [line.strip() for line in lines[heads[-1] + 1:]]
    return lines[heads[-1]].strip(), body


def test_the_walk_finds_every_command():
    """The walk sees the documented commands (so the tests below cover something)."""
    names = set(IDS)
    assert {"dialplan", "dialplan plan", "dialplan verify", "dialplan synth", "dialplan policy",
            "dialplan policy check", "dialplan policy list"} <= names


@pytest.mark.parametrize(("path", "command"), params())
def test_help_text_ends_with_an_example(path, command):
    """Each command's help has a summary and ends with an `Example:` block of dialplan lines."""
    assert command.help and command.help.strip(), "no help text"
    assert command.get_short_help_str().strip()
    heading, body = example_of(command)
    assert heading, "no Example: block"
    assert body and all(line.startswith("dialplan ") for line in body if line), body
    assert body[-1], "the example block is the end of the help"


@pytest.mark.parametrize(("path", "command"), params())
def test_example_runs_this_command_and_parses(path, command):
    """Each example invokes this very command (a group: one of its subcommands) and its
    arguments and options parse without error."""
    _heading, body = example_of(command)
    assert body, "no example"
    for line in body:
        tokens = shlex.split(line)[1:]
        assert tokens[: len(path)] == list(path), line
        target, rest = cli, tokens
        while isinstance(target, click.Group) and rest and rest[0] in target.commands:
            target, rest = target.commands[rest[0]], rest[1:]
        assert not isinstance(target, click.Group), f"{line}: names no subcommand"
        ctx = target.make_context(target.name, list(rest), resilient_parsing=False)
        ctx.close()


@pytest.mark.parametrize(("path", "command"), params())
def test_help_option_works(path, command):
    """`dialplan ... --help` prints usage and the example, exit 0."""
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    assert "Example:" in result.output


@pytest.mark.skipif(not README.exists(), reason="README.md not written yet")
@pytest.mark.parametrize("name", IDS)
def test_every_command_is_in_the_readme(name):
    """Every command and subcommand (`dialplan plan`, `dialplan policy check`, ...) appears in README.md."""
    assert name in README.read_text(encoding="utf-8")


def test_version_option():
    """`dialplan --version` prints the installed version."""
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert "0.1.0" in result.output


def test_bad_date_is_usage_error(tmp_path):
    """A --date that is not YYYY-MM-DD is a usage error (exit 2) naming the value."""
    result = CliRunner().invoke(cli, ["plan", str(tmp_path), "--date", "30/11/2026"])
    assert result.exit_code == 2
    assert "'30/11/2026' is not a date (YYYY-MM-DD)" in result.output
