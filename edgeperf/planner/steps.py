"""A plan's steps as sweep jobs (kind "plan", edgeperf/sweep/jobs.py runs them through `run_job`): export an
artifact, profile a candidate, validate a candidate. Each runs wherever the executor puts it (a pool worker, a Ray
worker) and returns its report; the driver writes it to PLAN/steps/<job id>.json the moment it ends, so a plan
that is stopped resumes where it stopped. A job's id is the hash of its parameters, which name what it depends on
(the artifact's sha256, the profile's run id): a step whose input changed is redone, never reused.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgeperf.artifact import existing_files, is_pseudo
from edgeperf.errors import BadInput
from edgeperf.exporter.onnx import export
from edgeperf.pipeline import profile, validate
from edgeperf.planner.candidates import SUFFIX, Candidate
from edgeperf.results.io import read_document
from edgeperf.results.kinds import Document
from edgeperf.results.report import MAX_REPORT_BYTES, Report, sha256_file
from edgeperf.sweep.config import Job
from edgeperf.sweep.run import keep
from edgeperf.validation.latency import LatencyModel

KIND = "plan"
STEPS = "steps"
ARTIFACTS = "artifacts"


def job(params: dict):
    return Job(KIND, params)


def artifact_path(plan_dir: Path, artifact_id: str, fmt: str) -> Path:
    return plan_dir / ARTIFACTS / f"{artifact_id}{SUFFIX[fmt]}"


def source_digest(source: str) -> str | None:
    """The sha256 of a policy file and its companions (None for a pseudo source such as reference:): in the export
    and validate steps' ids, so a policy retrained in place is exported and validated again, never reused."""

    if is_pseudo(source) or not Path(source).is_file():
        return None
    return ",".join(sha256_file(f) for f in existing_files(source))


def export_job(plan_dir: Path, source: str, domain: str, c: Candidate, seed: int, source_sha256: str | None = None):
    return job(
        {
            "step": "export",
            "artifact": c.artifact_id,
            "source": source,
            "source_sha256": source_sha256,
            "domain": domain,
            "precision": c.precision,
            "format": c.format,
            "out": str(artifact_path(plan_dir, c.artifact_id, c.format)),
            "seed": seed,
        }
    )


def profile_job(c: Candidate, model: str, sha256: str, *, rate: float, domain: str, duration: float, **extra):
    return job(
        {
            "step": "profile",
            "candidate": c.id,
            "model": model,
            "sha256": sha256,
            "backend": c.backend,
            "threads": c.threads,
            "rate": rate,
            "observations": f"domain:{domain}",
            "duration": duration,
            "iterations": max(1, int(duration * rate)),
            **{k: v for k, v in extra.items() if v is not None},
        }
    )


def validate_job(c: Candidate, model: str, profile_file: str, profile_run: str, **params):
    return job(
        {
            "step": "validate",
            "candidate": c.id,
            "model": model,
            "profile": profile_file,
            "profile_run": profile_run,
            **params,
        }
    )


# -- in the worker ------------------------------------------------------------------------------------------------


def run_job(p: dict, job_id: str, output: Path) -> Report:
    """The sweep runner of kind "plan": one step, called as the command of its kind would be."""
    step = p.pop("step")
    if step == "export":
        out = Path(p["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        return export(
            p["source"], out, format=p["format"], precision=p["precision"], domain=p["domain"], seed=p["seed"]
        )
    if step == "profile":
        for k in ("candidate", "sha256"):
            p.pop(k)
        host = p.pop("host", None)
        # In a fresh process (as on the robot: a worker that loaded torch would measure it), or on --host.
        return profile(p.pop("model"), isolate=host is None, host=host, power=p.pop("power", "any"), **p)
    if step == "validate":
        latency = LatencyModel.from_profile(p["profile"])  # its own measured distribution, sampled per step
        return validate(
            p["model"],
            p["domain"],
            reference=p["reference"],
            latency=latency,
            episodes=p["episodes"],
            seed=p["seed"],
            workers=p.get("workers", 1),
        )
    raise BadInput(f"unknown plan step {step!r}")


# -- on the driver ------------------------------------------------------------------------------------------------


def step_path(plan_dir: Path, job_id: str) -> Path:
    return plan_dir / STEPS / f"{job_id}.json"


def load_done(plan_dir: Path, j) -> dict | None:
    """The step's report when it is on disk, whole and this job's (a torn or foreign file is redone)."""
    path = step_path(plan_dir, j.id)
    if not path.exists():
        return None
    try:
        d = read_document(path, "plan step report", max_bytes=MAX_REPORT_BYTES)
        Report.from_dict(d)
    except BadInput:
        return None
    config = Document.from_dict(d).config
    if config is None or config.at("plan_step") != j.id:
        return None
    if j.params["step"] == "export" and not Path(j.params["out"]).is_file():
        return None
    return d


def record(plan_dir: Path, j, report_json: str, store=None) -> dict:
    """Write a finished step's report (atomically) and record it in the run store (source "plan")."""
    d = json.loads(report_json)
    d.setdefault("config", {})["plan_step"] = j.id
    path = step_path(plan_dir, j.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    keep(path, d, store, source="plan", what=f"plan step {j.id}")
    return d


def run_steps(plan_dir: Path, todo: list, executor, store=None, *, alone: bool = False, on_step=None) -> dict:
    """Run the jobs not yet done; {job id: report dict, or {"error": ...}}. `alone`: one job at a time (profiles:
    a latency measured beside another job is not the device's)."""
    results: dict = {}
    pending = []
    for j in todo:
        d = load_done(plan_dir, j)
        if d is not None:
            results[j.id] = d
            if on_step:
                on_step(j, d, True)
        else:
            pending.append(j)
    batches = [[j] for j in pending] if alone else ([pending] if pending else [])
    by_id = {j.id: j for j in pending}
    for batch in batches:
        for r in executor.run(batch, str(plan_dir)):
            j = by_id[r["id"]]
            if r.get("ok"):
                results[j.id] = record(plan_dir, j, r["report"], store)
            else:
                results[j.id] = {"error": r.get("error", "unknown"), "exit_code": r.get("exit_code")}
            if on_step:
                on_step(j, results[j.id], False)
    return results
