"""Terminal rendering of reports and detection results (rich tables). Only figures present in the data are
shown; an unmeasured figure shows its reason."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgeperf.results.report import PERCENTILES, pct_key


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f} MiB"


def devices(d: dict, out: Console) -> None:
    t = Table(title=f"This machine: {d['device']['name']} ({d['device']['id']})", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    cpu = d["cpu"]
    t.add_row(
        "CPU",
        f"{cpu.get('model') or '?'} — {cpu.get('physical_cores')} cores, "
        f"{cpu.get('logical_cores')} threads" + (f", {cpu['max_mhz']} MHz max" if "max_mhz" in cpu else ""),
    )
    t.add_row("Memory", f"{d['memory'].get('total_gib', '?')} GiB")
    t.add_row(
        "OS",
        f"{d['os'].get('name') or '?'}, kernel {d['os'].get('kernel') or '?'}, {d['os'].get('arch') or '?'}",
    )
    if d.get("jetson"):
        j = d["jetson"]
        t.add_row("Jetson", f"{j.get('model') or '?'}" + (f", L4T {j['l4t']}" if j.get("l4t") else ""))
    gpus = ", ".join(g["name"] for g in d["gpus"]) or f"none ({d.get('gpus_reason', '')})"
    t.add_row("GPUs", escape(gpus))
    for name, b in d["backends"].items():
        if b["available"]:
            extra = f" — {', '.join(b['providers'])}" if b.get("providers") else ""
            t.add_row(f"backend {name}", f"[green]yes[/green] {b.get('version') or ''}{extra}")
        else:
            t.add_row(f"backend {name}", f"[yellow]no[/yellow] — {escape(b['reason'])}")
    out.print(t)
    if "power_sources" in d:
        p = Table(title="Power sources")
        p.add_column("source", style="bold")
        p.add_column("status")
        p.add_column("rails / reason")
        for name, s in d["power_sources"].items():
            if s["available"]:
                p.add_row(name, "[green]available[/green]", ", ".join(s["rails"]))
            else:
                p.add_row(name, "[yellow]unavailable[/yellow]", escape(s.get("reason", "")))
        out.print(p)
        out.print(d["power_summary"])


def profile(report, out: Console) -> None:
    r = report.results
    lat = r["latency_us"]
    short = lat.get("tail_unsupported", {})
    keys = ("mean", "min", *(k for k in map(pct_key, PERCENTILES) if k not in short), "max")
    title = f"{report.model.path} — {r['backend']['name']} on {report.config['device']}, {r['scenario']}"
    t = Table(title=escape(title))
    t.add_column("us", style="bold")
    for label in keys:
        t.add_column(label.replace("_", "."), justify="right")
    t.add_row("latency", *(f"{lat[k]:.1f}" for k in keys))
    d = r.get("deadline")
    if d:
        resp = d["response_us"]
        t.add_row("response", *(f"{resp[k]:.1f}" if k in ("mean", "p50", "p99", "max") else "" for k in keys))
    out.print(t)
    ci = lat.get("p99_ci95")
    cov = f", CoV {lat['cov']:.2f}" if lat.get("cov") is not None else ""
    binned = lat.get("relative_precision")
    out.print(
        f"{lat['count']} inferences in {r['wall_s']:.2f} s ({r['throughput_per_s']:.0f}/s){cov}"
        + (f", p99 95% CI [{ci[0]:.1f}, {ci[1]:.1f}] us" if ci else "")
        + (f"; percentiles from a log-linear histogram, within {100 * binned:.3f}% of exact" if binned else "")
    )
    if short:
        said = "; ".join(f"{k.replace('_', '.')}: {why}" for k, why in short.items())
        out.print(f"[dim]not shown, too few samples in the tail ({said}); they are in the JSON report[/dim]")
    if d:
        verdict = (
            "[green]no deadline missed[/green]"
            if not d["misses"]
            else (
                f"[red]{d['misses']} missed[/red] ({100 * d['miss_rate']:.3g}%), longest streak "
                f"{d['longest_miss_streak']}, lateness p50 {d['lateness_us']['p50']:.0f} / max "
                f"{d['lateness_us']['max']:.0f} us"
            )
        )
        jitter = d.get("period_jitter_us", {})
        out.print(
            f"periodic at {1e6 / d['period_us']:.6g} Hz, deadline {d['deadline_us'] / 1e3:.3g} ms over "
            f"{d['periods']} periods: {verdict}; start delay p99 {d['start_delay_us']['p99']:.0f} us, "
            f"period jitter std {jitter.get('std', 0):.1f} us"
        )
    cs, mem = r["cold_start"], r["memory"]
    opened = f"open {cs['open_ms']:.1f} ms, " if "open_ms" in cs else ""
    out.print(
        f"cold start: {opened}first inference {cs['first_inference_us']:.0f} us; "
        f"warm-up {r['warmup']['iterations']} inferences"
    )
    gpu = f", GPU {_mib(mem['gpu_process_bytes'])}" if "gpu_process_bytes" in mem else ""
    stress = f" with {r['cpu']['stress_processes']} stress co-runners" if r["cpu"].get("stress_processes") else ""
    out.print(
        f"memory: peak RSS {_mib(mem['peak_rss_bytes'])}, after load {_mib(mem['rss_after_load_bytes'])}{gpu}; "
        f"CPU {r['cpu']['process_utilisation_percent']:.0f}% of one core{stress}"
    )
    if r.get("chunk", {}).get("budget_ms"):
        c = r["chunk"]
        fits = "fits" if c["async"]["fits_at_p99"] else "does NOT fit"
        out.print(
            f"chunks of {c['horizon']}, {c['steps_per_chunk']} run each: p99 {c['p99_ms']:.3g} ms per chunk uses "
            f"{c['p99_share_of_budget']:.1%} of its {c['budget_ms']:.4g} ms budget; at p99 sync stalls "
            f"{c['sync']['stall_steps_per_chunk_at_p99']} steps a chunk, async skips "
            f"{c['async']['stale_actions_skipped_at_p99']} stale actions and {fits} in H"
        )
    if r.get("recurrent_state"):
        names = ", ".join(f"{s['input']}->{s['output']} {s['shape']}" for s in r["recurrent_state"]["state"])
        out.print(f"recurrent state fed back each step: {names}")
    if r.get("power"):
        power(r["power"], out, per="inference")
    if r.get("thermal"):
        thermal(r["thermal"], out)
    _unmeasured_and_warnings(report, out)


def _w(v) -> str:
    return "-" if v is None else f"{v:.3g}"


def _mj(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def power(p: dict, out: Console, per: str = "inference") -> None:
    """The power block: one row per rail and the board total; an estimate is labelled as one."""
    est = " — ESTIMATE, not a measurement" if p.get("estimate") else ""
    t = Table(title=f"Power: {p['source']}{est}")
    t.add_column("rail", style="bold")
    t.add_column("idle W", justify="right")
    t.add_column("active W", justify="right")
    t.add_column("above idle W", justify="right")
    run = per == "run"
    t.add_column("J above idle" if run else f"mJ/{per} above idle", justify="right")
    t.add_column("J" if run else f"mJ/{per} gross", justify="right")
    if p.get("control_steps"):
        t.add_column("mJ/control step", justify="right")

    def row(name: str, f: dict, style: str = "") -> None:
        cells = [
            _w(f.get("idle_W")),
            _w(f.get("active_W")),
            _w(f.get("above_idle_W")),
            _mj(f.get("energy_above_idle_J" if run else "per_inference_above_idle_mJ")),
            _mj(f.get("energy_J" if run else "per_inference_mJ")),
        ]
        if p.get("control_steps"):
            cells.append(_mj((f.get("per_control_step") or {}).get("mJ")))
        t.add_row(escape(name), *cells, style=style)

    for name, f in p.get("rails", {}).items():
        row(name, f)
    if p.get("total"):
        row(f"total ({'+'.join(p['total_rails'])})", p["total"], style="bold")
    out.print(t)
    s = p.get("sampling", {})
    hz = s.get("achieved_hz")
    sensor = p.get("sensor", {})
    out.print(
        f"{escape(p['total_how'])}; {sensor.get('samples', '?')} samples at {s.get('rate_hz'):g} Hz"
        + (f" (achieved {hz:.3g} Hz)" if hz else "")
        + f", idle baseline {p['idle_s']:.2f} s, measured window {p['window_s']:.2f} s; "
        f"sensor update period {sensor.get('update_period_s', 0):g} s"
    )
    for name, other in (p.get("other_sources") or {}).items():
        tot = other.get("total") or {}
        out.print(
            f"also {name}: active {_w(tot.get('active_W'))} W, idle {_w(tot.get('idle_W'))} W, "
            + (
                f"{_mj(tot.get('energy_above_idle_J'))} J above idle"
                if per == "run"
                else f"{_mj(tot.get('per_inference_above_idle_mJ'))} mJ/{per} above idle"
            )
            + f" ({escape(other['total_how'])})"
        )


def thermal(th: dict, out: Console) -> None:
    parts = []
    zones = th.get("zones") or {}
    if zones:
        hottest = max(zones, key=lambda z: zones[z]["max_C"])
        parts.append(f"hottest zone {escape(hottest)} max {zones[hottest]['max_C']:.1f} C")
    if th.get("cpu_mhz"):
        c = th["cpu_mhz"]
        parts.append(f"CPU {c['min']:.0f}-{c['max']:.0f} MHz")
    if th.get("gpu_mhz"):
        g = th["gpu_mhz"]
        parts.append(f"GPU {g['min']:.0f}-{g['max']:.0f} MHz")
    if th.get("nvpmodel"):
        m = th["nvpmodel"]
        parts.append(f"nvpmodel {m.get('name', '')} (mode {m['id']})")
    if "jetson_clocks" in th:
        parts.append(f"jetson_clocks {'on' if th['jetson_clocks'] else 'off'}")
    parts.append("[red]throttling seen[/red]" if th.get("throttling") else "no throttling seen")
    out.print("thermal: " + ", ".join(parts))


def measure(report, out: Console) -> None:
    r = report.results
    mem = r.get("memory", {})
    out.print(
        f"{escape(' '.join(r['command']))}: exit code {r['exit_code']}, wall {r['wall_s']:.2f} s, "
        f"peak memory of the process tree {_mib(mem.get('peak_tree_rss_bytes'))} (largest single process "
        f"{_mib(mem.get('peak_process_rss_bytes'))})"
    )
    if r.get("power"):
        power(r["power"], out, per="run")
    if r.get("thermal"):
        thermal(r["thermal"], out)
    _unmeasured_and_warnings(report, out)


def catalog(entries: list[dict], out: Console) -> None:
    """The device catalog, one block per entry, each figure's public source beneath it."""
    for d in entries:
        out.print(f"[bold]{d['id']}[/bold]  {escape(d['name'])} ({d['family']}, {d['arch']})")
        lines = []
        if d.get("compute"):
            lines.append(f"onboard computer: {d['compute']}")
        hw = [
            f"CPU {d['cpu']}" if d.get("cpu") else "",
            f"{d['cores']} cores" if d.get("cores") else "",
            f"memory {d['memory']}" if d.get("memory") else "",
        ]
        if any(hw):
            lines.append("; ".join(x for x in hw if x))
        if d.get("accelerators"):
            lines.append(f"accelerators: {', '.join(d['accelerators'])}")
        if d.get("power_modes"):
            lines.append(f"power modes: {', '.join(d['power_modes'])}")
        if d.get("power_sources"):
            rails = f"; rails {', '.join(d['rails'])}" if d.get("rails") else ""
            lines.append(f"power sources: {', '.join(d['power_sources'])}{rails}")
        if d.get("backends"):
            lines.append(f"backends: {', '.join(d['backends'])}; precisions: {', '.join(d.get('precisions', []))}")
        if d.get("core_W"):
            lines.append(f"estimate: {d['core_W']:g} W per busy core ({d['core_W_source']})")
        if d.get("control_rates"):
            lines.append("control rates: " + ", ".join(f"{r['hz']:g} Hz {r['what']}" for r in d["control_rates"]))
        if d.get("notes"):
            lines.append(d["notes"])
        for line in lines:
            out.print(f"  {escape(line)}")
        for what, src in d.get("sources", {}).items():
            out.print(f"  [dim]source ({escape(what)}): {escape(src)}[/dim]")


