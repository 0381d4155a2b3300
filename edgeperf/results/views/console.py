"""Terminal pieces several report views print: the power block, the thermal line, the summary table and the
verdict (the view-models of views/shared.py, which the HTML page draws too), unmeasured figures and warnings."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgeperf.results.kinds import Power, PowerFigures, Sampling, Sensor, Thermal
from edgeperf.results.views import shared


def _w(v) -> str:
    return "-" if v is None else f"{v:.3g}"


def _mj(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def power(p: Power | dict, out: Console, per: str = "inference") -> None:
    """The power block: one row per rail and the board total; an estimate is labelled as one."""
    p = p if isinstance(p, Power) else Power.from_dict(p)
    est = " — ESTIMATE, not a measurement" if p.estimate else ""
    t = Table(title=f"Power: {p.source}{est}")
    t.add_column("rail", style="bold")
    t.add_column("idle W", justify="right")
    t.add_column("active W", justify="right")
    t.add_column("above idle W", justify="right")
    run = per == "run"
    t.add_column("J above idle" if run else f"mJ/{per} above idle", justify="right")
    t.add_column("J" if run else f"mJ/{per} gross", justify="right")
    if p.control_steps:
        t.add_column("mJ/control step", justify="right")

    def row(name: str, f: PowerFigures, style: str = "") -> None:
        cells = [
            _w(f.idle_W),
            _w(f.active_W),
            _w(f.above_idle_W),
            _mj(f.energy_above_idle_J if run else f.per_inference_above_idle_mJ),
            _mj(f.energy_J if run else f.per_inference_mJ),
        ]
        if p.control_steps:
            cells.append(_mj(f.per_control_step.mJ if f.per_control_step else None))
        t.add_row(escape(name), *cells, style=style)

    for name, f in (p.rails or {}).items():
        row(name, f)
    if p.total is not None and p.total.keys:
        row(f"total ({'+'.join(p.total_rails)})", p.total, style="bold")
    out.print(t)
    s, sensor = p.sampling or Sampling(), p.sensor or Sensor()
    hz = s.achieved_hz
    out.print(
        f"{escape(p.total_how)}; {sensor.samples if sensor.has('samples') else '?'} samples at {s.rate_hz:g} Hz"
        + (f" (achieved {hz:.3g} Hz)" if hz else "")
        + f", idle baseline {p.idle_s:.2f} s, measured window {p.window_s:.2f} s; "
        f"sensor update period {sensor.update_period_s if sensor.has('update_period_s') else 0:g} s"
    )
    for name, other in (p.other_sources or {}).items():
        tot = other.total or PowerFigures()
        out.print(
            f"also {name}: active {_w(tot.active_W)} W, idle {_w(tot.idle_W)} W, "
            + (
                f"{_mj(tot.energy_above_idle_J)} J above idle"
                if per == "run"
                else f"{_mj(tot.per_inference_above_idle_mJ)} mJ/{per} above idle"
            )
            + f" ({escape(other.total_how)})"
        )


def thermal(th: Thermal | dict, out: Console) -> None:
    th = th if isinstance(th, Thermal) else Thermal.from_dict(th)
    parts = []
    zones = th.zones or {}
    if zones:
        hottest = max(zones, key=lambda z: zones[z].max_C)
        parts.append(f"hottest zone {escape(hottest)} max {zones[hottest].max_C:.1f} C")
    for name, mhz in (("CPU", th.cpu_mhz), ("GPU", th.gpu_mhz)):
        if mhz is not None and mhz.keys:
            parts.append(f"{name} {mhz.min:.0f}-{mhz.max:.0f} MHz")
    if th.nvpmodel is not None and th.nvpmodel.keys:
        parts.append(f"nvpmodel {th.nvpmodel.name or ''} (mode {th.nvpmodel.id})")
    if th.has("jetson_clocks"):
        parts.append(f"jetson_clocks {'on' if th.jetson_clocks else 'off'}")
    parts.append("[red]throttling seen[/red]" if th.throttling else "no throttling seen")
    out.print("thermal: " + ", ".join(parts))


def _unmeasured_and_warnings(report, out: Console) -> None:
    for what, why in report.unmeasured.items():
        out.print(f"[dim]{what}: not measured — {escape(why)}[/dim]")
    for w in report.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(w)}")


def _cell(what: str, v) -> str:
    """A cell of the summary table (views/shared.py) in the terminal."""
    if what == "success":
        return "no criterion" if v is None else f"{100 * v[0]:.0f}% [{100 * v[1][0]:.0f}, {100 * v[1][1]:.0f}]"
    if what == "return":
        return f"{v[0]:.2f} [{v[1][0]:.2f}, {v[1][1]:.2f}]"
    if what == "count":
        return "-" if v is None else str(v)
    return "-" if v is None else f"{v:.2f}" if what == "number" else f"{v:.4g}"


def _summary_table(title: str, columns: dict) -> Table:
    """Task figures of policies side by side (validate's reference/deployed, hil's SIL/HIL): views/shared.py."""
    t = Table(title=escape(title))
    t.add_column("", style="bold")
    for name in columns:
        t.add_column(name, justify="right")
    for row in shared.summary(columns):
        t.add_row(row.label, *(_cell(row.what, c) for c in row.cells))
    return t


def _verdict_line(p) -> str:
    """The paired verdict (views/shared.py) in one line."""
    v = shared.verdict(p)
    color = {"equivalent": "green", "different": "red"}.get(v.verdict, "yellow")
    extra = f" (run ~{v.episodes_needed} episodes)" if v.episodes_needed else ""
    return (
        f"verdict: [{color}]{v.verdict}[/{color}]{extra} — "
        f"mean return difference {v.difference:.2f}, "
        f"90% CI [{v.ci90[0]:.2f}, {v.ci90[1]:.2f}] vs margin ±{v.margin:.3g}; "
        + (
            f"success differs in {v.success_pairs} pairs (McNemar p {v.mcnemar_p:.2g})"
            if v.success_pairs is not None
            else "returns only: the domain has no success criterion"
        )
    )
