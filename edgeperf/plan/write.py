"""The plan folder's deliverables, written once the decision is made: the chosen artifact (with its companions),
its deployment sidecar (backend, threads, precision, rate), a budget file for `edgeperf check`, plan.json and one
self-contained HTML page (the pieces of results/html.py: its CSS, cards, tables, SVG plots; every string escaped).
Each file is written atomically: a plan stopped while writing leaves the previous file or none, never half of one.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgeperf import artifact
from edgeperf._version import __version__
from edgeperf.plan.candidates import SUFFIX, Limit, budget_dict
from edgeperf.plan.steps import artifact_path
from edgeperf.results import html
from edgeperf.results.io import atomic_write_bytes, atomic_write_text
from edgeperf.results.report import sha256_file

SCHEMA = "edgeperf.plan/1"
PLAN_JSON, PAGE, BUDGET, SIDECAR = "plan.json", "plan.html", "budget.toml", "deployment.json"


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
    chosen = rows.get(doc["decision"]["recommendation"] or "")
    remove_stale(plan_dir)
    for name in (SIDECAR, BUDGET):
        (plan_dir / name).unlink(missing_ok=True)
    if chosen is not None:
        src = artifact_path(plan_dir, f"{chosen['precision']}-{chosen['format']}", chosen["format"])
        dst = copy_artifact(src, plan_dir, chosen["format"])
        written["artifact"] = dst
        sidecar = {
            "schema": "edgeperf.deployment/1",
            "artifact": dst.name,
            "sha256": sha256_file(dst),
            "format": chosen["format"],
            "precision": chosen["precision"],
            "backend": chosen["backend"],
            "threads": chosen["threads"],
            "device": doc["target"]["device"],
            "rate_hz": rate_hz,
            "profile": f"edgeperf profile {dst.name} --backend {chosen['backend']} --threads {chosen['threads']} "
            f"--rate {rate_hz:g} --observations domain:{doc['domain']}",
            "measured": {k: chosen.get(k) for k in ("p50_us", "p99_us", "p99_9_us", "miss_rate", "mj_per_inference",
                                                     "energy_estimate", "peak_rss_mb", "verdict", "success")},
        }  # fmt: skip
        atomic_write_text(plan_dir / SIDECAR, json.dumps(sidecar, indent=2) + "\n")
        written["sidecar"] = plan_dir / SIDECAR
        estimate = bool(chosen.get("energy_estimate"))
        budget = budget_dict(limits, rate_hz, allow_estimate=estimate)
        note = (
            f"edgeperf plan: the budget {dst.name} ({chosen['label']}) met when it was chosen; keep it true in CI:\n"
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
    atomic_write_text(plan_dir / PAGE, page(doc))
    atomic_write_text(plan_dir / PLAN_JSON, json.dumps(doc, indent=2, default=str) + "\n")
    written["page"] = plan_dir / PAGE
    written["plan"] = plan_dir / PLAN_JSON
    return written


# -- the page -----------------------------------------------------------------------------------------------------


def _front_plot(rows: list[dict]) -> str:
    pts = [r for r in rows if r.get("p99_us") is not None]
    if not pts:
        return html.absent("the front", "no candidate was profiled", "front")
    have_energy = [r for r in pts if r.get("mj_per_inference") is not None]
    xs = [r["p99_us"] / 1e3 for r in pts]
    use_e = len(have_energy) == len(pts)
    ys = [r["mj_per_inference"] if use_e else 0.0 for r in pts]
    x1, y1 = max(xs) * 1.15, (max(ys) * 1.15 if use_e and max(ys) > 0 else 1.0)
    p = html.Plot((0, x1), (0, y1), xlabel="p99 latency (ms)", ylabel="energy per inference (mJ)")
    groups = {"c1": [], "c0": [], "c2": [], "bad": []}
    for r, x, y in zip(pts, xs, ys, strict=True):
        cls = (
            "c1"
            if r["status"] == "recommended"
            else "c0"
            if r.get("on_front")
            else "bad"
            if r["status"] == "dropped"
            else "c2"
        )
        groups[cls].append((x, y, f"{r['label']}: {r['status']} — {r.get('reason', '')}"))
    labels = {"c1": "recommended", "c0": "on the Pareto front", "c2": "eligible", "bad": "dropped"}
    for cls, items in groups.items():
        if items:
            p.dots([i[0] for i in items], [i[1] for i in items], cls, labels[cls], titles=[i[2] for i in items])
    note = "each dot a candidate; hover for why it won or lost" + (
        "" if use_e else "; energy not measured for every candidate: drawn at 0"
    )
    return html.figure("front", "Energy per inference against p99", p.svg("the front"), source="plan", note=note)


def _card(r: dict) -> str:
    cls = {"recommended": "good", "runner-up": "", "eligible": "", "dropped": "bad"}[r["status"]]
    e = r.get("mj_per_inference")
    energy = "—" if e is None else f"{html.num(e)} mJ" + (" (estimate)" if r.get("energy_estimate") else "")
    p99 = r.get("p99_us")
    items = [
        html.card("status", html.esc(r["status"]), f"{r['id']}.status", cls=cls),
        html.card("p99", "—" if p99 is None else f"{html.num(p99 / 1e3)} ms", f"{r['id']}.p99_us"),
        html.card("energy / inference", energy, f"{r['id']}.mj_per_inference"),
        html.card(
            "deadline misses",
            "—" if r.get("miss_rate") is None else f"{100 * r['miss_rate']:.3g}%",
            f"{r['id']}.miss_rate",
        ),
        html.card(
            "task", html.verdict_badge(r.get("verdict") or "not validated", f"{r['id']}.verdict"), f"{r['id']}.task"
        ),
    ]
    par = r.get("parity") or {}
    kv = [
        ("why", html.esc(r.get("reason") or "")),
        ("parity", html.esc(f"{'passed' if par.get('passed') else 'FAILED'} (max error {par.get('max_abs_error')})")),
        ("p50 / p99.9", f"{html.num(r.get('p50_us'))} us / {html.num(r.get('p99_9_us'))} us"),
        ("jitter (std)", f"{html.num(r.get('jitter_us'))} us"),
        ("peak RSS", f"{html.num(r.get('peak_rss_mb'))} MiB"),
        ("success (original)", f"{html.num(r.get('success'))} ({html.num(r.get('reference_success'))})"),
        ("return difference", html.num(r.get("return_diff"))),
        ("energy source", html.esc(r.get("energy_source") or r.get("energy_unmeasured") or "—")),
    ]
    return (
        f'<section class="run" id="cand-{html.esc(r["id"])}" data-candidate="{html.esc(r["id"])}">'
        f"<h2>{html.esc(r['label'])}</h2>{html.cards(items)}{html.kv_table(kv)}</section>"
    )


def page(doc: dict) -> str:
    d = doc["decision"]
    rows = d["candidates"]
    title = f"edgeperf plan: {doc['source']} on {doc['target']['name'] or doc['target']['device']}"
    chosen = next((r for r in rows if r["status"] == "recommended"), None)
    if chosen is not None:
        decision = (
            f'<p data-figure="recommendation"><b>Recommended: {html.esc(chosen["label"])}</b> — '
            f"{html.esc(chosen['reason'])}.</p>"
        )
        runner = next((r for r in rows if r["status"] == "runner-up"), None)
        if runner is not None:
            decision += f"<p>Runner-up: {html.esc(runner['label'])} — {html.esc(runner['reason'])}.</p>"
    else:
        decision = (
            f'<p class="error" data-figure="recommendation">No recommendation: '
            f"{html.esc(d.get('no_recommendation', {}).get('message', ''))}</p>"
        )
    table_rows = "".join(
        f'<tr><td><a href="#cand-{html.esc(r["id"])}">{html.esc(r["label"])}</a></td><td>{html.esc(r["status"])}'
        f"{' (front)' if r.get('on_front') else ''}</td><td>{html.num(r.get('p99_us'))}</td>"
        f"<td>{html.num(r.get('mj_per_inference'))}</td><td>{html.esc(r.get('verdict') or '—')}</td>"
        f"<td>{html.esc(r.get('reason') or '')}</td></tr>"
        for r in rows
    )
    table = (
        '<table class="grid overview"><tr><th>candidate</th><th>status</th><th>p99 (us)</th><th>mJ/inf</th>'
        f"<th>verdict</th><th>why</th></tr>{table_rows}</table>"
    )
    budget = "".join(f"<li><code>{html.esc(x['text'])}</code></li>" for x in doc["budget"])
    meta = html.kv_table(
        [
            ("source", f"<code>{html.esc(doc['source'])}</code>"),
            ("domain", html.esc(doc["domain"])),
            ("target", html.esc(json.dumps(doc["target"]))),
            ("control rate", f"{html.num(doc['rate_hz'])} Hz"),
            ("episodes per candidate", html.num(doc["episodes"])),
            ("rule", html.esc(d["rule"])),
        ]
    )
    cards = "".join(_card(r) for r in rows)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
        f'content="{html.CSP}"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.esc(title)}</title><style>{html.CSS}</style></head><body><main>"
        f'<h1>{html.esc(title)}</h1><p class="note">written by edgeperf {html.esc(__version__)}; every figure is '
        "from the plan's step reports (steps/), nothing is fetched</p>"
        f'<section class="run" id="decision"><h2>Decision</h2>{decision}{meta}<h3>Budget</h3><ul>{budget}</ul>'
        f"</section>"
        f'<section class="run" id="front"><h2>Front</h2>{_front_plot(rows)}{table}</section>'
        f"{cards}</main></body></html>\n"
    )