def export(report, out: Console) -> None:
    r = report.results
    out.print(
        f"exported {escape(report.config['source'])} -> {escape(report.model.path)} ({report.model.format}, "
        f"{report.model.precision}, {r['size_bytes'] / 1024:.1f} KiB) in {r['export_s']:.2f} s"
    )
    par = r.get("parity")
    if par:
        verdict = "[green]passed[/green]" if par["passed"] else "[red]FAILED[/red]"
        tol = par["tolerance"]
        out.print(
            f"parity {verdict} on {par['observations']} observations ({par['observation_source']}): "
            f"max |error| {par['max_abs_error']:.2e}, p99 {par['p99_abs_error']:.2e} "
            f"(tolerance atol {tol['atol']:g} + rtol {tol['rtol']:g} x |action|)"
        )
        rec = par.get("recurrent")
        if rec:
            steps = rec["max_abs_error_per_step"]
            out.print(
                f"recurrent: {rec['sequences']} sequences of {rec['steps']} steps, state carried in both; max |error| "
                f"at step 1 {steps[0]:.2e}, at step {rec['steps']} {steps[-1]:.2e}; drift {rec['drift_ratio']:.3g}x "
                "(bar 10x)"
            )
    _unmeasured_and_warnings(report, out)


def _unmeasured_and_warnings(report, out: Console) -> None:
    for what, why in report.unmeasured.items():
        out.print(f"[dim]{what}: not measured — {escape(why)}[/dim]")
    for w in report.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(w)}")


