"""The view of a profile report: the key figures as cards, the latency table and charts, the run's conditions."""

from __future__ import annotations

import numpy as np

from edgeperf.results.kinds import ColdStart, Deadline, Document, Memory, Observations, ProfileResults, Stats
from edgeperf.results.views import latency, power
from edgeperf.results.views.blocks import KV, Absent, Card, Cards, Grid, Heading, Para, flat
from edgeperf.results.views.fmt import ABSENT, is_number, mib, num, pct, pct_label
from edgeperf.results.views.run import Run

EMPTY_STATS, EMPTY_DEADLINE = Stats(), Deadline()


def view(doc: Document, run: Run) -> list:
    r: ProfileResults = doc.results
    return [cards(doc), *latency_blocks(r, run), *conditions(doc)]


def cards(doc: Document) -> Cards:
    r: ProfileResults = doc.results
    lat, dl = r.latency_us or EMPTY_STATS, r.deadline
    short = lat.tail_unsupported or {}
    p99_sub = f"95% CI [{num(lat.p99_ci95[0])}, {num(lat.p99_ci95[1])}] us" if lat.p99_ci95 else ""
    if "p99" in short:
        p99_sub += (" · " if p99_sub else "") + f"too few samples in the tail: {short['p99']}"
    items = [
        Card("p50 latency", f"{num(lat.p50)} us", "p50_us"),
        Card("p99 latency", f"{num(lat.p99)} us", "p99_us", p99_sub),
        Card("p99.9 latency", f"{num(lat.p99_9)} us", "p99_9_us", str(short["p99_9"]) if "p99_9" in short else ""),
        Card("max", f"{num(lat.max)} us", "max_us"),
        Card("inferences", num(lat.count), "count", f"{num(r.throughput_per_s)}/s"),
    ]
    if dl is not None and dl.keys:
        deadline_ms = dl.deadline_us / 1e3 if dl.deadline_us else None
        sub = f"deadline {num(deadline_ms)} ms · miss rate {pct(dl.miss_rate)}%"
        items.append(
            Card(
                "deadline misses",
                f"{num(dl.misses)} / {num(dl.periods)}",
                "misses",
                sub,
                "bad" if dl.misses else "good",
            )
        )
    else:
        items.append(Card("deadline", "none", "misses", "a free-running (stream) run: no control-loop deadline"))
    mem = r.memory
    items.append(
        Card(
            "peak RSS", mib(mem.peak_rss_bytes if mem else None), "peak_rss_mib", (mem.peak_source if mem else "") or ""
        )
    )
    energy = r.power.total.per_inference_above_idle_mJ if r.power and r.power.total else None
    if energy is not None:
        est = " (ESTIMATE)" if r.power.estimate else ""
        items.append(Card("energy / inference", f"{num(energy)} mJ{est}", "mj_per_inference", "above idle"))
    else:
        why = doc.why("energy_per_inference", "power", default="the report holds no power figures")
        items.append(Card("energy / inference", "not measured", "mj_per_inference", why, "absent"))
    return Cards(items)


