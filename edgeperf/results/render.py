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
