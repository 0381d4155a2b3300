"""The typer app and the single error boundary: an EdgeperfError becomes one line on stderr and the exit code
DESIGN.md gives it (1 verdict failed, 2 bad input, 3 missing dependency or hardware); any other exception is
a bug and keeps its traceback."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from edgeperf import __version__
from edgeperf.cli import demo, devices, export, link, measure, profile, serve, validate
from edgeperf.errors import EdgeperfError

app = typer.Typer(
    name="edgeperf",
    help="Export, profile and validate robot-learning policies on the computer they will run on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edgeperf {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Export, profile and validate robot-learning policies on the computer they will run on.

    Exit codes: 0 success, 1 a verdict failed, 2 bad input, 3 missing dependency or hardware.
    """


app.command("export")(export.export)
app.command("profile")(profile.profile)
app.command("validate")(validate.validate)
app.command("devices")(devices.devices)
app.command("measure", context_settings=measure.CONTEXT)(measure.measure)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("link")(link.link)


def main(argv: list[str] | None = None) -> int:
    from typer._click import exceptions as click_exc

    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="edgeperf", standalone_mode=False)
    except click_exc.NoArgsIsHelpError as exc:
        typer.echo(exc.format_message())
        return 0
    except click_exc.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _error(f"{exc.format_message()}{hint}")
        return 2
    except click_exc.ClickException as exc:
        _error(exc.format_message())
        return exc.exit_code
    except EdgeperfError as exc:
        _error(str(exc))
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _error("interrupted")
        return 130
    return rv if isinstance(rv, int) else 0


def _error(message: str) -> None:
    # One line: a user's mistake never prints a traceback.
    sys.stderr.write(f"edgeperf: error: {' '.join(message.split())}\n")


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