def latency_blocks(r: ProfileResults, run: Run) -> list:
    lat, dl = r.latency_us or EMPTY_STATS, r.deadline or EMPTY_DEADLINE
    short = lat.tail_unsupported or {}
    keys = ["mean", *latency.LATENCY_KEYS]
    rows = [("latency us", [num(lat.at(k)) for k in keys])]
    if dl.response_us is not None and dl.response_us.keys:
        rows.append(("response us", [num(dl.response_us.at(k)) for k in keys]))
    out: list = [Grid([pct_label(k) for k in keys], rows)]
    method = lat.method
    if lat.relative_precision:
        method = f"{method}: percentiles from a log-linear histogram, within {num(100 * lat.relative_precision)}%"
    if short:
        said = "; ".join(f"{pct_label(k)}: {v}" for k, v in short.items())
        out.append(Para(f"Percentiles with too few samples beyond them to be supported: {said}", "note"))
    if method:
        out.append(Para(f"method: {method}; clock {r.clock or '?'}", "note"))
    samples = None if run.samples_ns is None else np.asarray(run.samples_ns, dtype=float).ravel() / 1e3
    if samples is not None and len(samples):
        out.append(latency.histogram(samples, lat, dl.deadline_us))
        start = None if run.start_ns is None else np.asarray(run.start_ns, dtype=float) / 1e9
        resp = None if run.response_ns is None else np.asarray(run.response_ns, dtype=float) / 1e3
        out.append(latency.timeline(samples, dl.deadline_us, dl.period_us, start, resp))
    else:
        out.append(latency.from_percentiles(lat, dl.deadline_us))
        why = (
            "the report holds percentiles, not the per-inference timings in run order; render a stored run, or give "
            "the run's `edgeperf profile --csv` file with --timings"
        )
        out.append(Absent("latency timeline", why, "latency-timeline"))
    return out


def _control_loop(dl: Deadline) -> list:
    def p(stats: Stats | None, key: str):
        return stats.at(key) if stats is not None else None

    rows = [
        ("period", f"{num(dl.period_us)} us"),
        ("deadline", f"{num(dl.deadline_us)} us"),
        ("longest miss streak", num(dl.longest_miss_streak)),
        ("start delay p99", f"{num(p(dl.start_delay_us, 'p99'))} us"),
        ("period jitter std", f"{num(p(dl.period_jitter_us, 'std'))} us"),
    ]
    if dl.lateness_us is not None and dl.lateness_us.count:
        rows.append(("lateness p50 / max", f"{num(dl.lateness_us.p50)} / {num(dl.lateness_us.max)} us"))
    return [Heading("Control loop"), KV(rows)]


def conditions(doc: Document) -> list:
    r: ProfileResults = doc.results
    out: list = _control_loop(r.deadline) if r.deadline is not None and r.deadline.keys else []
    cs, be, mem = r.cold_start or ColdStart(), r.backend, r.memory or Memory()
    backend = ", ".join(str(x) for x in (be.name, be.device) if x) if be else ""
    if be and be.providers:
        backend += f" ({', '.join(map(str, be.providers))})"
    obs = r.observations or Observations()
    rows = [
        ("backend", backend),
        ("scenario", r.scenario or "?"),
        ("observations", obs.distribution or obs.source or "?"),
        ("cold start", f"open {num(cs.open_ms)} ms, first inference {num(cs.first_inference_us)} us"),
        ("warm-up", f"{num(r.warmup.iterations if r.warmup else None)} inferences"),
        ("memory", f"after load {mib(mem.rss_after_load_bytes)}, peak {mib(mem.peak_rss_bytes)}"),
        ("CPU", f"{num(r.cpu.process_utilisation_percent if r.cpu else None)}% of one core"),
    ]
    out += [Heading("Run"), KV(rows)]
    if r.power is not None:
        out.append(power.section(r.power))
    else:
        out.append(Absent("power", doc.why("power", "energy_per_inference", default="not in the report"), "power"))
    c = r.chunk
    if c is not None:
        share = f"{num(100 * c.p99_share_of_budget)}%" if is_number(c.p99_share_of_budget) else ABSENT
        chunk_cards = [
            Card("chunk p99", f"{num(c.p99_ms)} ms", "chunk_p99_ms", c.latency_is or ""),
            Card("budget", f"{num(c.budget_ms)} ms", "chunk_budget_ms", c.budget_rule or ""),
            Card("p99 share of budget", share, "chunk_share"),
        ]
        out += [Heading("Action chunks"), Cards(chunk_cards), KV(flat(c.to_dict()))]
    for title, block in (("Recurrent state", r.recurrent_state), ("Thermal", r.thermal)):
        if block is not None:
            out += [Heading(title), KV(flat(block if isinstance(block, dict) else block.to_dict()))]
    return out
