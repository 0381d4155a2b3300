"""The plan folder's deliverables, written once the decision is made: the chosen artifact (with its companions),
its deployment sidecar (backend, threads, precision, rate), a budget file for `edgeperf check`, plan.json and one
self-contained HTML page (plan/page.py: the report views' blocks, templates and CSS).
Each file is written atomically: a plan stopped while writing leaves the previous file or none, never half of one.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgeperf import artifact
from edgeperf.planner import page
from edgeperf.planner.candidates import SUFFIX, Limit, budget_dict
from edgeperf.planner.decide import Row
from edgeperf.planner.steps import artifact_path
from edgeperf.results.io import atomic_write_bytes, atomic_write_text
from edgeperf.results.report import sha256_file

SCHEMA = "edgeperf.plan/1"
PLAN_JSON, PAGE, BUDGET, SIDECAR = "plan.json", "plan.html", "budget.toml", "deployment.json"
# The chosen candidate's figures the sidecar carries.
MEASURED = ("p50_us", "p99_us", "p99_9_us", "miss_rate", "mj_per_inference", "energy_estimate", "peak_rss_mb",
            "verdict", "success")  # fmt: skip


def copy_artifact(src: Path, plan_dir: Path, fmt: str) -> Path:
    """The chosen artifact as PLAN/policy.<suffix>, with its companions (OpenVINO weights, the metadata sidecar)."""
    dst = plan_dir / f"policy{SUFFIX[fmt]}"
    pairs = [(src, dst)]
    for c_src, c_dst in zip(artifact.companions(src), artifact.companions(dst), strict=True):
        if c_src.is_file():
            pairs.append((c_src, c_dst))
    for a, b in pairs[1:] + pairs[:1]:  # the artifact last: once it is there, its companions are
        if a.name.endswith(".edgeperf.json"):
            text = a.read_text().replace(src.name, dst.name)
            atomic_write_text(b, text)
        else:
            atomic_write_bytes(b, a.read_bytes())
    return dst


def remove_stale(plan_dir: Path) -> None:
    """A previous decision's artifact (another format) must not stay beside this one."""
    for suffix in set(SUFFIX.values()):
        p = plan_dir / f"policy{suffix}"
        for f in [p, *artifact.companions(p)]:
            if f.is_file():
                f.unlink()


def toml_text(budget: dict, note: str) -> str:
    lines = [f"# {line}" for line in note.splitlines()]
    for section, body in budget.items():
        lines += ["", f"[{section}]"]
        for k, v in body.items():
            if isinstance(v, bool):
                text = "true" if v else "false"
            elif isinstance(v, str):
                text = json.dumps(v)
            else:
                text = repr(float(v)) if isinstance(v, float) else str(v)
            lines.append(f"{k} = {text}")
    return "\n".join(lines) + "\n"


def write(plan_dir: Path, doc: dict, limits: list[Limit], rate_hz: float) -> dict:
    """Write the deliverables; returns {name: path}."""
    written: dict = {}
    rows = {r["id"]: r for r in doc["decision"]["candidates"]}
    rid = doc["decision"]["recommendation"]
    chosen = Row.from_dict(rows[rid]) if rid in rows else None
    remove_stale(plan_dir)
    for name in (SIDECAR, BUDGET):
        (plan_dir / name).unlink(missing_ok=True)
    if chosen is not None:
        c = chosen.candidate
        src = artifact_path(plan_dir, c.artifact_id, c.format)
        dst = copy_artifact(src, plan_dir, c.format)
        written["artifact"] = dst
        sidecar = {
            "schema": "edgeperf.deployment/1",
            "artifact": dst.name,
            "sha256": sha256_file(dst),
            "format": c.format,
            "precision": c.precision,
            "backend": c.backend,
            "threads": c.threads,
            "device": doc["target"]["device"],
            "rate_hz": rate_hz,
            "profile": f"edgeperf profile {dst.name} --backend {c.backend} --threads {c.threads} "
            f"--rate {rate_hz:g} --observations domain:{doc['domain']}",
            "measured": {k: getattr(chosen, k) for k in MEASURED},
        }
        atomic_write_text(plan_dir / SIDECAR, json.dumps(sidecar, indent=2) + "\n")
        written["sidecar"] = plan_dir / SIDECAR
        estimate = bool(chosen.energy_estimate)
        budget = budget_dict(limits, rate_hz, allow_estimate=estimate)
        note = (
            f"edgeperf plan: the budget {dst.name} ({chosen.label}) met when it was chosen; keep it true in CI:\n"
            f"  {sidecar['profile']} --json profile.json\n"
            f"  edgeperf validate {dst.name} --domain {doc['domain']} --reference {doc['source']} "
            "--latency-from profile.json --json validate.json\n"
            "  edgeperf check --budget budget.toml profile.json validate.json"
            + ("\nallow_estimate: the energy here was a labelled estimate (no power sensor)" if estimate else "")
        )
        atomic_write_text(plan_dir / BUDGET, toml_text(budget, note))
        written["budget"] = plan_dir / BUDGET
    doc["files"] = {k: str(Path(v).relative_to(plan_dir)) for k, v in written.items()}
    doc["files"]["page"] = PAGE
    atomic_write_text(plan_dir / PAGE, page.render(doc))
    atomic_write_text(plan_dir / PLAN_JSON, json.dumps(doc, indent=2, default=str) + "\n")
    written["page"] = plan_dir / PAGE
    written["plan"] = plan_dir / PLAN_JSON
    return written