def _summary_table(title: str, columns: dict) -> Table:
    """Task figures of policies side by side (validate's reference/deployed, hil's SIL/HIL)."""
    t = Table(title=escape(title))
    t.add_column("", style="bold")
    for name in columns:
        t.add_column(name, justify="right")

    def row(label, fmt):
        t.add_row(label, *(fmt(s) for s in columns.values()))

    row(
        "success",
        lambda s: (
            f"{100 * s['success_rate']:.0f}% [{100 * s['success_ci95'][0]:.0f}, {100 * s['success_ci95'][1]:.0f}]"
            if "success_rate" in s
            else "no criterion"
        ),
    )
    row("falls", lambda s: str(s["falls"]))
    row(
        "return (95% CI)",
        lambda s: f"{s['return']['mean']:.2f} [{s['return']['ci95'][0]:.2f}, {s['return']['ci95'][1]:.2f}]",
    )
    row("dispersion (IQR)", lambda s: f"{s['reliability']['dispersion_iqr']:.2f}")
    row("risk (CVaR 5%)", lambda s: f"{s['reliability']['risk_cvar5']:.2f}")
    common = set.intersection(*(set(s.get("metrics", {})) for s in columns.values())) - {"return"}
    for key in sorted(common):
        row(key.replace("_", " "), lambda s, k=key: f"{s['metrics'][k]:.4g}")
    return t


