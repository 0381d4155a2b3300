"""Terminal views of this machine (`edgeperf devices`) and of the device catalog: detection results, not reports."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table


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
