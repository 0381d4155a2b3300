"""Terminal views of this machine (`edgeperf devices`) and of the device catalog: detection results, not reports."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgeperf.results.kinds.machine import Machine


def devices(d: dict | Machine, out: Console) -> None:
    m = d if isinstance(d, Machine) else Machine.from_dict(d)
    t = Table(title=f"This machine: {m.device.name} ({m.device.id})", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    cpu = m.cpu
    t.add_row(
        "CPU",
        f"{cpu.model or '?'} — {cpu.physical_cores} cores, "
        f"{cpu.logical_cores} threads" + (f", {cpu.max_mhz} MHz max" if cpu.has("max_mhz") else ""),
    )
    t.add_row("Memory", f"{m.memory.total_gib if m.memory.has('total_gib') else '?'} GiB")
    t.add_row("OS", f"{m.os.name or '?'}, kernel {m.os.kernel or '?'}, {m.os.arch or '?'}")
    if m.jetson:
        j = m.jetson
        t.add_row("Jetson", f"{j.model or '?'}" + (f", L4T {j.l4t}" if j.l4t else ""))
    gpus = ", ".join(g.name for g in m.gpus or ()) or f"none ({m.gpus_reason or ''})"
    t.add_row("GPUs", escape(gpus))
    for name, b in (m.backends or {}).items():
        if b.available:
            extra = f" — {', '.join(b.providers)}" if b.providers else ""
            t.add_row(f"backend {name}", f"[green]yes[/green] {b.version or ''}{extra}")
        else:
            t.add_row(f"backend {name}", f"[yellow]no[/yellow] — {escape(b.reason)}")
    out.print(t)
    if m.power_sources is not None:
        p = Table(title="Power sources")
        p.add_column("source", style="bold")
        p.add_column("status")
        p.add_column("rails / reason")
        for name, s in m.power_sources.items():
            if s.available:
                p.add_row(name, "[green]available[/green]", ", ".join(s.rails))
            else:
                p.add_row(name, "[yellow]unavailable[/yellow]", escape(s.reason or ""))
        out.print(p)
        out.print(m.power_summary)


def catalog(entries: Iterable, out: Console) -> None:
    """The device catalog (edgeperf.devices.catalog's DeviceSpecs: results sits below devices, so it takes them
    as they come), one block per entry, each figure's public source beneath it."""
    for d in entries:
        out.print(f"[bold]{d.id}[/bold]  {escape(d.name)} ({d.family}, {d.arch})")
        lines = []
        if d.compute:
            lines.append(f"onboard computer: {d.compute}")
        hw = [
            f"CPU {d.cpu}" if d.cpu else "",
            f"{d.cores} cores" if d.cores else "",
            f"memory {d.memory}" if d.memory else "",
        ]
        if any(hw):
            lines.append("; ".join(x for x in hw if x))
        if d.accelerators:
            lines.append(f"accelerators: {', '.join(d.accelerators)}")
        if d.power_modes:
            lines.append(f"power modes: {', '.join(d.power_modes)}")
        if d.power_sources:
            rails = f"; rails {', '.join(d.rails)}" if d.rails else ""
            lines.append(f"power sources: {', '.join(d.power_sources)}{rails}")
        if d.backends:
            lines.append(f"backends: {', '.join(d.backends)}; precisions: {', '.join(d.precisions)}")
        if d.core_W:
            lines.append(f"estimate: {d.core_W:g} W per busy core ({d.core_W_source})")
        if d.control_rates:
            lines.append("control rates: " + ", ".join(f"{hz:g} Hz {what}" for what, hz in d.control_rates))
        if d.notes:
            lines.append(d.notes)
        for line in lines:
            out.print(f"  {escape(line)}")
        for what, src in d.sources:
            out.print(f"  [dim]source ({escape(what)}): {escape(src)}[/dim]")