def _verdict_line(p: dict) -> str:
    color = {"equivalent": "green", "different": "red"}.get(p["verdict"], "yellow")
    extra = f" (run ~{p['episodes_needed']} episodes)" if p.get("episodes_needed") else ""
    return (
        f"verdict: [{color}]{p['verdict']}[/{color}]{extra} — "
        f"mean return difference {p['mean_return_difference']:.2f}, "
        f"90% CI [{p['ci90'][0]:.2f}, {p['ci90'][1]:.2f}] vs margin ±{p['margin']:.3g}; "
        + (
            f"success differs in {p['success_only_reference'] + p['success_only_deployed']} pairs "
            f"(McNemar p {p['success_mcnemar_p']:.2g})"
            if "success_mcnemar_p" in p
            else "returns only: the domain has no success criterion"
        )
    )


def hil(report, out: Console) -> None:
    r = report.results
    link = r["link"]
    title = f"{report.model.path} served at {report.config['connect']} on {r['domain']['id']}, {r['mode']}"
    columns = {"SIL": r["sil"], "HIL": r["hil"]} if "sil" in r else {"HIL": r["hil"]}
    out.print(_summary_table(title, columns))
    if "paired" in r:
        out.print(_verdict_line(r["paired"]))
    if "round_trip_us" in link:
        rtt, net, inf = link["round_trip_us"], link["network_us"], link["inference_us"]
        offset = link.get("clock_offset_us")
        offset = f"{offset['median']:.0f} ± {offset['error_bound_us']:.0f} us" if offset else "not measured"
        out.print(
            f"link: round trip p50 {rtt['p50']:.0f} / p99 {rtt['p99']:.0f} / max {rtt['max']:.0f} us "
            f"(network p50 {net['p50']:.0f} us, inference p50 {inf['p50']:.0f} us); clock offset {offset}"
        )
    late = link.get("stale_round_trip_us")
    stale = f" (they came after p50 {late['p50'] / 1e3:.1f} / max {late['max'] / 1e3:.1f} ms)" if late else ""
    if "chunks" in r:
        c = r["chunks"]
        took = c.get("reply_steps")
        out.print(
            f"chunks of {c['horizon']}, {c['mode']} every {c['steps']} steps ({c['timing']}): a reply took "
            + (f"mean {took['mean']:.2g} / max {took['max']} control steps" if took else "no steps (none came)")
        )
        missed = f"{link['misses']} of {link['queries']} chunk queries got no reply in time"
    else:
        missed = f"{link['misses']} of {link['steps']} steps missed the {link['deadline_ms']:g} ms deadline"
    out.print(
        f"{missed} (longest streak {link['longest_miss_streak']}); {link['stale_replies']} stale replies "
        f"dropped{stale}; {link['reconnects']} reconnects, {len(link['gaps'])} gaps; {r['wall_s']:.1f} s wall for "
        f"{r['simulated_s']:.1f} s simulated"
    )
    _unmeasured_and_warnings(report, out)


