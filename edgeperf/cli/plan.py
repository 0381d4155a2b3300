"""`edgeperf plan`: the cheapest deployment that still does the task (edgeperf.plan)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, NoStoreOpt, console, host_option, store_target


def plan(
    source: Annotated[str, typer.Argument(help="The original policy (any source `export` reads).")],
    domain: Annotated[str, typer.Option("--domain", help="The domain it must still do: quadruped/trot, ...")],
    out: Annotated[str, typer.Option("--out", "-o", help="The plan folder (created; a rerun resumes it).")] = (
        "out/plan"
    ),
    device: Annotated[str, typer.Option("--device", help="The target: auto (this machine), jetson, or an ID.")] = (
        "auto"
    ),
    host: host_option("Profile on this device over ssh (user@robot).") = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Control rate in Hz (default: the domain's).")] = None,
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget",
            help="Limits, e.g. 'p99<=10ms,mj<=2,miss<=1%,rss<=200MB,success>=0.9' (a miss rate of at most 1% holds "
            "unless given).",
        ),
    ] = None,
    candidates: Annotated[
        str | None,
        typer.Option(
            "--candidates",
            help="The grid, e.g. 'precisions=fp32,fp16,int8 backends=onnxruntime,openvino threads=1,2' (an axis "
            "left out: all the target offers; threads 1,2).",
        ),
    ] = None,
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Paired episodes per candidate.")] = 12,
    duration: Annotated[float, typer.Option("--duration", help="Seconds of profiling per candidate.")] = 10.0,
    stress: Annotated[int, typer.Option("--stress", help="CPU co-runner processes while profiling.")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first episode.")] = 0,
    executor: Annotated[str, typer.Option("--executor", help="local (a process pool) or ray.")] = "local",
    address: Annotated[str | None, typer.Option("--address", help="Ray head HOST:PORT (--executor ray).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Local pool processes (default: one per core).")] = (
        None
    ),
    json_out: Annotated[bool, typer.Option("--json", help="Print plan.json to stdout (tables go to stderr).")] = False,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Choose the cheapest deployment that still does the task.

    Plan a deployment: export every candidate, profile it on the target, validate it with its own latency.

    The recommendation is the lowest-energy candidate (then lowest p99) that is equivalent to the original
    (paired episodes, its measured latency distribution in the loop) and meets the budget; every other candidate
    gets its reason. Writes policy.*, deployment.json, budget.toml (for `edgeperf check`), plan.json and plan.html
    under --out. Exit 1 when no candidate qualifies (the binding constraint is said).
    """
    from edgeperf.errors import VerdictFailed
    from edgeperf.planner import plan as run_plan

    store = store_target(db, no_store)
    con = console("-" if json_out else None)

    def show(job, result, reused) -> None:
        p = job.params
        what = p.get("candidate") or p.get("artifact")
        status = "[red]failed[/red]: " + str(result["error"]) if "error" in result else "done"
        con.print(f"{p['step']:<8} {what:<28} {'reused' if reused else status}", highlight=False)

    done = run_plan(
        source,
        out,
        domain=domain,
        device=device,
        host=host,
        rate=rate,
        budget=budget,
        candidates=candidates,
        episodes=episodes,
        duration=duration,
        stress=stress,
        seed=seed,
        executor=executor,
        workers=workers,
        address=address,
        store=store,
        on_step=show,
    )
    render(done, con)
    if json_out:
        sys.stdout.write(json.dumps(done.doc, indent=2, default=str) + "\n")
    if done.recommendation is None:
        raise VerdictFailed(done.doc["decision"]["no_recommendation"]["message"])


def render(done, con) -> None:
    from rich.markup import escape
    from rich.table import Table

    from edgeperf.planner.decide import Row

    rows = [Row.from_dict(r) for r in done.doc["decision"]["candidates"]]
    t = Table(title=f"plan: {len(rows)} candidates")
    for col in ("candidate", "status", "p99", "miss", "mJ/inf", "verdict", "why"):
        t.add_column(col)
    for r in rows:
        p99, e = r.p99_us, r.mj_per_inference
        t.add_row(
            escape(r.label),
            escape(r.status + (" *" if r.on_front else "")),
            "—" if p99 is None else f"{p99 / 1e3:.3g} ms",
            "—" if r.miss_rate is None else f"{100 * r.miss_rate:.2g}%",
            "—" if e is None else f"{e:.3g}" + (" est." if r.energy_estimate else ""),
            escape(r.verdict or "—"),
            escape(r.reason),
        )
    con.print(t)
    con.print("[dim]* on the Pareto front (task against energy per inference and p99)[/dim]")
    chosen = done.recommendation
    if chosen:
        con.print(f"[green]recommended[/green]: {escape(chosen['reason'])}")
    else:
        con.print(f"[red]no recommendation[/red]: {escape(done.doc['decision']['no_recommendation']['message'])}")
    con.print(
        f"[dim]plan written to {escape(str(done.folder))}/ ({', '.join(sorted(done.doc['files'].values()))})[/dim]"
    )
