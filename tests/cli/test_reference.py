"""The CLI reference (docs/reference/cli.md) is the app's own: regenerated here and compared with the committed
page, so a command or option added, renamed or removed without `python -m edgeperf.cli.reference >
docs/reference/cli.md` fails; every command has a summary and every option and argument its help."""

from pathlib import Path

from edgeperf.cli.reference import cli_reference, commands

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "cli.md"


def test_the_committed_reference_is_the_apps():
    assert PAGE.read_text() == cli_reference(), (
        "docs/reference/cli.md is out of date: run `python -m edgeperf.cli.reference > docs/reference/cli.md`"
    )


def test_every_command_and_option_is_documented():
    undocumented = []
    for name, cmd in commands().items():
        if not (cmd.help or "").strip():
            undocumented.append(name)
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option" and not p.hidden and not (p.help or "").strip():
                undocumented.append(f"{name} {p.opts[0]}")
            if getattr(p, "param_type_name", "") == "argument" and not (getattr(p, "help", "") or "").strip():
                undocumented.append(f"{name} {p.name}")
    assert not undocumented, undocumented


def test_the_page_lists_every_option_of_every_command():
    page = PAGE.read_text()
    for name, cmd in commands().items():
        assert f"## edgeperf {name}\n" in page
        section = page.split(f"## edgeperf {name}\n", 1)[1].split("\n## edgeperf ", 1)[0]
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option" and not p.hidden:
                assert f"`{p.opts[0]}`" in section, (name, p.opts[0])