def validate(report, out: Console) -> None:
    r = report.results
    title = (
        f"{report.model.path} vs {report.config['reference']} on {r['domain']['id']}, {r['episodes']} paired episodes"
    )
    out.print(_summary_table(title, {"reference": r["reference"], "deployed": r["deployed"]}))
    out.print(_verdict_line(r["paired"]))
    d = r["action_divergence"]
    sep = (
        f"trajectories separated in {d['trajectories_separated']} of {r['episodes']} pairs (median first step "
        f"{d['first_separation_step_median']:.0f})"
        if d["trajectories_separated"]
        else "trajectories never separated"
    )
    if d["p50"] is None:
        spread = "every step non-finite"
    else:
        spread = f"p50 {d['p50']:.2e}, p99 {d['p99']:.2e}, max {d['max']:.2e}"
        if d.get("nonfinite_steps"):
            spread += f" ({d['nonfinite_steps']} non-finite steps apart)"
    out.print(f"action divergence on the reference's trajectories: {spread}; {sep}")
    if r.get("latency"):
        out.print(f"latency in the loop: {escape(r['latency']['source'])}")
    sweep = r.get("latency_sweep")
    if sweep:
        s = Table(title="success against latency (deployed policy)")
        for c in ("latency (ms)", "success", "95% CI", "falls", "mean return"):
            s.add_column(c, justify="right")
        for pt in sweep["points"]:
            ok = "success_rate" in pt
            s.add_row(
                f"{pt['latency_ms']:g}",
                f"{100 * pt['success_rate']:.0f}%" if ok else "-",
                f"[{100 * pt['success_ci95'][0]:.0f}, {100 * pt['success_ci95'][1]:.0f}]%" if ok else "-",
                str(pt["falls"]),
                f"{pt['mean_return']:.1f}",
            )
        out.print(s)
        fails = sweep["fails_from_ms"]
        if fails is not None:
            out.print(f"the task starts to fail at {fails:g} ms")
        else:
            held = "success_rate" in sweep["points"][0]
            out.print("the task held at every latency swept" if held else "no success criterion: see the returns")
    out.print(f"[dim]{r['wall_s']:.1f} s with {r['workers']} worker(s)[/dim]")
    _unmeasured_and_warnings(report, out)


