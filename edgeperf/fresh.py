"""A profile in a fresh Python process, as on a robot: a process that has loaded torch (an export, say) would
otherwise measure a larger memory. Both sides are here.

The parent starts `python -m edgeperf.fresh FD`, writes the request on its stdin (the model, the ProfileConfig's
fields, where the timings go) and reads one answer on a pipe of its own (FD in the child): the report, or the
typed error the profile raised (its class, message and exit code). Nothing else writes on that pipe, so what a
library prints (on stdout or stderr, kept for the line a crash leaves) cannot corrupt the answer. No CLI runs in
between: the config crosses as itself, not as rebuilt flags, and an error crosses as itself, not as a line read
back from stderr.

The child dies with its parent (PR_SET_PDEATHSIG), starts its own guard (edgeperf.processes: the --stress
co-runners it starts end with it even when it is killed), and turns SIGTERM into an exit that runs every cleanup.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from edgeperf import errors, processes
from edgeperf.config.profile import ProfileConfig
from edgeperf.errors import EdgeperfError
from edgeperf.exporter.sources import open_policy
from edgeperf.processes import die_with_parent
from edgeperf.profilers.run import run_profile
from edgeperf.results.report import Report

WHAT = "the profile in a fresh process"
# Exit codes of a child that sent no answer: interrupted (SIGINT, SIGTERM).
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


def profile(model: str | Path, cfg: ProfileConfig, *, csv: str | Path | None = None) -> Report:
    """Profile `model` as `cfg` says in a fresh interpreter; its error, if any, is raised here as itself.
    csv: where the run's raw per-inference timings go (`profile --csv`)."""

    request = {"model": str(model), "config": cfg.fields(), "csv": None if csv is None else str(csv)}
    read, write = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgeperf.fresh", str(write)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # its chatter, for the one line a crash leaves
            pass_fds=(write,),
            preexec_fn=die_with_parent(),
        )
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    answer: list[bytes] = []
    reader = threading.Thread(target=lambda: answer.append(_read_all(read)), daemon=True)
    reader.start()
    try:
        said, _ = proc.communicate(json.dumps(request).encode())
        reader.join()
    finally:
        if proc.poll() is None:  # an interrupt here: the child must not outlive the call
            proc.kill()
            proc.wait()
        reader.join(5)
        os.close(read)
    return _answer(proc.returncode, b"".join(answer), said.decode(errors="replace"))


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(code: int, out: bytes, stderr: str) -> Report:
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):  # it died before answering (a crash, a signal): all there is, is stderr
        if code in (EXIT_SIGINT, -signal.SIGINT):
            raise KeyboardInterrupt
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        said = lines[-1] if lines else f"exit code {code}"
        raise EdgeperfError(f"{WHAT} failed: {said}")
    if "error" in answer:
        raise error_from(answer["error"])
    return Report.from_dict(answer["report"], source=WHAT)


def error_to(exc: EdgeperfError) -> dict:
    """An edgeperf error as the child sends it."""
    return {"class": type(exc).__name__, "message": str(exc), "exit_code": exc.exit_code}


def error_from(d: dict) -> EdgeperfError:
    """The child's error, as its own class (a class this edgeperf does not know: EdgeperfError with its code)."""
    cls = getattr(errors, str(d.get("class")), None)
    if not (isinstance(cls, type) and issubclass(cls, EdgeperfError)):
        cls = EdgeperfError
    message = f"{WHAT} failed: {d.get('message')}"
    exc = EdgeperfError.__new__(cls)  # DependencyMissing's constructor builds its message: bypass it
    Exception.__init__(exc, message)
    exc.exit_code = int(d.get("exit_code", cls.exit_code))
    return exc


def _child(fd: int) -> int:
    os.set_inheritable(fd, False)  # a co-runner holding it would keep the parent waiting for its end
    answer = os.fdopen(fd, "w", encoding="utf-8")

    processes.guard()

    def on_term(signum, frame):
        raise SystemExit(EXIT_SIGTERM)  # every `finally` runs: co-runners stopped, a half-written CSV removed

    signal.signal(signal.SIGTERM, on_term)
    try:
        request = json.loads(sys.stdin.read())

        cfg = ProfileConfig.from_fields(request["config"])
        done = run_profile(request["model"], cfg, opener=open_policy, csv=request["csv"])
        text = '{"report": ' + done.report.to_json() + "}"
    except EdgeperfError as exc:
        text = json.dumps({"error": error_to(exc)})
    except OSError as exc:  # what the CLI's boundary says in one line (exit 2), said the same way
        what = exc.filename if exc.filename is not None else type(exc).__name__
        text = json.dumps({"error": error_to(errors.BadInput(f"{what}: {exc.strerror or exc}"))})
    except KeyboardInterrupt:
        return EXIT_SIGINT
    answer.write(text)
    answer.close()
    return 0


if __name__ == "__main__":
    sys.exit(_child(int(sys.argv[1])))
