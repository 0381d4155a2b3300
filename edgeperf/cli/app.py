"""The typer app and the single error boundary: an EdgeperfError becomes one line on stderr and the exit code
docs/concepts/pipeline.md gives it (1 verdict failed, 2 bad input, 3 missing dependency or hardware); an OSError that
no command caught becomes one line and exit 2; SIGINT and SIGTERM print `edgeperf: interrupted` and exit 130 and
143 after every cleanup ran; a broken stdout pipe ends quietly with 141. Any other exception is a bug and keeps
its traceback."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Annotated

import typer

from edgeperf import __version__
from edgeperf.cli import (
    check,
    compare,
    demo,
    devices,
    doctor,
    examples,
    export,
    generalize,
    hil,
    history,
    link,
    measure,
    plan,
    profile,
    reliability,
    report,
    serve,
    sim2sim,
    sweep,
    validate,
)
from edgeperf.cli.common import close_stores
from edgeperf.errors import EdgeperfError

app = typer.Typer(
    name="edgeperf",
    help="Export, profile and validate robot-learning policies on the computer they will run on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # help as markdown: a paragraph wraps to the terminal instead of keeping the docstring's line breaks
    rich_markup_mode="markdown",
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

    Exit codes: 0 success, 1 a verdict failed, 2 bad input, 3 missing dependency or hardware; 130 and 143
    interrupted (SIGINT, SIGTERM), 141 stdout closed by its reader.
    """


app.command("export")(export.export)
app.command("profile")(profile.profile)
app.command("validate")(validate.validate)
app.command("sim2sim")(sim2sim.sim2sim)
app.command("doctor")(doctor.doctor)
app.command("devices")(devices.devices)
app.command("measure", context_settings=measure.CONTEXT)(measure.measure)
app.command("hil")(hil.hil)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("link")(link.link)
app.command("history")(history.history)
app.command("compare")(compare.compare)
app.command("check")(check.check)
app.command("reliability")(reliability.reliability)
app.command("generalize")(generalize.generalize)
app.command("sweep")(sweep.sweep)
app.command("report")(report.report)
app.command("plan")(plan.plan)
for _info in app.registered_commands:  # each command's examples close its --help
    _info.epilog = examples.epilog(_info.name)


# Exit codes beyond the documented 0-3 (docs/concepts/pipeline.md): the shell's own for SIGINT, SIGTERM, SIGPIPE.
EXIT_SIGINT, EXIT_SIGTERM, EXIT_BROKEN_PIPE = 130, 143, 141


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every `finally` (temp files, child processes) runs.

    A BaseException, like KeyboardInterrupt, so no `except Exception` swallows it."""


# The signal whose exception has not reached the boundary yet (None: none pending).
_PENDING: dict = {"signal": None}
# An exception a signal raised can be lost before it reaches the boundary: raised inside a finalizer (swallowed
# as "Exception ignored in"), or set while a C extension runs and cleared there. Then the signal is sent again,
# at most RESENDS times, RESEND_S apart, until the boundary has caught one.
RESENDS, RESEND_S = 3, 2.0


def _on_signal(signum, frame):
    if _PENDING["signal"] is None:
        _PENDING["signal"] = signum
        threading.Thread(target=_resend, args=(signum,), daemon=True).start()
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated


def _resend(signum: int) -> None:
    for _ in range(RESENDS):
        time.sleep(RESEND_S)
        if _PENDING["signal"] is None:
            return
        os.kill(os.getpid(), signum)


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)  # signal handlers belong to the main thread
    _PENDING["signal"] = None
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv)
    finally:
        close_stores()
        _PENDING["signal"] = None
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main(argv: list[str] | None) -> int:
    from typer._click import exceptions as click_exc

    from edgeperf.results.io import short_path

    command = typer.main.get_command(app)
    try:
        # make_context + invoke, not command.main: its handlers turn Ctrl-C into a silent 130 and a broken pipe
        # into exit 1, and this boundary says what happened instead.
        with command.make_context("edgeperf", sys.argv[1:] if argv is None else list(argv)) as ctx:
            rv = command.invoke(ctx)
    except typer.Exit as exc:  # --help, --version
        return exc.exit_code
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
        _PENDING["signal"] = None
        _say("interrupted")
        return EXIT_SIGINT
    except Terminated:
        _PENDING["signal"] = None
        _say("interrupted")
        return EXIT_SIGTERM
    except BrokenPipeError:
        # The reader of stdout went away (`| head -c1`): end quietly, as a command killed by SIGPIPE does.
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # ENAMETOOLONG, EACCES, ENOSPC, EROFS that no command turned into BadInput
        what = exc.filename if exc.filename is not None else type(exc).__name__
        _error(f"{short_path(what)}: {exc.strerror or exc}")
        return 2
    return rv if isinstance(rv, int) else 0


def _say(message: str) -> None:
    sys.stderr.write(f"edgeperf: {message}\n")


def _error(message: str) -> None:
    # One line: a user's mistake never prints a traceback.
    _say(f"error: {' '.join(message.split())}")


def run() -> None:
    from edgeperf import processes
    from edgeperf.results.io import protect_std_fds

    protect_std_fds()
    processes.guard()  # what edgeperf starts ends with it, even on a SIGKILL no handler sees
    try:
        code = main()
    except (KeyboardInterrupt, Terminated) as exc:  # a signal that landed while the boundary was answering one
        code = EXIT_SIGINT if isinstance(exc, KeyboardInterrupt) else EXIT_SIGTERM
    if code == EXIT_BROKEN_PIPE:
        # What is still buffered for the closed pipe goes to /dev/null, not into an error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if code == EXIT_SIGINT:
        # CPython marks a KeyboardInterrupt that passed through code run by PyRun_* (torch's exporter runs some)
        # as unhandled even after it was caught, and then ends the process by SIGINT instead of with this code.
        # Everything was cleaned up on the way here: leave at once.
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
