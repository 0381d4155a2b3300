"""`edgeperf demo`'s job in the library: a policy exported, profiled in a fresh process, validated with its
measured latency in the loop, served in a HIL loop, run in its MuJoCo twin and planned, each stage's report written
beside the artifact as it ends. Above edgeperf.pipeline (the stages) and edgeperf.planner (the last one)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf import verdict
from edgeperf.config import DeployConfig, HilConfig
from edgeperf.domains import base
from edgeperf.domains.mujoco import A1_TASKS
from edgeperf.errors import BadInput, VerdictFailed
from edgeperf.exporter.onnx import export
from edgeperf.pipeline import LocalServer, hil, profile_fresh, sim2sim, validate
from edgeperf.planner import plan as run_plan
from edgeperf.results import html
from edgeperf.results.io import atomic_write_text
from edgeperf.results.report import Report
from edgeperf.results.timings import read_timings
from edgeperf.validation import hil as loop
from edgeperf.validation.latency import LatencyModel

STAGES = ("export", "profile", "validate", "hil", "sim2sim")


@dataclass
class Deployment:
    artifact: Path
    reports: dict[str, Report] = field(default_factory=dict)  # stage -> report, in STAGES order
    timings: Path | None = None  # the profile's raw per-inference timings (CSV)
    html: Path | None = None  # every report on one page (edgeperf report)
    plan: object | None = None  # the plan stage's edgeperf.planner.Plan (its folder holds plan.html)


# The demo's plan: two candidates on this machine, the fp32 artifact against int8 (dynamic) on ONNX Runtime.
DEMO_PLAN = "precisions=fp32,int8 backends=onnxruntime threads=1"


def deploy(
    source: str,
    out: str | Path,
    config: DeployConfig | None = None,
    *,
    on_stage: Callable[[str, Report], None] | None = None,
    on_plan: Callable | None = None,
    **options,
) -> Deployment:
    """As `config` says, or as `options` (DeployConfig's fields: domain, duration, episodes, hil_episodes,
    sim2sim_episodes, plan_episodes) say: export `source` to `out`/policy.onnx with parity on the policy's own
    rollouts in `domain`, profile it in a fresh process in a control loop at the domain's rate on its own
    observations, and validate it against `source` in paired episodes with the measured latency in the loop, then
    (hil_episodes > 0) serve it from a child process on loopback and drive it in real time (HIL against SIL), then
    (sim2sim_episodes > 0, for a domain with a MuJoCo twin) run the artifact in both engines, then (plan_episodes >
    0) plan the deployment over DEMO_PLAN's candidates in `out`/plan (`on_plan(plan)` after it). Writes export.json,
    profile.json, validate.json, hil.json and sim2sim.json beside the artifact as each stage ends (and the profile's
    timings.csv); `on_stage(stage, report)` after each; at the end report.html, every stage's report on one page."""

    cfg = DeployConfig.of(config, options)
    d, twin = _check_deploy(cfg)
    domain, duration, episodes, hil_episodes = cfg.domain, cfg.duration, cfg.episodes, cfg.hil_episodes
    sim2sim_episodes, plan_episodes = cfg.sim2sim_episodes, cfg.plan_episodes
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create --out {out}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write in --out {out}: permission denied")
    done = Deployment(out / "policy.onnx", timings=out / "timings.csv")

    def finish(stage: str, report: Report) -> None:
        report.write(out / f"{stage}.json")
        done.reports[stage] = report
        if on_stage is not None:
            on_stage(stage, report)

    exported = export(source, done.artifact, domain=domain)
    finish("export", exported)
    if verdict.failure(exported) is not None:
        raise VerdictFailed(f"the exported policy failed parity; see {out / 'export.json'}")
    # The demo's loop runs at the domain's rate; iterations follow from the duration.
    prof = profile_fresh(
        done.artifact,
        rate=d.control_hz,
        observations=f"domain:{domain}",
        duration=duration,
        iterations=max(1, int(duration * d.control_hz)),
        csv=done.timings,
    )
    finish("profile", prof)
    latency = LatencyModel.from_profile(out / "profile.json")
    finish("validate", validate(done.artifact, domain, reference=source, episodes=episodes, latency=latency))
    if hil_episodes:
        with LocalServer(done.artifact) as server:
            finish("hil", hil(server.address, domain, model=done.artifact, episodes=hil_episodes))
    if twin:
        finish("sim2sim", sim2sim(done.artifact, domain, twin, episodes=sim2sim_episodes))
    done.html = write_html(done, out / "report.html")
    if plan_episodes:
        done.plan = run_plan(
            source, out / "plan", domain=domain, candidates=DEMO_PLAN, episodes=plan_episodes, duration=min(duration, 5)
        )
        if on_plan is not None:
            on_plan(done.plan)
    return done


def _check_deploy(cfg: DeployConfig):
    """Every option, checked before the first stage (a mistake never costs an export): (domain, twin)."""

    d = base.make(cfg.domain)
    cfg.check()
    if cfg.hil_episodes:
        loop.plan(HilConfig(cfg.domain, episodes=cfg.hil_episodes))  # the server is started later: its options are ours
    twin = sim2sim_twin(cfg.domain) if cfg.sim2sim_episodes else None
    if cfg.sim2sim_episodes and twin is None:
        raise BadInput(f"{cfg.domain} has no MuJoCo twin for a sim-to-sim stage; give --sim2sim-episodes 0")
    return d, twin


def sim2sim_twin(domain: str) -> str | None:
    """The MuJoCo twin of a bundled domain (quadruped/trot -> mujoco/a1-trot), or None."""

    task = domain.removeprefix("quadruped/")
    return f"mujoco/a1-{task}" if domain.startswith("quadruped/") and task in A1_TASKS else None


def write_html(done: Deployment, path: Path) -> Path:
    """The deployment's reports on one self-contained HTML page, the profile's with its raw timings."""

    runs = []
    for stage, report in done.reports.items():
        run = html.Run(report.to_dict(), source=f"{stage}.json")
        if stage == "profile" and done.timings:
            t = read_timings(done.timings)
            run.samples_ns, run.start_ns, run.response_ns = t.latency_ns, t.start_ns, t.response_ns
        runs.append(run)
    atomic_write_text(path, html.render(runs, title=f"edgeperf deployment of {done.artifact.name}"))
    return path
