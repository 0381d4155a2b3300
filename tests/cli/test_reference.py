"""The CLI reference (docs/reference/cli/) is the app's own: regenerated here and compared with the committed pages,
so a command or option added, renamed or removed without `python -m edgeperf.cli.reference` fails, and so does the
page of a command that is gone; every command has a summary, every option and argument its help, a line in the
site's nav, and exit codes that match what its module raises."""

import inspect

from edgeperf.cli import reference
from edgeperf.cli.reference import EXIT_MISSING, EXIT_VERDICT, FOLDER, commands, pages, write

REGENERATE = "run `python -m edgeperf.cli.reference`"


def test_every_committed_page_is_the_apps():
    stale = [
        name for name, text in pages().items() if not (FOLDER / name).is_file() or (FOLDER / name).read_text() != text
    ]
    assert not stale, f"docs/reference/cli/ pages out of date: {stale}; {REGENERATE}"


def test_no_page_is_left_from_a_command_that_is_gone():
    leftover = sorted({p.name for p in FOLDER.glob("*.md")} - set(pages()))
    assert not leftover, f"docs/reference/cli/ has pages of no command: {leftover}; {REGENERATE}"


def test_the_writer_rewrites_stale_pages_and_removes_leftovers(tmp_path):
    write(tmp_path)
    (tmp_path / "export.md").write_text("# edgeperf export\n\nan old page\n")
    (tmp_path / "gone.md").write_text("# edgeperf gone\n")
    (tmp_path / "notes.txt").write_text("not a page")  # only the folder's pages are the writer's
    write(tmp_path)
    assert {p.name for p in tmp_path.glob("*.md")} == set(pages())
    assert (tmp_path / "export.md").read_text() == pages()["export.md"]
    assert (tmp_path / "notes.txt").is_file()


def test_every_command_is_in_the_index_and_the_nav():
    index = pages()["index.md"]
    nav = (FOLDER.parents[2] / "mkdocs.yml").read_text()
    for name, cmd in commands().items():
        assert f"| [`{name}`]({name}.md) | {reference.summary(cmd)} |" in index, name
        assert f"- reference/cli/{name}.md\n" in nav, f"mkdocs.yml's nav lacks reference/cli/{name}.md"


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


def test_each_page_lists_every_option_and_the_exit_codes():
    for name, cmd in commands().items():
        page = pages()[f"{name}.md"]
        assert f"\n# edgeperf {name}\n" in page
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option" and not p.hidden:
                assert f"`{p.opts[0]}`" in page, (name, p.opts[0])
        codes = page.split("## Exit codes\n", 1)[1].split("\n## ", 1)[0]
        for code in (0, 2, 130):
            assert f"\n| {code} | " in codes, (name, code)
        assert ("\n| 1 | " in codes) == (name in EXIT_VERDICT), name
        assert ("\n| 3 | " in codes) == (name in EXIT_MISSING), name


def test_the_commands_that_exit_1_are_those_whose_module_raises_a_verdict():
    """EXIT_VERDICT is kept by hand: a command module that starts (or stops) failing a verdict must say so there."""
    from edgeperf.cli.app import app

    raising = set()
    for info in app.registered_commands:
        source = inspect.getsource(inspect.getmodule(info.callback))
        if "VerdictFailed(" in source or "verdict.check(" in source:
            raising.add(info.name)
    assert raising == set(EXIT_VERDICT)
    assert set(EXIT_MISSING) <= set(commands()), "EXIT_MISSING names a command that does not exist"
