"""Terminal rendering of reports and detection results (rich tables). Only figures present in the data are
shown; an unmeasured figure shows its reason."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgeperf.profilers.stats import PERCENTILES, pct_key


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
    keys = ("mean", "min", *(pct_key(p) for p in PERCENTILES), "max")
    title = f"{report.model.path} — {r['backend']['name']} on {report.config['device']}, {r['scenario']}"
    t = Table(title=escape(title))
    t.add_column("us", style="bold")
    for label in keys:
        t.add_column(label.replace("_", "."), justify="right")
    t.add_row("latency", *(f"{lat[k]:.1f}" for k in keys))
    d = r.get("deadline")
    if d:
        resp = d["response_us"]
        t.add_row(
            "response",
            f"{resp['mean']:.1f}",
            "",
            f"{resp['p50']:.1f}",
            "",
            "",
            f"{resp['p99']:.1f}",
            "",
            f"{resp['max']:.1f}",
        )
    out.print(t)
    ci = lat.get("p99_ci95")
    cov = f", CoV {lat['cov']:.2f}" if lat.get("cov") is not None else ""
    out.print(
        f"{lat['count']} inferences in {r['wall_s']:.2f} s ({r['throughput_per_s']:.0f}/s){cov}"
        + (f", p99 95% CI [{ci[0]:.1f}, {ci[1]:.1f}] us" if ci else "")
    )
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
    _unmeasured_and_warnings(report, out)


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
    _unmeasured_and_warnings(report, out)


def _unmeasured_and_warnings(report, out: Console) -> None:
    for what, why in report.unmeasured.items():
        out.print(f"[dim]{what}: not measured — {escape(why)}[/dim]")
    for w in report.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(w)}")


def validate(report, out: Console) -> None:
    r = report.results
    t = Table(
        title=escape(
            f"{report.model.path} vs {report.config['reference']} on {r['domain']['id']}, "
            f"{r['episodes']} paired episodes"
        )
    )
    t.add_column("policy", style="bold")
    for c in ("success", "falls", "return (95% CI)", "IQR", "CVaR 5%", "metrics"):
        t.add_column(c, justify="right")
    for name in ("reference", "deployed"):
        s = r[name]
        ret = s["return"]
        metrics = ", ".join(f"{k} {v:.3g}" for k, v in s.get("metrics", {}).items())
        t.add_row(
            name,
            f"{100 * s['success_rate']:.0f}%",
            str(s["falls"]),
            f"{ret['mean']:.1f} [{ret['ci95'][0]:.1f}, {ret['ci95'][1]:.1f}]",
            f"{s['reliability']['dispersion_iqr']:.1f}",
            f"{s['reliability']['risk_cvar5']:.1f}",
            metrics,
        )
    out.print(t)
    p = r["paired"]
    color = {"equivalent": "green", "different": "red"}.get(p["verdict"], "yellow")
    extra = f" (run ~{p['episodes_needed']} episodes)" if p.get("episodes_needed") else ""
    out.print(
        f"verdict: [{color}]{p['verdict']}[/{color}]{extra} — "
        f"mean return difference {p['mean_return_difference']:.2f}, "
        f"90% CI [{p['ci90'][0]:.2f}, {p['ci90'][1]:.2f}] vs margin ±{p['margin']:.3g}; success differs in "
        f"{p['success_only_reference'] + p['success_only_deployed']} pairs (McNemar p {p['success_mcnemar_p']:.2g})"
    )
    d = r["action_divergence"]
    sep = (
        f"trajectories separated in {d['trajectories_separated']} of {r['episodes']} pairs (median first step "
        f"{d['first_separation_step_median']:.0f})"
        if d["trajectories_separated"]
        else "trajectories never separated"
    )
    out.print(
        f"action divergence on the reference's trajectories: p50 {d['p50']:.2e}, p99 {d['p99']:.2e}, "
        f"max {d['max']:.2e}; {sep}"
    )
    if r.get("latency"):
        out.print(f"latency in the loop: {escape(r['latency']['source'])}")
    sweep = r.get("latency_sweep")
    if sweep:
        s = Table(title="success against latency (deployed policy)")
        for c in ("latency (ms)", "success", "95% CI", "falls", "mean return"):
            s.add_column(c, justify="right")
        for pt in sweep["points"]:
            s.add_row(
                f"{pt['latency_ms']:g}",
                f"{100 * pt['success_rate']:.0f}%",
                f"[{100 * pt['success_ci95'][0]:.0f}, {100 * pt['success_ci95'][1]:.0f}]%",
                str(pt["falls"]),
                f"{pt['mean_return']:.1f}",
            )
        out.print(s)
        fails = sweep["fails_from_ms"]
        out.print(
            f"the task starts to fail at {fails:g} ms" if fails is not None else "the task held at every latency swept"
        )
    out.print(f"[dim]{r['wall_s']:.1f} s with {r['workers']} worker(s)[/dim]")
    _unmeasured_and_warnings(report, out)
