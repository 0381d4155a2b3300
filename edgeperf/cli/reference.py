"""The CLI reference (docs/reference/cli.md), generated from the typer app itself: every command, its help, and
every option with its type, default and help. `python -m edgeperf.cli.reference > docs/reference/cli.md`
writes it; tests/cli/test_reference.py fails when the committed file and the app disagree (a command or option
added, renamed or left without help), so the reference cannot rot."""

from __future__ import annotations

import inspect

HEADER = """# Command reference

Generated from `edgeperf --help` by `python -m edgeperf.cli.reference` (do not edit by hand: a test compares this
page with the commands). Exit codes, for every command: 0 success, 1 a verdict failed, 2 bad input, 3 a missing
dependency or hardware, 130 and 143 interrupted (SIGINT, SIGTERM), 141 stdout closed by its reader.
"""


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


# typer carries its own copy of click: parameters are told apart by click's own attribute, not by class
def _is_option(p) -> bool:
    return getattr(p, "param_type_name", "") == "option"


def _kind(p) -> str:
    if _is_option(p) and p.is_flag:
        return "flag"
    metavar = getattr(p, "metavar", None)
    if metavar:
        return metavar
    t = p.type
    if getattr(t, "choices", None):
        return " \\| ".join(map(str, t.choices))
    return {"integer": "INT", "float": "FLOAT", "text": "TEXT", "path": "PATH", "boolean": "BOOL"}.get(
        t.name, t.name.upper()
    )


def _default(p) -> str:
    if p.required:
        return "required"
    d = p.default
    if d is None or (_is_option(p) and p.is_flag and d is False) or callable(d):
        return ""
    if isinstance(d, (list, tuple)):
        return ", ".join(map(str, d)) if d else ""
    return f"`{d}`"


def _usage(p) -> str:
    """An argument as --help's usage line shows it: its metavar or NAME, [in brackets] when optional."""
    text = p.metavar or p.name.upper() + ("..." if p.nargs == -1 else "")
    return text if p.required or text.startswith("[") else f"[{text}]"


def command_page(name: str, cmd) -> str:
    args = [p for p in cmd.params if getattr(p, "param_type_name", "") == "argument"]
    opts = [p for p in cmd.params if _is_option(p) and not p.hidden]
    usage = " ".join(_usage(p) for p in args)
    lines = [f"## edgeperf {name}", "", f"`edgeperf {name} [OPTIONS] {usage}`".replace(" `", "`"), ""]
    lines += [inspect.cleandoc(cmd.help or ""), ""]
    if args:
        lines += ["| argument | help |", "|---|---|"]
        lines += [f"| `{_usage(p)}` | {_cell(getattr(p, 'help', '') or '')} |" for p in args]
        lines.append("")
    if opts:
        lines += ["| option | value | default | help |", "|---|---|---|---|"]
        for p in opts:
            names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
            lines.append(f"| {names} | {_cell(_kind(p))} | {_cell(_default(p))} | {_cell(p.help or '')} |")
        lines.append("")
    if cmd.epilog:  # the examples --help ends with
        lines += [cmd.epilog, ""]
    return "\n".join(lines)


def commands() -> dict:
    import typer

    from edgeperf.cli.app import app

    group = typer.main.get_command(app)
    return dict(sorted(group.commands.items()))


def cli_reference() -> str:
    return HEADER + "\n" + "\n".join(command_page(n, c) for n, c in commands().items())


if __name__ == "__main__":
    print(cli_reference(), end="")
