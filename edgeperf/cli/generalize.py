"""`edgeperf generalize MODEL --domains ID,ID,...`: one policy on several tasks (A2Perf's generalization)."""

from __future__ import annotations

from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, JsonOut, NoStoreOpt, console, store_target, write_report


def generalize(
    model: Annotated[str, typer.Argument(help="The policy: an artifact (policy.onnx) or any source export reads.")],
    domains: Annotated[
        str, typer.Option("--domains", help="Comma-separated domain ids, e.g. quadruped/trot,quadruped/pace.")
    ],
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Episodes per task.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first episode (episode k: seed + k).")] = 0,
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", metavar="DOMAIN=SOURCE", help="A task's reference (default: its bundled one)."),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: one per core).")] = None,
    training: Annotated[
        str | None, typer.Option("--training", metavar="MEASURE.json", help="`edgeperf measure` of the training run.")
    ] = None,
    checkpoint: Annotated[
        str | None, typer.Option("--checkpoint", metavar="k/K", help="This policy is checkpoint k of K (cost k/K).")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", metavar="MEASURE.json", help="`edgeperf measure` of the offline data collection."),
    ] = None,
    samples: Annotated[int | None, typer.Option("--samples", help="Samples the data collection produced.")] = None,
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Evaluate one policy on several tasks against their references.

    Evaluate one policy on several tasks: per task return, success with its 95% interval, and the task's own
    reference on the same seeds; the aggregate is A2Perf's sum over tasks of the mean return. With --training
    (and --checkpoint k/K) and --data/--samples, the energy the policy cost to make, by A2Perf's rule."""
    from edgeperf.analysis.generalize import generalize as run
    from edgeperf.analysis.generalize import parse_domains, parse_references
    from edgeperf.results.io import check_paths

    store = store_target(db, no_store)
    check_paths(
        {"--json": json_path, "--db": store and store.path},
        {"the model": model, "--training": training, "--data": data},
    )
    ids = parse_domains(domains)
    refs = parse_references(reference)
    con = console(json_path)
    cost = {"training": training, "checkpoint": checkpoint, "data": data, "samples": samples}
    with con.status(f"evaluating {model} on {len(ids)} tasks ({episodes} episodes each)"):
        report = run(model, ids, episodes=episodes, seed=seed, workers=workers, references=refs, cost=cost)
    _render(report, con)
    write_report(report, json_path, con, store=store)


def _render(report, con) -> None:
    from rich.table import Table

    from edgeperf.results.kinds import GeneralizeResults

    t = Table(title=f"generalization of {report.model.path}", title_justify="left")
    for col in (
        "task",
        "return (95% CI)",
        "success (95% CI)",
        "reference success",
        "return - reference",
        "success - ref.",
    ):
        t.add_column(col, justify="left" if col == "task" else "right")
    res = GeneralizeResults.from_dict(report.results)
    for task in res.tasks or ():
        p, ref, vs = task.policy, task.reference, task.versus_reference
        ret = f"{p.return_.mean:.2f} [{p.return_.ci95[0]:.2f}, {p.return_.ci95[1]:.2f}]"
        succ = (
            f"{p.success_rate:.0%} [{p.success_ci95[0]:.0%}, {p.success_ci95[1]:.0%}]" if p.has("success_rate") else "-"
        )
        rsucc = f"{ref.success_rate:.0%}" if ref and ref.has("success_rate") else "-"
        dret = f"{vs.mean_return_difference:+.2f}" if vs else "-"
        rel = f"{vs.success_rate_difference * 100:+.0f} pts" if vs and vs.has("success_rate_difference") else "-"
        t.add_row(task.domain.id, ret, succ, rsucc, dret, rel)
    con.print(t)
    agg = res.aggregate
    line = f"sum of mean returns over {agg.tasks} tasks: {agg.sum_of_mean_returns:.2f}"
    if agg.has("mean_success_rate"):
        line += f"; mean success rate {agg.mean_success_rate:.0%}"
    con.print(line)
    cost = res.cost
    if cost and cost.has("total_J"):
        label = " (ESTIMATE)" if cost.estimate else ""
        con.print(f"energy to make it: {cost.total_J:.4g} J{label} ({' + '.join(cost.total_parts)})")
    for k, why in report.unmeasured.items():
        con.print(f"[yellow]not measured[/yellow] {k}: {why}")
