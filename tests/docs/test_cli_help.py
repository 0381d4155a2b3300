"""`edgeperf --help` reads like a table of contents: every command's summary is one short line; the rest of a
command's help is paragraphs that wrap to the terminal; its examples close it and name only commands and options
that exist. And the version `edgeperf --version` prints is the one the docs show."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeperf import __version__
from edgeperf.cli.app import app
from edgeperf.cli.examples import EXAMPLES
from edgeperf.cli.reference import commands, summary

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_MAX = 62  # what fits beside the longest command name in an 80-column terminal's command panel


def help_text(args: list[str], width: int) -> str:
    # rich sizes the help from COLUMNS (typer's own TERMINAL_WIDTH is read once, at import)
    result = CliRunner().invoke(app, args, terminal_width=width, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_summary_is_one_short_line(name):
    first = summary(commands()[name])
    assert "\n" not in first and len(first) <= SUMMARY_MAX and first.endswith("."), repr(first)


def test_the_command_panel_has_one_line_per_command():
    out = help_text(["--help"], width=80)
    panel = out.split("Commands", 1)[1]
    rows = [line for line in panel.splitlines() if line.startswith("│")]
    assert len(rows) == len(commands()), rows


def _plain(text: str) -> str:
    return " ".join(text.replace("`", "").split())


@pytest.mark.parametrize("name", sorted(commands()))
def test_paragraphs_wrap_to_the_terminal(name):
    """A paragraph broken over several docstring lines is one line on a wide terminal (no hard breaks kept)."""
    paragraphs = [p for p in (commands()[name].help or "").split("\n\n")[1:] if "\n" in p.strip()]
    paragraphs = [p for p in paragraphs if len(_plain(p)) <= 240 and not re.search(r"[*_\[\]<>]", p)]
    if not paragraphs:
        pytest.skip(f"{name}: no short multi-line paragraph to check")
    rendered = [_plain(line.strip(" │")) for line in help_text([name, "--help"], width=300).splitlines()]
    for p in paragraphs:
        assert _plain(p) in rendered, f"{name}: the paragraph is not on one line at 300 columns: {_plain(p)[:80]}"


def test_help_lines_fit_a_narrow_terminal():
    for name in commands():
        for line in help_text([name, "--help"], width=72).splitlines():
            assert len(line.rstrip()) <= 72, (name, line)


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_has_examples_that_exist(name):
    cmd = commands()[name]
    assert EXAMPLES.get(name), f"{name} has no examples (edgeperf/cli/examples.py)"
    options = {o for p in cmd.params for o in (*p.opts, *getattr(p, "secondary_opts", []))}
    for line in EXAMPLES[name]:
        argv = shlex.split(line)
        assert argv[:2] == ["edgeperf", name], line
        for arg in argv[2:]:
            if arg == "--":  # what follows is the measured command's
                break
            if arg.startswith("-"):
                assert arg.split("=")[0] in options, f"`{line}`: {name} has no option {arg}"
    out = help_text([name, "--help"], width=200)
    assert "Examples:" in out and EXAMPLES[name][0] in out, f"{name} --help does not end with its examples"


def test_the_docs_show_the_version_edgeperf_prints():
    assert help_text(["--version"], width=80).strip() == f"edgeperf {__version__}"
    spec = importlib.util.spec_from_file_location("edgeperf_version", ROOT / "docs" / "hooks" / "edgeperf_version.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert hook.version() == __version__


def test_the_commands_page_lists_every_command_with_its_summary():
    page = (ROOT / "docs" / "guide" / "commands.md").read_text()
    for name, cmd in commands().items():
        assert f"| [`{name}`](../reference/cli/{name}.md) | {summary(cmd)} |" in page, name
