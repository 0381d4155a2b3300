"""Terminal rendering of reports and detection results (rich tables). Only figures present in the data are
shown; an unmeasured figure shows its reason. A report's results are read as its kind's class (results/kinds/);
the summary table and the verdict are the view-models the HTML page draws too (results/views/shared.py)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgeperf.results.kinds import (
    KINDS,
    Deadline,
    DoctorResults,
    ExportResults,
    HilResults,
    LatencySweep,
    MeasureResults,
    Memory,
    ProfileResults,
    Sim2SimResults,
    ValidateResults,
)
from edgeperf.results.report import PERCENTILES, pct_key
from edgeperf.results.views.console import _summary_table, _unmeasured_and_warnings, _verdict_line, power, thermal
from edgeperf.results.views.devices import catalog, devices

__all__ = ["_summary_table", "_unmeasured_and_warnings", "_verdict_line", "catalog", "devices", "doctor", "export",
           "hil", "measure", "power", "profile", "sim2sim", "thermal", "validate"]  # fmt: skip


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f} MiB"


def _typed(report):
    """The report's results as its kind's class (results/kinds/)."""
    return KINDS[report.kind].from_dict(report.results)


def profile(report, out: Console) -> None:
    r: ProfileResults = _typed(report)
    lat = r.latency_us
    short = lat.tail_unsupported or {}
    keys = ("mean", "min", *(k for k in map(pct_key, PERCENTILES) if k not in short), "max")
    title = f"{report.model.path} — {r.backend.name} on {report.config['device']}, {r.scenario}"
    t = Table(title=escape(title))
    t.add_column("us", style="bold")
    for label in keys:
        t.add_column(label.replace("_", "."), justify="right")
    t.add_row("latency", *(f"{lat.at(k):.1f}" for k in keys))
    d = r.deadline
    if d is not None and d.keys:
        resp = d.response_us
        t.add_row("response", *(f"{resp.at(k):.1f}" if k in ("mean", "p50", "p99", "max") else "" for k in keys))
    out.print(t)
    ci = lat.p99_ci95
    cov = f", CoV {lat.cov:.2f}" if lat.cov is not None else ""
    binned = lat.relative_precision
    out.print(
        f"{lat.count} inferences in {r.wall_s:.2f} s ({r.throughput_per_s:.0f}/s){cov}"
        + (f", p99 95% CI [{ci[0]:.1f}, {ci[1]:.1f}] us" if ci else "")
        + (f"; percentiles from a log-linear histogram, within {100 * binned:.3f}% of exact" if binned else "")
    )
    if short:
        said = "; ".join(f"{k.replace('_', '.')}: {why}" for k, why in short.items())
        out.print(f"[dim]not shown, too few samples in the tail ({said}); they are in the JSON report[/dim]")
    if d is not None and d.keys:
        _deadline(d, out)
    cs, mem, cpu = r.cold_start, r.memory, r.cpu
    opened = f"open {cs.open_ms:.1f} ms, " if cs.has("open_ms") else ""
    out.print(
        f"cold start: {opened}first inference {cs.first_inference_us:.0f} us; warm-up {r.warmup.iterations} inferences"
    )
    gpu = f", GPU {_mib(mem.gpu_process_bytes)}" if mem.has("gpu_process_bytes") else ""
    stress = f" with {cpu.stress_processes} stress co-runners" if cpu.stress_processes else ""
    out.print(
        f"memory: peak RSS {_mib(mem.peak_rss_bytes)}, after load {_mib(mem.rss_after_load_bytes)}{gpu}; "
        f"CPU {cpu.process_utilisation_percent:.0f}% of one core{stress}"
    )
    c = r.chunk
    if c is not None and c.budget_ms:
        fits = "fits" if c.async_["fits_at_p99"] else "does NOT fit"
        out.print(
            f"chunks of {c.horizon}, {c.steps_per_chunk} run each: p99 {c.p99_ms:.3g} ms per chunk uses "
            f"{c.p99_share_of_budget:.1%} of its {c.budget_ms:.4g} ms budget; at p99 sync stalls "
            f"{c.sync['stall_steps_per_chunk_at_p99']} steps a chunk, async skips "
            f"{c.async_['stale_actions_skipped_at_p99']} stale actions and {fits} in H"
        )
    if r.recurrent_state:
        names = ", ".join(f"{s['input']}->{s['output']} {s['shape']}" for s in r.recurrent_state["state"])
        out.print(f"recurrent state fed back each step: {names}")
    if r.power:
        power(r.power, out, per="inference")
    if r.thermal:
        thermal(r.thermal, out)
    _unmeasured_and_warnings(report, out)


def _deadline(d: Deadline, out: Console) -> None:
    verdict = (
        "[green]no deadline missed[/green]"
        if not d.misses
        else (
            f"[red]{d.misses} missed[/red] ({100 * d.miss_rate:.3g}%), longest streak "
            f"{d.longest_miss_streak}, lateness p50 {d.lateness_us.p50:.0f} / max {d.lateness_us.max:.0f} us"
        )
    )
    jitter = d.period_jitter_us
    out.print(
        f"periodic at {1e6 / d.period_us:.6g} Hz, deadline {d.deadline_us / 1e3:.3g} ms over "
        f"{d.periods} periods: {verdict}; start delay p99 {d.start_delay_us.p99:.0f} us, "
        f"period jitter std {(jitter.std if jitter is not None and jitter.std is not None else 0):.1f} us"
    )


def measure(report, out: Console) -> None:
    r: MeasureResults = _typed(report)
    mem = r.memory or Memory()
    out.print(
        f"{escape(' '.join(r.command))}: exit code {r.exit_code}, wall {r.wall_s:.2f} s, "
        f"peak memory of the process tree {_mib(mem.peak_tree_rss_bytes)} (largest single process "
        f"{_mib(mem.peak_process_rss_bytes)})"
    )
    if r.power:
        power(r.power, out, per="run")
    if r.thermal:
        thermal(r.thermal, out)
    _unmeasured_and_warnings(report, out)


def export(report, out: Console) -> None:
    r: ExportResults = _typed(report)
    out.print(
        f"exported {escape(report.config['source'])} -> {escape(report.model.path)} ({report.model.format}, "
        f"{report.model.precision}, {r.size_bytes / 1024:.1f} KiB) in {r.export_s:.2f} s"
    )
    par = r.parity
    if par is not None and par.keys:
        verdict = "[green]passed[/green]" if par.passed else "[red]FAILED[/red]"
        tol = par.tolerance
        out.print(
            f"parity {verdict} on {par.observations} observations ({par.observation_source}): "
            f"max |error| {par.max_abs_error:.2e}, p99 {par.p99_abs_error:.2e} "
            f"(tolerance atol {tol.atol:g} + rtol {tol.rtol:g} x |action|)"
        )
        rec = par.recurrent
        if rec is not None and rec.keys:
            steps = rec.max_abs_error_per_step
            out.print(
                f"recurrent: {rec.sequences} sequences of {rec.steps} steps, state carried in both; max |error| "
                f"at step 1 {steps[0]:.2e}, at step {rec.steps} {steps[-1]:.2e}; drift {rec.drift_ratio:.3g}x "
                "(bar 10x)"
            )
    _unmeasured_and_warnings(report, out)


def hil(report, out: Console) -> None:
    r: HilResults = _typed(report)
    link = r.link
    title = f"{report.model.path} served at {report.config['connect']} on {r.domain.id}, {r.mode}"
    columns = {"SIL": r.sil, "HIL": r.hil} if r.sil is not None else {"HIL": r.hil}
    out.print(_summary_table(title, columns))
    if r.paired is not None:
        out.print(_verdict_line(r.paired))
    if link.round_trip_us is not None:
        rtt, net, inf = link.round_trip_us, link.network_us, link.inference_us
        offset = link.clock_offset_us
        offset = f"{offset.median:.0f} ± {offset.error_bound_us:.0f} us" if offset else "not measured"
        out.print(
            f"link: round trip p50 {rtt.p50:.0f} / p99 {rtt.p99:.0f} / max {rtt.max:.0f} us "
            f"(network p50 {net.p50:.0f} us, inference p50 {inf.p50:.0f} us); clock offset {offset}"
        )
    late = link.stale_round_trip_us
    stale = f" (they came after p50 {late.p50 / 1e3:.1f} / max {late.max / 1e3:.1f} ms)" if late else ""
    if r.chunks is not None:
        c = r.chunks
        took = c.reply_steps
        out.print(
            f"chunks of {c.horizon}, {c.mode} every {c.steps} steps ({c.timing}): a reply took "
            + (f"mean {took.mean:.2g} / max {took.max} control steps" if took else "no steps (none came)")
        )
        missed = f"{link.misses} of {link.queries} chunk queries got no reply in time"
    else:
        missed = f"{link.misses} of {link.steps} steps missed the {link.deadline_ms:g} ms deadline"
    out.print(
        f"{missed} (longest streak {link.longest_miss_streak}); {link.stale_replies} stale replies "
        f"dropped{stale}; {link.reconnects} reconnects, {len(link.gaps)} gaps; {r.wall_s:.1f} s wall for "
        f"{r.simulated_s:.1f} s simulated"
    )
    _unmeasured_and_warnings(report, out)


def validate(report, out: Console) -> None:
    r: ValidateResults = _typed(report)
    title = f"{report.model.path} vs {report.config['reference']} on {r.domain.id}, {r.episodes} paired episodes"
    out.print(_summary_table(title, {"reference": r.reference, "deployed": r.deployed}))
    out.print(_verdict_line(r.paired))
    d = r.action_divergence
    sep = (
        f"trajectories separated in {d.trajectories_separated} of {r.episodes} pairs (median first step "
        f"{d.first_separation_step_median:.0f})"
        if d.trajectories_separated
        else "trajectories never separated"
    )
    if d.p50 is None:
        spread = "every step non-finite"
    else:
        spread = f"p50 {d.p50:.2e}, p99 {d.p99:.2e}, max {d.max:.2e}"
        if d.nonfinite_steps:
            spread += f" ({d.nonfinite_steps} non-finite steps apart)"
    out.print(f"action divergence on the reference's trajectories: {spread}; {sep}")
    if r.latency:
        out.print(f"latency in the loop: {escape(r.latency.source)}")
    if r.latency_sweep:
        _sweep(r.latency_sweep, out)
    out.print(f"[dim]{r.wall_s:.1f} s with {r.workers} worker(s)[/dim]")
    _unmeasured_and_warnings(report, out)


def _sweep(sweep: LatencySweep, out: Console) -> None:
    s = Table(title="success against latency (deployed policy)")
    for c in ("latency (ms)", "success", "95% CI", "falls", "mean return"):
        s.add_column(c, justify="right")
    for pt in sweep.points:
        ok = pt.has("success_rate")
        s.add_row(
            f"{pt.latency_ms:g}",
            f"{100 * pt.success_rate:.0f}%" if ok else "-",
            f"[{100 * pt.success_ci95[0]:.0f}, {100 * pt.success_ci95[1]:.0f}]%" if ok else "-",
            str(pt.falls),
            f"{pt.mean_return:.1f}",
        )
    out.print(s)
    if sweep.fails_from_ms is not None:
        out.print(f"the task starts to fail at {sweep.fails_from_ms:g} ms")
    else:
        held = sweep.points[0].has("success_rate")
        out.print("the task held at every latency swept" if held else "no success criterion: see the returns")


def sim2sim(report, out: Console) -> None:
    r: Sim2SimResults = _typed(report)
    a, b = r.domains.a.id, r.domains.b.id
    title = f"{report.model.path}: {a} (A) -> {b} (B), {r.episodes} episodes each"
    out.print(_summary_table(title, {"A": r.a, "B": r.b}))
    t = r.transfer
    lo, hi = t.return_difference_ci90
    line = f"verdict: {t.verdict} — return B - A {t.return_difference:+.2f}, 90% CI [{lo:+.2f}, {hi:+.2f}]"
    if t.has("success_rate_difference"):
        slo, shi = t.success_difference_ci90
        diff = 100 * t.success_rate_difference
        line += f"; success B - A {diff:+.0f} points, 90% CI [{100 * slo:+.0f}, {100 * shi:+.0f}]"
    out.print(escape(line))
    if t.moved_most:
        m = t.metric_shifts[t.moved_most]
        out.print(escape(f"moved most: {t.moved_most} {m.a:.3g} -> {m.b:.3g} ({m.standardized:+.1f} pooled SD)"))
    rob = r.robustness
    if rob:
        s = Table(title=f"success in {escape(rob.domain)} against {escape(rob.what)}")
        for c in ("level", "success", "95% CI", "falls", "mean return"):
            s.add_column(c, justify="right")
        for row in rob.levels:
            lo95, hi95 = row.success_ci95
            s.add_row(
                f"{row.level:g}",
                f"{100 * row.success_rate:.0f}%",
                f"[{100 * lo95:.0f}, {100 * hi95:.0f}]%",
                str(row.falls),
                f"{row.return_mean:.1f}",
            )
        out.print(s)


def doctor(report, out: Console) -> None:
    r: DoctorResults = _typed(report)
    b = r.baseline
    out.print(
        escape(
            f"{report.model.path} on {report.config['domain']}: success in {b.successes} of {b.episodes} "
            f"episodes, {b.falls} falls, mean return {b.mean_return:.2f}" + (f" ({b.failure})" if b.failure else "")
        )
    )
    rec = r.recording
    if rec:
        t = Table(title=f"the recording ({rec.steps} steps, history {rec.layout}) against the spec, per term")
        for c in ("term", "slot", "max error", "what maps the spec's values onto the recording"):
            t.add_column(c)
        for c in rec.terms:
            what = c.skipped or ("matches" if c.matches else c.explanation)
            t.add_row(escape(c.term), f"{c.slot[0]}:{c.slot[1]}", f"{c.max_error:.3g}", escape(what))
        out.print(t)
    if r.findings:
        t = Table(title="what was tried, best first")
        for c in ("#", "family", "fix", "success (screen)", "success (all seeds)", "return"):
            t.add_column(c)
        for i, f in enumerate(r.findings[:8], 1):
            conf = f.confirm
            s = conf or f.screen
            t.add_row(
                str(i),
                escape(f.family),
                escape(f.fix),
                f"{f.screen.successes}/{f.screen.episodes}",
                f"{conf.successes}/{conf.episodes}" if conf else "—",
                f"{s.mean_return:.2f}",
            )
        out.print(t)
    search = r.search
    if search is not None and search.has("candidates"):
        left = ", ".join(f"{k} {v}" for k, v in search.not_tried.items())
        out.print(
            escape(
                f"searched {search.tried} of {search.candidates} candidates ({100 * search.coverage:.0f}%) "
                f"in {search.wall_s or 0:.1f} s" + (f"; not tried within the budget: {left}" if left else "")
            )
        )
    lat = r.latency
    if lat is not None and lat.tolerated_ms is not None:
        out.print(
            escape(f"latency: tolerates {lat.tolerated_ms:.1f} ms; the profile's p99 {lat.profile_p99_ms:.1f} ms")
        )
    out.print(escape(f"verdict: {r.verdict} — {r.summary}"))
    if r.fixed_spec is not None:
        out.print(escape(f"corrected spec: {r.fixed_spec.path} ({r.fixed_spec.format})"))
    _unmeasured_and_warnings(report, out)
