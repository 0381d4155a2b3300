"""Ctrl-C of a real `edgeperf plan` in the middle of its steps: exit 130 and one line, no process of it left,
every finished step on disk whole, and the rerun with the same arguments reuses them and completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil

from tests.processes import alive

GRID = "precisions=fp32,int8 backends=onnxruntime threads=1"


def _descendants(proc: psutil.Process) -> dict:
    try:
        return {(p.pid, p.create_time()): p for p in proc.children(recursive=True)}
    except psutil.Error:
        return {}


def test_ctrl_c_leaves_a_resumable_plan_and_nothing_running(tmp_path):
    out = tmp_path / "plan"
    args = [sys.executable, "-m", "edgeperf", "plan", "reference:quadruped/trot", "--domain", "quadruped/trot",
            "-o", str(out), "--candidates", GRID, "--episodes", "2", "--duration", "1", "--no-store"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    me = psutil.Process(proc.pid)
    seen: dict = {}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        seen |= _descendants(me)
        if len(list((out / "steps").glob("*.json"))) >= 2:  # exports done, a profile or validation under way
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    seen |= _descendants(me)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("edgeperf: ")
    time.sleep(2)
    left = alive(seen.values())  # is_running() also checks the create time: a reused pid is not ours
    assert not left, left
    done = sorted(p.name for p in (out / "steps").glob("*.json"))
    for p in (out / "steps").glob("*.json"):
        json.loads(p.read_text())  # whole, not half-written
    assert not [p for p in (out / "steps").iterdir() if not p.name.endswith(".json")]  # no temp files
    r = subprocess.run(args, capture_output=True, text=True, timeout=600, env={**os.environ})
    assert r.returncode in (0, 1), r.stderr
    plan = json.loads((out / "plan.json").read_text())
    assert plan["decision"]["candidates"]
    assert set(done) <= {p.name for p in (out / "steps").glob("*.json")}  # the finished steps were kept
