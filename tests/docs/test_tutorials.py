"""Every tutorial's commands, run as a reader runs them: the fenced shell blocks of docs/tutorials/*.md in order,
in a fresh folder beside the repository's fixtures, with the blocks titled as files written first (tests/docs/blocks.py
says how a page marks a block not run or its accepted exit codes). A long tutorial is `slow`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.blocks import Block, blocks, is_slow

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
PAGES = [p for p in TUTORIALS if p.name != "index.md"]
BLOCK_TIMEOUT_S = 600


def _params():
    for page in PAGES:
        marks = [pytest.mark.slow, pytest.mark.timeout(1800)] if is_slow(page.read_text()) else []
        yield pytest.param(page, id=page.stem, marks=marks)


def run_block(block: Block, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """Run a shell block with bash -eo pipefail in its own process group; the group (a server or controller the
    block started in the background included) is killed when the block ends or times out."""
    proc = subprocess.Popen(
        ["bash", "-eo", "pipefail", "-c", block.text],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return subprocess.CompletedProcess(proc.args, -9, out + f"\n(killed after {BLOCK_TIMEOUT_S} s)")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out)


def reader_env(tmp_path: Path) -> dict:
    """A reader's shell: the project's venv first on PATH (`source .venv/bin/activate`), a run store of its own."""
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["EDGEPERF_DB"] = str(tmp_path / "runs.db")
    env["VIRTUAL_ENV"] = str(Path(venv_bin).parent)
    env.pop("EDGEPERF_NO_STORE", None)
    return env


@pytest.mark.parametrize("page", list(_params()))
def test_tutorial_runs(page: Path, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    for folder in ("tests", "examples", "scripts"):  # the repository's files the tutorials name
        (work / folder).symlink_to(ROOT / folder)
    env = reader_env(tmp_path)
    page_blocks = blocks(page.read_text())
    ran = 0
    for block in page_blocks:
        if block.writes:
            (work / block.title).write_text(block.text)
        elif block.runs:
            result = run_block(block, work, env)
            assert result.returncode in block.exits, (
                f"{page.name} line {block.line}: exit {result.returncode}, expected {block.exits}\n"
                f"{block.text}\n--- output (last 4000 characters) ---\n{result.stdout[-4000:]}"
            )
            ran += 1
    assert ran, f"{page.name} has no command the test runs"


def test_every_tutorial_runs_something_and_says_why_it_does_not():
    assert PAGES, "no tutorials under docs/tutorials"
    for page in PAGES:
        found = blocks(page.read_text())
        assert any(b.runs for b in found), f"{page.name}: no shell block is run"
        for b in found:
            assert b.lang, f"{page.name} line {b.line}: a fenced block without a language"
            if b.not_run is not None:
                assert len(b.not_run) > 10, f"{page.name} line {b.line}: say why the block is not run"


SAMPLE = """# A page

```sh
echo run me
```

<!-- not-run: needs a Jetson on the network -->
```sh
edgeperf profile m.onnx --host user@robot
```

<!-- exit: 0 1 -->

```bash
false
```

<!-- not-run: stale marker -->
A paragraph in between: the marker above no longer applies.

```sh
echo runs too
```

```toml title="budget.toml"
[profile]
p99_us = 5
```

```python
print("shown only")
```
"""


def test_the_extraction_honours_the_markers():
    b = blocks(SAMPLE)
    assert [x.lang for x in b] == ["sh", "sh", "bash", "sh", "toml", "python"]
    assert b[0].runs and b[0].exits == (0,) and b[0].text == "echo run me\n"
    assert not b[1].runs and b[1].not_run == "needs a Jetson on the network"
    assert b[2].runs and b[2].exits == (0, 1)
    assert b[3].runs and b[3].not_run is None, "a marker applies only to the block right after it"
    assert b[4].writes and b[4].title == "budget.toml" and not b[4].runs
    assert not b[5].runs and not b[5].writes
    assert not is_slow(SAMPLE) and is_slow("<!-- tutorial: slow -->\n" + SAMPLE)
    with pytest.raises(ValueError, match="needs a reason"):
        blocks("<!-- not-run: -->\n```sh\nls\n```\n")
    with pytest.raises(ValueError, match="never closed"):
        blocks("```sh\nls\n")


def test_a_failing_command_fails_its_block(tmp_path):
    env = reader_env(tmp_path)
    ok, bad = blocks("```sh\ntrue\n```\n\n```sh\nfalse\necho not reached\n```\n")
    assert run_block(ok, tmp_path, env).returncode == 0
    result = run_block(bad, tmp_path, env)
    assert result.returncode == 1 and "not reached" not in result.stdout
    edgeperf = run_block(blocks("```sh\nedgeperf --version\n```\n")[0], tmp_path, env)
    assert edgeperf.returncode == 0 and edgeperf.stdout.startswith("edgeperf "), "the venv's edgeperf is on PATH"