def sim2sim(report, out: Console) -> None:
    r = report.results
    a, b = r["domains"]["a"]["id"], r["domains"]["b"]["id"]
    title = f"{report.model.path}: {a} (A) -> {b} (B), {r['episodes']} episodes each"
    out.print(_summary_table(title, {"A": r["a"], "B": r["b"]}))
    t = r["transfer"]
    lo, hi = t["return_difference_ci90"]
    line = f"verdict: {t['verdict']} — return B - A {t['return_difference']:+.2f}, 90% CI [{lo:+.2f}, {hi:+.2f}]"
    if "success_rate_difference" in t:
        slo, shi = t["success_difference_ci90"]
        diff = 100 * t["success_rate_difference"]
        line += f"; success B - A {diff:+.0f} points, 90% CI [{100 * slo:+.0f}, {100 * shi:+.0f}]"
    out.print(escape(line))
    if t.get("moved_most"):
        m = t["metric_shifts"][t["moved_most"]]
        out.print(
            escape(f"moved most: {t['moved_most']} {m['a']:.3g} -> {m['b']:.3g} ({m['standardized']:+.1f} pooled SD)")
        )
    rob = r.get("robustness")
    if rob:
        s = Table(title=f"success in {escape(rob['domain'])} against {escape(rob['what'])}")
        for c in ("level", "success", "95% CI", "falls", "mean return"):
            s.add_column(c, justify="right")
        for row in rob["levels"]:
            lo95, hi95 = row["success_ci95"]
            s.add_row(
                f"{row['level']:g}",
                f"{100 * row['success_rate']:.0f}%",
                f"[{100 * lo95:.0f}, {100 * hi95:.0f}]%",
                str(row["falls"]),
                f"{row['return_mean']:.1f}",
            )
        out.print(s)


def doctor(report, out: Console) -> None:
    r = report.results
    b = r["baseline"]
    out.print(
        escape(
            f"{report.model.path} on {report.config['domain']}: success in {b['successes']} of {b['episodes']} "
            f"episodes, {b['falls']} falls, mean return {b['mean_return']:.2f}"
            + (f" ({b['failure']})" if b.get("failure") else "")
        )
    )
    rec = r.get("recording")
    if rec:
        t = Table(title=f"the recording ({rec['steps']} steps, history {rec['layout']}) against the spec, per term")
        for c in ("term", "slot", "max error", "what maps the spec's values onto the recording"):
            t.add_column(c)
        for c in rec["terms"]:
            what = c["skipped"] or ("matches" if c["matches"] else c["explanation"])
            t.add_row(escape(c["term"]), f"{c['slot'][0]}:{c['slot'][1]}", f"{c['max_error']:.3g}", escape(what))
        out.print(t)
    findings = r.get("findings") or []
    if findings:
        t = Table(title="what was tried, best first")
        for c in ("#", "family", "fix", "success (screen)", "success (all seeds)", "return"):
            t.add_column(c)
        for i, f in enumerate(findings[:8], 1):
            conf = f["confirm"]
            s = conf or f["screen"]
            t.add_row(
                str(i),
                escape(f["family"]),
                escape(f["fix"]),
                f"{f['screen']['successes']}/{f['screen']['episodes']}",
                f"{conf['successes']}/{conf['episodes']}" if conf else "—",
                f"{s['mean_return']:.2f}",
            )
        out.print(t)
    search = r.get("search") or {}
    if "candidates" in search:
        left = ", ".join(f"{k} {v}" for k, v in search["not_tried"].items())
        out.print(
            escape(
                f"searched {search['tried']} of {search['candidates']} candidates ({100 * search['coverage']:.0f}%) "
                f"in {search.get('wall_s', 0):.1f} s" + (f"; not tried within the budget: {left}" if left else "")
            )
        )
    if r.get("latency", {}).get("tolerated_ms") is not None:
        lat = r["latency"]
        out.print(
            escape(f"latency: tolerates {lat['tolerated_ms']:.1f} ms; the profile's p99 {lat['profile_p99_ms']:.1f} ms")
        )
    out.print(escape(f"verdict: {r['verdict']} — {r['summary']}"))
    if "fixed_spec" in r:
        out.print(escape(f"corrected spec: {r['fixed_spec']['path']} ({r['fixed_spec']['format']})"))
    _unmeasured_and_warnings(report, out)
