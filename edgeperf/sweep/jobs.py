"""One sweep job, run where the executor puts it (a pool worker, a Ray worker on any node): it calls the library
as the command of its kind would and returns its report as JSON text, so the driver records it (a Ray node need
not share the driver's disk). Export artifacts are written under the sweep's output folder, which a multi-node
cluster must therefore share."""

from __future__ import annotations

import importlib
import math
import os
import socket
import sys
import time
import traceback
from pathlib import Path

from edgeperf.analysis import curves
from edgeperf.analysis.reliability import parameters, reliability
from edgeperf.devices.detect import host_summary
from edgeperf.errors import EdgeperfError
from edgeperf.exporter.onnx import export
from edgeperf.pipeline import profile, validate
from edgeperf.results import figures
from edgeperf.results.kinds import Paired
from edgeperf.results.report import Report


def run(kind: str, params: dict, job_id: str, output: str) -> dict:
    """{id, ok, report (JSON text) or error, exit_code, summary, wall_s, node, pid}."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t0 = time.perf_counter()
    out = {"id": job_id, "node": socket.gethostname(), "pid": os.getpid()}
    try:
        report = runner(kind)(dict(params), job_id, Path(output))
    except EdgeperfError as exc:
        out.update(ok=False, error=" ".join(str(exc).split()), exit_code=exc.exit_code)
    except Exception as exc:  # a bug in a job must not end the sweep: recorded, with its traceback
        out.update(ok=False, error=f"{type(exc).__name__}: {exc}", exit_code=None, traceback=traceback.format_exc())
    else:
        out.update(ok=True, report=report.to_json(), summary=summary(kind, report.to_dict()), exit_code=0)
    out["wall_s"] = time.perf_counter() - t0
    ray = sys.modules.get("ray")  # in a Ray worker: which node ran it (hostnames repeat on one machine)
    if ray is not None and ray.is_initialized():
        out["ray_node"] = ray.get_runtime_context().get_node_id()
    return out


def runner(kind: str):
    """The function that runs a job of `kind`: (params, job id, output folder) -> Report."""
    if kind in RUNNERS:
        return RUNNERS[kind]
    module, _, name = ENTRY_POINTS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def _validate(p: dict, job_id: str, output: Path):
    latency = p.pop("latency_ms", 0) or None  # 0 ms: no delay in the loop
    return validate(
        p.pop("model"),
        p.pop("domain"),
        latency=latency,
        workers=1,
        seed=p.pop("seed", 0),
        episodes=p.pop("episodes", 20),
        **p,
    )


def _profile(p: dict, job_id: str, output: Path):
    if "idle_s" in p:
        p["idle_s"] = float(p["idle_s"])
    return profile(p.pop("model"), device=p.pop("device", "auto"), **p)


def _export(p: dict, job_id: str, output: Path):
    artifacts = output / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    return export(p.pop("source"), artifacts / f"{job_id}.onnx", precision=p.pop("precision", "fp32"), **p)


def _reliability(p: dict, job_id: str, output: Path):
    tag, fmt = p.get("tag"), p.get("format", "auto")
    align = p.get("align")
    results, unmeasured, warnings = reliability([curves.read(r, fmt, tag) for r in p["runs"]], align=align)
    return Report.new(
        "reliability",
        host_summary(),
        results=results,
        unmeasured=unmeasured,
        warnings=warnings,
        config={
            "group": p["group"],
            "runs": p["runs"],
            "tag": tag,
            "format": fmt,
            "align": align,
            "parameters": parameters(),
        },
    )


RUNNERS = {
    "validate": _validate,
    "profile": _profile,
    "export": _export,
    "reliability": _reliability,
}
# Kinds a command above sweep defines, by "module:function" (called as the runners above), imported where the job
# runs: `edgeperf plan`'s steps (export, profile, validate a candidate) are sweep jobs, and sweep depends on no plan.
ENTRY_POINTS = {"plan": "edgeperf.planner.steps:run_job"}


def summary(kind: str, d: dict) -> str:
    """A few words for the progress line."""
    doc = figures.document(d)
    r = doc.results
    if kind == "validate":
        paired = r.paired or Paired()
        diff = paired.mean_return_difference
        return f"{paired.verdict} (return diff {math.nan if diff is None else diff:+.3f})"
    if kind == "profile":
        p99 = figures.walk(r, "latency_us", "p99")
        return f"p99 {p99:.1f} us" if p99 is not None else "no latency"
    if kind == "plan":
        return f"plan step: {doc.schema}"
    if kind == "export":
        return f"parity {'passed' if figures.walk(r, 'parity', 'passed') else 'FAILED'}"
    risk = figures.walk(r, "across_runs", "risk_across_runs")
    return f"{figures.walk(r, 'n_runs')} runs, risk across runs " + (
        f"{risk:.4g}" if risk is not None else "not computed"
    )
