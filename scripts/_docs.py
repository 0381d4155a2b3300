"""The benchmark pages are written by the benchmarks: `python scripts/bench_X.py ... --write-docs` runs the script
as usual and then replaces the block between `<!-- bench:X:start -->` and `<!-- bench:X:end -->` in its page
(the script's DOCS_PAGE, under docs/) with the run's date, the machine it ran on (edgeperf's own host
description, the one every report carries), the exact command and the script's output verbatim.

A script opts in with two lines:

    DOCS_PAGE = "benchmarks/cli-startup.md"
    ...
    if __name__ == "__main__":
        _docs.run(main, DOCS_PAGE)

`--write-docs` is taken out of the arguments before the script's own parser sees them, so every script keeps its
arguments. The output is what the script writes to file descriptor 1 (its children's included), so a figure in
the page is the figure printed; nothing is written when the script fails. tests/docs/test_bench_pages.py checks
that every script that declares a page has its block there."""

from __future__ import annotations

import datetime
import os
import shlex
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from edgeperf.results.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
FLAG = "--write-docs"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def block_name(script: str | Path) -> str:
    """bench_cli_startup.py -> cli_startup: the X of the script's markers."""
    return Path(script).stem.removeprefix("bench_")


def replace_block(text: str, name: str, body: str) -> str:
    """`text` with what lies between bench:`name`'s markers replaced by `body`; everything else is kept byte for
    byte. A page without exactly one start marker followed by one end marker is refused (ValueError), so a run
    never appends a second copy or eats the text between two blocks."""
    start, end = markers(name)
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"the page needs exactly one {start} followed by one {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n\n{body.strip(chr(10))}\n\n{end}{tail}"


def machine(host: dict | None = None) -> str:
    """One line: CPU model, cores, memory, OS, GPUs, the 1-minute load and the versions that matter."""
    if host is None:
        from edgeperf.devices.detect import host_summary

        host = host_summary()
    cores = f"{host.get('logical_cores')} cores"
    if host.get("physical_cores") and host.get("physical_cores") != host.get("logical_cores"):
        cores += f" ({host['physical_cores']} physical)"
    parts = [host.get("cpu") or "unknown CPU", cores]
    if host.get("memory_bytes"):
        parts.append(f"{host['memory_bytes'] / 2**30:.0f} GiB")
    parts.append(" ".join(str(host[k]) for k in ("os", "kernel", "arch") if host.get(k)))
    if host.get("gpus"):
        parts.append("GPU " + ", ".join(host["gpus"]))
    jetson = host.get("jetson")
    if isinstance(jetson, dict) and jetson.get("model"):
        parts.append(str(jetson["model"]))
    versions = ", ".join(f"{k} {v}" for k, v in (host.get("versions") or {}).items() if v)
    return ", ".join(parts) + (f"; {versions}" if versions else "")


def command(script: str | Path, args: list[str]) -> str:
    """The command line that reproduces the run, from the repository root."""
    python = Path(sys.executable)
    try:
        exe = str(python.relative_to(ROOT))
    except ValueError:
        exe = "python"
    try:
        path = str(Path(script).resolve().relative_to(ROOT))
    except ValueError:
        path = str(script)
    env = []
    if os.environ.get("PYTHONPATH"):  # some scripts import tests/ or scripts/ helpers through it
        parts = [("." if Path(x).resolve() == ROOT else x) for x in os.environ["PYTHONPATH"].split(os.pathsep) if x]
        env = [f"PYTHONPATH={os.pathsep.join(parts)}"]
    return " ".join([*env, shlex.join([exe, path, *args])])


def block(*, when: datetime.datetime, host: str, cmd: str, load: float | None, output: str, markdown: bool) -> str:
    load_text = f", 1-minute load {load:.1f}" if load is not None else ""
    head = f"*Run {when:%Y-%m-%d %H:%M} UTC on {host}{load_text}:* `{cmd}`"
    out = output.rstrip("\n")
    # a script that prints Markdown (its tables) is shown rendered; anything else as it printed it
    return f"{head}\n\n{out}" if markdown else f"{head}\n\n```text\n{out}\n```"


def write(page: Path, name: str, body: str) -> None:
    atomic_write_text(page, replace_block(page.read_text(), name, body))  # a killed run leaves the page whole


class _Tee:
    """Copies what is written to file descriptor 1 (this process's and its children's) into a buffer, still
    passing it through to the terminal."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def __enter__(self):
        sys.stdout.flush()
        self.saved = os.dup(1)
        r, w = os.pipe()
        os.dup2(w, 1)
        os.close(w)
        self.thread = threading.Thread(target=self._pump, args=(r,), daemon=True)
        self.thread.start()
        return self

    def _pump(self, r: int) -> None:
        while data := os.read(r, 65536):
            self.chunks.append(data)
            os.write(self.saved, data)
        os.close(r)

    def __exit__(self, *exc):
        sys.stdout.flush()
        os.dup2(self.saved, 1)  # the pipe's last writer in this process is gone: the pump sees its end
        self.thread.join(timeout=5)  # a child left running with our stdout keeps it open: do not wait for it
        os.close(self.saved)

    @property
    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")


def run(main: Callable[[], object], page: str, *, markdown: bool = False) -> object:
    """Run the script's `main()` and return what it returns (an exit code for some); with --write-docs, then write
    its block into docs/`page`, unless it failed."""
    script = sys.argv[0]
    args = [a for a in sys.argv[1:] if a != FLAG]
    wanted = len(args) != len(sys.argv) - 1
    sys.argv[1:] = args
    target = ROOT / "docs" / page
    if not wanted:
        try:
            return main()
        except SystemExit as exc:
            if exc.code in (0, None) and {"-h", "--help"} & set(args):
                print(f"\n{FLAG}: then write this run (date, machine, command, output) into docs/{page}")
            raise
    name = block_name(script)
    replace_block(target.read_text(), name, "")  # a page without its block fails now, not after a long run
    when = datetime.datetime.now(datetime.UTC)
    load = os.getloadavg()[0]  # before the run: what else was loading the machine, not the benchmark itself
    with _Tee() as tee:
        result = main()
    if result not in (0, None):
        return result
    body = block(when=when, host=machine(), cmd=command(script, args), load=load, output=tee.text, markdown=markdown)
    write(target, name, body)
    print(f"wrote the {name} block of docs/{page}", file=sys.stderr)
    return result
