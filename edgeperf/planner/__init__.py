"""`edgeperf plan`: the cheapest deployment that still does the task, chosen with the target's own latency in the loop.

1. export every artifact the grid needs (precision x format), parity checked on the policy's own rollouts in the
   domain; an artifact that fails parity drops its candidates, saying why;
2. profile every candidate (artifact x backend x threads) on the target, one at a time, in a fresh process (or on
   --host over ssh), in a control loop at the domain's rate on the domain's observations, with --stress co-runners:
   p50/p99/p99.9, jitter, misses, RSS and energy per inference (a labelled estimate where there is no sensor);
3. validate every profiled candidate in the domain against the original, paired, with its own measured latency
   distribution in the loop (sampled from its profile's percentiles: validation/latency.py's LatencyModel);
4. decide (plan/decide.py) and 5. write the plan folder (plan/write.py).

Steps are sweep jobs (plan/steps.py) on a local pool or Ray; each finished step's report lies in PLAN/steps/ and
in the run store, so a plan stopped anywhere resumes where it stopped when run again with the same arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf.config.plan import PlanConfig
from edgeperf.errors import BadInput


@dataclass
class Plan:
    folder: Path
    doc: dict  # plan.json
    files: dict = field(default_factory=dict)  # name -> path

    @property
    def recommendation(self) -> dict | None:
        rid = self.doc["decision"]["recommendation"]
        return next((r for r in self.doc["decision"]["candidates"] if r["id"] == rid), None)

    def candidate(self, cid: str) -> dict:
        return next(r for r in self.doc["decision"]["candidates"] if r["id"] == cid)


def check_output(out: Path, source: str, artifacts: list[Path]) -> None:
    """The plan folder must not be or hold an input: refused before anything is written (results/io.check_paths
    for every file the plan writes)."""
    from edgeperf import artifact
    from edgeperf.planner.write import BUDGET, PAGE, PLAN_JSON, SIDECAR
    from edgeperf.results.io import check_paths, check_writable, short_path

    if out.exists() and not out.is_dir():
        raise BadInput(f"-o {short_path(out)} is a file; give a folder for the plan (it is created if missing)")
    src = None if artifact.is_pseudo(source) else Path(source)
    if src is not None and src.exists():
        inside = src.resolve() == out.resolve() or out.resolve() in src.resolve().parents
        if inside:
            raise BadInput(
                f"-o {short_path(out)} holds the input {short_path(src)}: the plan writes there and could destroy "
                "it; give another folder"
            )
    if not out.exists():
        check_writable(out)
        return
    outputs = {f"the plan's {n}": out / n for n in (PLAN_JSON, PAGE, BUDGET, SIDECAR)}
    outputs |= {f"the plan's policy{s}": out / f"policy{s}" for s in (".onnx", ".xml", ".engine")}
    outputs |= {f"the plan's {a.name}": a for a in artifacts if a.parent.exists()}
    check_paths(outputs, {"SOURCE": None if src is None else src})


def make_executor(executor, workers: int | None, address: str | None):
    if not isinstance(executor, str):
        return executor
    if executor == "local":
        from edgeperf.sweep.local import LocalPool

        return LocalPool(workers)
    if executor == "ray":
        from edgeperf.sweep.ray_cluster import RayCluster

        return RayCluster(address)
    raise BadInput(f"--executor {executor!r}: give local (a process pool here) or ray (a Ray cluster)")


def plan(
    source: str,
    out: str | Path,
    config: PlanConfig | None = None,
    *,
    store=None,
    on_step: Callable | None = None,
    **options,
) -> Plan:
    """Plan the deployment of `source` (any policy `export` reads; the original the candidates are validated
    against) as `config` says, or as `options` (PlanConfig's fields: domain, device, host, rate, budget, candidates,
    episodes, duration, stress, seed, executor, workers, address) say; writes the plan folder `out` and returns the
    Plan. Every option is checked before the first step. `store`: the run store the steps are recorded in;
    `on_step(job, report_or_error, reused)` after each step.

    Args:
        source: The original policy: any policy source `export` reads (`reference:quadruped/trot`, a .pt, a .zip).
        out: The plan folder to write (plan.json, plan.html, budget.toml, the recommended artifact).
        config: The whole plan as one `edgeperf.config.PlanConfig`; `options` then replace some of its fields.
        store (Store | None): An open `edgeperf.Store` the steps' reports are recorded in (and reused from), or None.
        on_step: Called as `on_step(job, report_or_error, reused)` after each step, for progress.
        **options (Any): PlanConfig's fields by name, as listed above (`domain` is required).

    Returns:
        The Plan: `doc` (plan.json's content, `doc["decision"]["recommendation"]`) and `files` by role.

    Raises:
        BadInput: A source, folder or option that cannot be used (exit code 2).
        DependencyMissing: A package a candidate or the domain needs is not installed (exit code 3).

    Examples:
        >>> import edgeperf
        >>> grid = "precisions=fp32 backends=onnxruntime threads=1"
        >>> done = edgeperf.plan(
        ...     "reference:quadruped/trot", "plan", domain="quadruped/trot", candidates=grid, episodes=2, duration=1.0
        ... )
        >>> done.doc["decision"]["recommendation"], sorted(done.files)
        ('fp32-onnxruntime-t1', ['artifact', 'budget', 'page', 'plan', 'sidecar'])
    """
    from edgeperf.domains import base
    from edgeperf.planner import candidates as cands
    from edgeperf.planner import steps as st
    from edgeperf.planner.decide import decide, typed
    from edgeperf.planner.write import SCHEMA, write

    cfg = PlanConfig.of(config, options)
    d = base.make(cfg.domain)
    cfg = cfg.replace(rate=float(cfg.rate if cfg.rate is not None else d.control_hz)).check()
    domain, device, host, rate, budget = cfg.domain, cfg.device, cfg.host, cfg.rate, cfg.budget
    episodes, duration, stress, seed = cfg.episodes, cfg.duration, cfg.stress, cfg.seed
    limits = cands.parse_budget(budget)
    tgt = cands.target(device, host)
    grid = cands.parse_grid(cfg.candidates, tgt)
    out = Path(out)
    artifacts = {c.artifact_id: st.artifact_path(out, c.artifact_id, c.format) for c in grid}
    check_output(out, source, list(artifacts.values()))
    runner = make_executor(cfg.executor, cfg.workers, cfg.address)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create the plan folder {out}: {exc.strerror or exc}") from None
    root = out.resolve()

    try:
        per = _run_steps(root, grid, source, cfg, runner, store, on_step)
        described = runner.describe() if hasattr(runner, "describe") else {"executor": type(runner).__name__}
    finally:
        if hasattr(runner, "close"):
            runner.close()

    # 4. decide, 5. write
    import datetime as dt

    from edgeperf._version import __version__

    decision = decide(grid, per, limits, rate)
    doc = {
        "schema": SCHEMA,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "edgeperf_version": __version__,
        "source": source,
        "domain": domain,
        "rate_hz": rate,
        "target": tgt.to_dict(),
        "budget": [x.to_dict() for x in limits],
        "grid": [c.to_dict() for c in grid],
        "episodes": episodes,
        "seed": seed,
        "profile": {"duration_s": duration, "stress": stress, "power": "any (measured, else a labelled estimate)"},
        "executor": described,
        "steps": {
            cid: {k: (doc.run_id if (doc := typed(v)) is not None else v) for k, v in s.items()}
            for cid, s in per.items()
        },
        "decision": decision,
    }
    files = write(root, doc, limits, rate)
    return Plan(out, doc, files)


def _run_steps(root, grid, source, cfg: PlanConfig, runner, store, on_step):
    """Steps 1-3 (each resumed from the plan folder where it is done); {candidate id: {step: report or error}}."""
    domain, rate, duration, stress, seed, episodes = (
        cfg.domain,
        cfg.rate,
        cfg.duration,
        cfg.stress,
        cfg.seed,
        cfg.episodes,
    )
    device, host = cfg.device, cfg.host
    from edgeperf.planner import steps as st
    from edgeperf.planner.decide import typed
    from edgeperf.results.report import sha256_file

    per: dict[str, dict] = {c.id: {} for c in grid}
    digest = st.source_digest(source)  # the source's content names the steps that read it
    # 1. export each artifact once (parallel), parity on the policy's own rollouts
    exports = {}
    for c in grid:
        exports.setdefault(c.artifact_id, st.export_job(root, source, domain, c, seed, digest))
    done = st.run_steps(root, list(exports.values()), runner, store, on_step=on_step)
    for c in grid:
        per[c.id]["export"] = done.get(exports[c.artifact_id].id)
    # 2. profile, one at a time, each candidate whose artifact passed parity
    prof_jobs = {}
    for c in grid:
        e = typed(per[c.id]["export"])
        if e is not None and e.results.parity is not None and e.results.parity.passed:
            model = str(st.artifact_path(root, c.artifact_id, c.format))
            prof_jobs[c.id] = st.profile_job(
                c,
                model,
                sha256_file(model),
                rate=rate,
                domain=domain,
                duration=float(duration),
                device=device if host is None else None,
                host=host,
                stress=stress or None,
            )
    done = st.run_steps(root, list(prof_jobs.values()), runner, store, alone=True, on_step=on_step)
    for cid, j in prof_jobs.items():
        per[cid]["profile"] = done.get(j.id)
    # 3. validate each profiled candidate with its own latency distribution in the loop (parallel)
    val_jobs = {}
    for cid, j in prof_jobs.items():
        p = per[cid]["profile"]
        if p and "error" not in p:
            c = next(x for x in grid if x.id == cid)
            val_jobs[cid] = st.validate_job(
                c,
                j.params["model"],
                str(st.step_path(root, j.id)),
                p["run_id"],
                domain=domain,
                reference=source,
                reference_sha256=digest,
                episodes=episodes,
                seed=seed,
            )
    done = st.run_steps(root, list(val_jobs.values()), runner, store, on_step=on_step)
    for cid, j in val_jobs.items():
        per[cid]["validate"] = done.get(j.id)
    return per
