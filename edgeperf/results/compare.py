"""`edgeperf compare A B`: what changed from run A to run B, figure by figure, with a verdict per figure.

A verdict of **regressed** (or **improved**) needs both: the change is statistically significant, AND it is beyond
the threshold (default 10%). Significance alone is not enough: two profiles of the same model on the same machine
differ by a few percent from run to run (frequency, cache and scheduler state), far more than the sampling noise of
100,000 latencies, so a test on samples alone calls every rerun "regressed" (scripts/bench_compare.py measures
both rates). The threshold is the run-to-run noise a team accepts; the statistics keep a small or noisy sample
(a short run, a few episodes) from being called a regression on luck.

Methods:
- p50 / p99 / p99.9 of profiles with stored samples: each run's interval of the quantile (at sqrt(confidence), so
  that both hold together at `confidence`) is the hull of two: the distribution-free order-statistic interval
  (binomial ranks), which takes the latencies as independent, and a batch-means interval over BLOCKS stretches of
  the run in time order (the quantile of each stretch; Student's t on their spread), which sees what the first
  cannot: the machine drifting within the run (a busy neighbour, a frequency change), the noise that also moves
  one run against the next. The two runs' intervals combine into an interval of the relative shift
  B/A - 1 = [lo_B/hi_A - 1, hi_B/lo_A - 1]; significant when it excludes 0. O(n log n), no resampling.
  Their **verdict** is the quietest stretch's: each run cut into as many stretches in time order (up to
  STRETCHES, each with PAST latencies past the quantile), the lowest of their quantiles, its own interval, and the
  shift of that against the threshold. What a neighbour does to a run (a process on the other core, a burst of
  interrupts) only ever adds latency, and it comes and goes within seconds, so the quietest stretch of each run
  is the model's own cost on that machine (the reason timeit reports the minimum of its repeats), while the whole
  run's figure moves with the load: between two 5 s profiles of one 10 us model on the idle dev machine the whole
  runs' p99 moved by up to 26%, their quietest stretches' by 0.5% in the median pair (scripts/bench_compare.py
  measures it, and both bars; docs/benchmarks/store-compare.md has the figures). A slowdown of the model is in
  every stretch, the quietest too. A tail that only grows under load shows in the change of the whole run (its
  interval too), not in the verdict. Without
  samples (report files): p99 from the reports' p99_ci95 the same way; other quantiles threshold only (said so).
- Rates (deadline miss rate, success rate): a two-proportion test (pooled z, two-sided).
- Returns of validations: the two runs' 95% intervals of the mean return must not overlap.
- Single numbers (energy per inference, peak RSS, size, parity error): threshold only (said so).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from statistics import NormalDist

import numpy as np

from edgeperf.results import figures
from edgeperf.results.intervals import quantile_ci, t_quantile
from edgeperf.results.kinds import Host, Link, Model, ReportConfig
from edgeperf.results.store import StoredRun

DEFAULT_THRESHOLD = 0.10
CONFIDENCE = 0.95

REGRESSED, IMPROVED, NOISE, CHANGED, SAME, ABSENT = (
    "regressed",
    "improved",
    "within noise",
    "changed",
    "same",
    "not compared",
)


@dataclass
class Line:
    figure: str
    label: str
    unit: str
    a: float | str | bool | None
    b: float | str | bool | None
    verdict: str
    shift: float | None = None  # relative change B/A - 1 (absolute for rates: B - A)
    ci: tuple[float, float] | None = None  # interval of `shift` at CONFIDENCE
    method: str = ""
    relative: bool = True  # shift is relative (B/A - 1), else absolute (B - A)
    quiet: dict | None = None  # latency quantiles: the quietest stretch of each run, whose shift gives the verdict


@dataclass
class Comparison:
    a: str  # run ids
    b: str
    kind_a: str
    kind_b: str
    threshold: float
    notes: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def regressions(self) -> list[Line]:
        return [ln for ln in self.lines if ln.verdict == REGRESSED]

    def to_dict(self) -> dict:
        return {
            "schema": "edgeperf.compare/1",
            "a": self.a,
            "b": self.b,
            "kinds": [self.kind_a, self.kind_b],
            "threshold": self.threshold,
            "confidence": CONFIDENCE,
            "notes": self.notes,
            "lines": [_finite(asdict(ln)) for ln in self.lines],
            "regressions": [ln.figure for ln in self.regressions],
        }


def _finite(d: dict) -> dict:
    """JSON has no infinity: a change 'from 0' is written as null."""

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return [clean(x) for x in v] if isinstance(v, (tuple, list)) else v

    return {k: clean(v) for k, v in d.items()}


def compare(a: StoredRun, b: StoredRun, threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """Compare run B against run A (the baseline).

    Args:
        a: The baseline run (a `StoredRun`: `Store.get`, `Store.resolve`, or edgeperf.results.store.resolve).
        b: The run held against it, of the same report kind.
        threshold: The relative change (0.1: 10%) below which a figure counts as unchanged.

    Returns:
        The Comparison: a line per figure with its change, interval and verdict; `regressions` lists the worse.

    Examples:
        >>> import edgeperf
        >>> _ = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> with edgeperf.Store.open("runs.db") as store:
        ...     ids = [store.record(edgeperf.profile("policy.onnx", duration=0.1, warmup=10)) for _ in range(2)]
        ...     a, b = store.get(ids[0]), store.get(ids[1])
        >>> result = edgeperf.compare(a, b, threshold=0.5)
        >>> result.to_dict()["schema"], any(line.figure == "p99_us" for line in result.lines)
        ('edgeperf.compare/1', True)
    """
    ka, kb = a.kind, b.kind
    c = Comparison(a.run_id, b.run_id, ka, kb, threshold, notes=_context(a.report, b.report))
    if ka != kb:
        c.notes.insert(
            0,
            f"A is {_a(ka)} run and B {_a(kb)} run: their figures measure different things, nothing is compared",
        )
        return c
    if a.run_id == b.run_id:
        c.notes.insert(0, "A and B are the same run")
    {"profile": _profile, "export": _export, "validate": _validate, "measure": _measure, "hil": _hil}[ka](a, b, c)
    return c


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


# --- what differs besides the figures --------------------------------------------------------------------------


def _context(ra: dict, rb: dict) -> list[str]:
    """Plain statements of what differs between the runs besides the figures (so a shift is not misread)."""
    notes = []
    da, db = figures.document(ra), figures.document(rb)
    ma, mb = da.model or Model(), db.model or Model()
    if ma.sha256 != mb.sha256:
        notes.append(
            f"different models: A {ma.path} ({(ma.sha256 or '?')[:12]}), B {mb.path} "
            f"({(mb.sha256 or '?')[:12]}): a shift is the models' difference, not a regression of one model"
        )
    ha, hb = da.host or Host(), db.host or Host()
    if ha.device != hb.device:
        notes.append(f"different devices: A on {ha.device}, B on {hb.device}: a shift is the machines' difference")
    elif ha.cpu != hb.cpu:
        notes.append(f"same device id but different CPUs: A {ha.cpu}, B {hb.cpu}")
    ca, cb = da.config or ReportConfig(), db.config or ReportConfig()
    keys = [k for k in ("scenario", "backend", "accelerator", "rate_hz", "deadline_ms", "batch", "threads",
                        "precision", "stress", "observations", "power") if ca.at(k) != cb.at(k)]  # fmt: skip
    if keys and da.kind == db.kind:
        notes.append("different settings: " + ", ".join(f"{k} {ca.at(k)!r} -> {cb.at(k)!r}" for k in keys))
    va, vb = ha.versions or {}, hb.versions or {}
    changed = [k for k in sorted(set(va) | set(vb)) if va.get(k) != vb.get(k)]
    if changed:
        notes.append("different versions: " + ", ".join(f"{k} {va.get(k)} -> {vb.get(k)}" for k in changed))
    return notes


# --- verdicts --------------------------------------------------------------------------------------------------


def _direction(spec: figures.Spec, shift: float) -> str:
    worse = shift > 0 if spec.better == "lower" else shift < 0
    return REGRESSED if worse else IMPROVED


def _verdict(spec: figures.Spec, shift: float, ci: tuple[float, float] | None, threshold: float) -> str:
    """regressed / improved only when beyond the threshold and (when an interval is known) significant."""
    if shift == 0:
        return SAME
    significant = ci is None or ci[0] > 0 or ci[1] < 0
    if abs(shift) > threshold and significant:
        return _direction(spec, shift)
    return NOISE


def _scalar(kind: str, name: str, a: StoredRun, b: StoredRun, c: Comparison, method: str = "threshold only") -> None:
    """A figure that is one number per run: its relative change against the threshold."""
    spec = figures.FIGURES[kind][name]
    fa, fb = spec.get(a.report), spec.get(b.report)
    if fa.value is None or fb.value is None:
        why = "; ".join(f"{w}: {f.reason}" for w, f in (("A", fa), ("B", fb)) if f.value is None)
        c.lines.append(Line(name, spec.label, spec.unit, fa.value, fb.value, ABSENT, method=why))
        return
    if spec.better is None or isinstance(fa.value, (str, bool)):
        same = fa.value == fb.value
        verdict = SAME if same else CHANGED
        if not same and name in ("verdict", "parity_passed"):
            good = {"equivalent", True}
            verdict = REGRESSED if fa.value in good else IMPROVED if fb.value in good else CHANGED
        c.lines.append(Line(name, spec.label, spec.unit, fa.value, fb.value, verdict, method="equal or not"))
        return
    va, vb = float(fa.value), float(fb.value)
    shift = (vb - va) / abs(va) if va else (math.inf if vb > va else 0.0)
    est = " (an estimate in A or B)" if fa.estimate or fb.estimate else ""
    c.lines.append(
        Line(name, spec.label, spec.unit, va, vb, _verdict(spec, shift, None, c.threshold), shift, None, method + est)
    )


def _z_two_proportions(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z test (1 when there is no variation)."""
    if not n1 or not n2:
        return 1.0
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x2 / n2 - x1 / n1) / se
    return 2 * (1 - NormalDist().cdf(abs(z)))


def _rate(name: str, label: str, a: tuple[int, int] | None, b: tuple[int, int] | None, better: str, c: Comparison,
          why: str = "") -> None:  # fmt: skip
    """A rate (misses of periods, successes of episodes): significant by the two-proportion test; beyond the
    threshold relatively (a miss rate from 0.1% to 0.12% is +20%), or, from 0, any significant rise."""
    if a is None or b is None:
        c.lines.append(Line(name, label, "", a and a[0] / a[1], b and b[0] / b[1], ABSENT, method=why))
        return
    ra, rb = a[0] / a[1], b[0] / b[1]
    p = _z_two_proportions(*a, *b)
    shift = rb - ra
    rel = shift / ra if ra else (math.inf if rb > ra else 0.0)
    spec = figures.Spec(label, "", lambda r: figures.Figure(None), better=better)
    if shift == 0:
        verdict = SAME
    elif p < 1 - CONFIDENCE and abs(rel) > c.threshold:
        verdict = _direction(spec, shift)
    else:
        verdict = NOISE
    c.lines.append(
        Line(name, label, "", ra, rb, verdict, shift, None, f"two-proportion z test p={p:.3g}", relative=False)
    )


# --- profiles --------------------------------------------------------------------------------------------------


BLOCKS = 10  # stretches of a run, in time order, for its drift
PAST = 20  # latencies past the quantile each stretch needs for its own quantile to mean something


def drift_ci(x_in_order: np.ndarray, q: float, confidence: float) -> tuple[float, float] | None:
    """Batch-means interval of the q-quantile of a run: the run cut into BLOCKS consecutive stretches, the
    interval the spread of their quantiles gives around the run's own; None when the run is too short for 4
    stretches of PAST latencies past the quantile."""
    k = min(BLOCKS, int(len(x_in_order) * (1 - q) // PAST))
    if k < 4:
        return None
    per = np.array([np.quantile(b, q) for b in np.array_split(x_in_order, k)])
    half = t_quantile(1 - (1 - confidence) / 2, k - 1) * float(per.std(ddof=1)) / math.sqrt(k)
    mid = float(np.quantile(x_in_order, q))
    return mid - half, mid + half


def run_ci(x_in_order: np.ndarray, sorted_x: np.ndarray, q: float, confidence: float):
    """(interval of the run's q-quantile, True when the run drifted), or None: the hull of the order-statistic
    and the batch-means intervals. Drifted: the batch-means interval over twice as wide (independent latencies
    make it that wide by chance about once in 200 runs: the spread of 10 stretches has 9 degrees of freedom)."""
    exact = quantile_ci(sorted_x, q, confidence)
    if exact is None:
        return None
    drift = drift_ci(x_in_order, q, confidence)
    if drift is None:
        return exact, False
    lo, hi = min(exact[0], drift[0]), max(exact[1], drift[1])
    return (lo, hi), drift[1] - drift[0] > 2 * (exact[1] - exact[0])


STRETCHES = 30  # at most, for the quietest stretch: ~170 ms each in a 5 s profile of a 10 us model


def stretches(n: int, q: float) -> int:
    """How many stretches a run of n latencies is cut into for its q-quantile: up to STRETCHES, each with PAST
    latencies past the quantile."""
    return min(STRETCHES, int(n * (1 - q) // PAST))


def quietest(x_in_order: np.ndarray, q: float, confidence: float, k: int) -> dict | None:
    """The quietest of k consecutive stretches of a run for the q-quantile: the lowest of their quantiles, with
    that stretch's order-statistic interval; None for fewer than 4 stretches. Both runs of a comparison are cut
    into the same number (the lowest of k stretches is lower the more there are)."""
    if k < 4:
        return None
    parts = np.array_split(x_in_order, k)
    per = [float(np.quantile(p, q)) for p in parts]
    i = int(np.argmin(per))
    ci = quantile_ci(np.sort(parts[i]), q, confidence)
    return None if ci is None else {"value": per[i], "ci": ci, "stretches": k, "stretch": i}


def shift_ci(ca: tuple[float, float], cb: tuple[float, float]) -> tuple[float, float]:
    """Interval of B/A - 1 from the intervals of A and B (each holding with sqrt(confidence))."""
    return cb[0] / ca[1] - 1, cb[1] / ca[0] - 1


QUANTILES = {"p50_us": 0.50, "p99_us": 0.99, "p99_9_us": 0.999}


def _profile(a: StoredRun, b: StoredRun, c: Comparison) -> None:
    each = math.sqrt(CONFIDENCE)
    xa = None if a.samples_ns is None else a.samples_ns / 1e3  # in time order, us
    xb = None if b.samples_ns is None else b.samples_ns / 1e3
    sa = None if xa is None else np.sort(xa)
    sb = None if xb is None else np.sort(xb)
    if sa is None or sb is None:
        missing = " and ".join(w for w, s in (("A", sa), ("B", sb)) if s is None)
        c.notes.append(
            f"{missing} {'have' if ' and ' in missing else 'has'} no stored samples (a report file, or a run "
            "recorded without them): p99 uses the reports' own 95% intervals, p50 and p99.9 the threshold only"
        )
    drifted = []
    for name, q in QUANTILES.items():
        spec = figures.FIGURES["profile"][name]
        fa, fb = spec.get(a.report), spec.get(b.report)
        if fa.value is None or fb.value is None:
            why = "; ".join(f"{w}: {f.reason}" for w, f in (("A", fa), ("B", fb)) if f.value is None)
            if name != "p99_9_us":
                c.lines.append(Line(name, spec.label, spec.unit, fa.value, fb.value, ABSENT, method=why))
            continue
        va, vb = float(fa.value), float(fb.value)
        ci, method = None, "threshold only (no samples)"
        if sa is not None and sb is not None:
            ra, rb = run_ci(xa, sa, q, each), run_ci(xb, sb, q, each)
            if not (ra and rb and ra[0][0] > 0):
                # An interval needs enough samples past the quantile: without one the shift is not judged.
                why = f"too few samples ({len(sa)} / {len(sb)}) for an interval: not judged"
                shift = vb / va - 1 if va else None
                c.lines.append(Line(name, spec.label, spec.unit, va, vb, NOISE, shift, None, why))
                continue
            ci, method = shift_ci(ra[0], rb[0]), f"order statistics and drift, n {len(sa)} / {len(sb)}"
            drifted += [f"{spec.label} in {w}" for w, r in (("A", ra), ("B", rb)) if r[1]]
            k = min(stretches(len(xa), q), stretches(len(xb), q))
            qa, qb = quietest(xa, q, each, k), quietest(xb, q, each, k)
            if qa and qb and qa["ci"][0] > 0:
                qshift = qb["value"] / qa["value"] - 1
                qci = shift_ci(qa["ci"], qb["ci"])
                quiet = {"a": qa["value"], "b": qb["value"], "shift": qshift, "ci": qci,
                         "stretches": [qa["stretches"], qb["stretches"]]}  # fmt: skip
                c.lines.append(
                    Line(name, spec.label, spec.unit, va, vb, _verdict(spec, qshift, qci, c.threshold),
                         vb / va - 1 if va else None,
                         ci, method + f"; verdict on the quietest of {qa['stretches']} / {qb['stretches']} "
                         f"stretches: {qa['value']:.4g} -> {qb['value']:.4g} {spec.unit}", quiet=quiet)
                )  # fmt: skip
                continue
            method += "; too few samples for stretches: verdict on the whole runs"
        elif name == "p99_us":
            pa, pb = (_results(r).latency_us.p99_ci95 for r in (a, b))
            if pa and pb and pa[0] > 0:
                ci, method = shift_ci(tuple(pa), tuple(pb)), "the reports' p99 intervals"
        shift = vb / va - 1 if va else 0.0
        c.lines.append(
            Line(name, spec.label, spec.unit, va, vb, _verdict(spec, shift, ci, c.threshold), shift, ci, method)
        )
    if drifted:
        c.notes.append(
            "the machine drifted within a run (its stretches disagree beyond sampling noise): the interval is "
            "widened for " + ", ".join(drifted) + "; profile on a quiet machine for a tighter comparison"
        )
    da, db = (_results(r).deadline for r in (a, b))
    _rate(
        "miss_rate",
        "miss rate",
        (da.misses, da.periods) if da else None,
        (db.misses, db.periods) if db else None,
        "lower",
        c,
        why="a stream profile has no deadline (profile with --rate)",
    )
    # Not throughput: in a stream it is 1 / mean latency (the quantiles above say more), in a loop the rate.
    for name in ("mj_per_inference", "peak_rss_mb"):
        _scalar("profile", name, a, b, c)


# --- the other kinds -------------------------------------------------------------------------------------------


def _export(a: StoredRun, b: StoredRun, c: Comparison) -> None:
    for name in ("parity_passed", "parity_max_abs_error", "parity_p99_abs_error", "size_mb"):
        _scalar("export", name, a, b, c)
    pa, pb = (figures.walk(_results(r), "parity", "max_abs_error_per_dim") for r in (a, b))
    if pa and pb and len(pa) == len(pb):
        spec = figures.Spec("parity max err", "", lambda r: figures.Figure(None))
        for i, (x, y) in enumerate(zip(pa, pb, strict=True)):
            if not (_number(x) and _number(y)):  # a NaN error is written as null: nothing to compare
                c.lines.append(Line(f"parity_max_abs_error[{i}]", f"parity max err dim {i}", "", x, y, ABSENT,
                                    method="not a number in A or B (NaN in the parity run)"))  # fmt: skip
                continue
            shift = (y - x) / x if x else (math.inf if y > x else 0.0)
            c.lines.append(
                Line(f"parity_max_abs_error[{i}]", f"parity max err dim {i}", "", x, y,
                     _verdict(spec, shift, None, c.threshold), shift, None, "threshold only")
            )  # fmt: skip
    elif pa and pb:
        c.notes.append(f"the action dimensions differ (A {len(pa)}, B {len(pb)}): parity per dimension not compared")


def _results(r: StoredRun):
    """A stored run's results, typed (results/kinds/)."""
    return figures.document(r.report).results


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _successes(r: StoredRun, who: str) -> tuple[int, int] | None:
    s = figures.walk(_results(r), who)
    if s is None or not s.has("success_rate") or not s.episodes:
        return None
    return round(s.success_rate * s.episodes), int(s.episodes)


def _returns(name: str, who: str, a: StoredRun, b: StoredRun, c: Comparison) -> None:
    ra, rb = (figures.walk(_results(r), who, "return") for r in (a, b))
    if not ra or not ra.keys or not rb or not rb.keys:
        c.lines.append(Line(name, "mean return", "", None, None, ABSENT, method="no returns in A or B"))
        return
    va, vb = ra.mean, rb.mean
    ca, cb = ra.ci95 or [None, None], rb.ci95 or [None, None]
    if not all(_number(v) for v in (va, vb, *ca, *cb)):  # NaN returns are written as null
        c.lines.append(Line(name, "mean return", "", va, vb, ABSENT, method="not a number in A or B (NaN returns)"))
        return
    overlap = not (ca[1] < cb[0] or cb[1] < ca[0])
    shift = (vb - va) / abs(va) if va else (math.inf if vb > va else -math.inf if vb < va else 0.0)
    spec = figures.Spec("mean return", "", lambda r: figures.Figure(None), better="higher")
    verdict = SAME if vb == va else NOISE if overlap or abs(shift) <= c.threshold else _direction(spec, shift)
    c.lines.append(Line(name, "mean return", "", va, vb, verdict, shift, None, "95% intervals of the means overlap?"))


def _validate(a: StoredRun, b: StoredRun, c: Comparison) -> None:
    _scalar("validate", "verdict", a, b, c)
    why = "the domain has no success criterion"
    _rate("success", "success", _successes(a, "deployed"), _successes(b, "deployed"), "higher", c, why)
    _returns("return", "deployed", a, b, c)
    _scalar("validate", "return_diff", a, b, c)


def _measure(a: StoredRun, b: StoredRun, c: Comparison) -> None:
    for name in ("exit_code", "energy_j", "wall_s", "peak_rss_mb"):
        _scalar("measure", name, a, b, c)


def _hil(a: StoredRun, b: StoredRun, c: Comparison) -> None:
    la, lb = (figures.walk(_results(r), "link") or Link() for r in (a, b))
    _rate(
        "miss_rate",
        "miss rate",
        (la.misses, la.exchanges) if la.exchanges else None,
        (lb.misses, lb.exchanges) if lb.exchanges else None,
        "lower",
        c,
        why="no link steps",
    )
    _scalar("hil", "verdict", a, b, c)
    _rate("success", "success", _successes(a, "hil"), _successes(b, "hil"), "higher", c, "no success criterion")
    _scalar("hil", "round_trip_p99_us", a, b, c)


# --- terminal --------------------------------------------------------------------------------------------------

STYLE = {REGRESSED: "red", IMPROVED: "green", NOISE: "dim", SAME: "dim", CHANGED: "yellow", ABSENT: "dim"}


def _fmt(v, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "passed" if v else "FAILED"
    if isinstance(v, str):
        return v
    return f"{v:.4g}" + (f" {unit}" if unit else "")


def _pct(x: float, relative: bool) -> str:
    if not math.isfinite(x):
        return "from 0"
    return f"{100 * x:+.1f}%" if relative else f"{100 * x:+.2f} pt"


def _short(text: str, n: int = 70) -> str:
    """A reason for a table cell: its first clause (the JSON has it whole)."""
    first = text.split(": ", 1)[0] if text.startswith(("A: ", "B: ")) is False else text
    first = first.split("; ")[0]
    return first if len(first) <= n else first[: n - 1] + "…"


def render(c: Comparison, out) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not out.is_terminal:
        out.width = max(out.width, 150)  # a file or a pipe: one figure a line
    for n in c.notes:
        out.print(f"[yellow]note:[/yellow] {escape(n)}")
    if not c.lines:
        return
    t = Table(title=f"B {c.b[:12]} against A {c.a[:12]} (threshold {100 * c.threshold:g}%, {100 * CONFIDENCE:g}% CI)")
    cols = ("figure", "A", "B", "change", "CI of change", "quietest stretch", "verdict", "method")
    for col in cols:
        t.add_column(col, justify="left" if col in ("figure", "verdict", "method") else "right")
    for ln in c.lines:
        change = "" if ln.shift is None else _pct(ln.shift, ln.relative)
        ci = "" if ln.ci is None else f"[{_pct(ln.ci[0], True)}, {_pct(ln.ci[1], True)}]"
        quiet = "" if ln.quiet is None else _pct(ln.quiet["shift"], True)
        style = STYLE.get(ln.verdict, "")
        t.add_row(
            escape(ln.label), escape(_fmt(ln.a, ln.unit)), escape(_fmt(ln.b, ln.unit)), change, ci, quiet,
            f"[{style}]{ln.verdict}[/{style}]", f"[dim]{escape(_short(ln.method))}[/dim]",
        )  # fmt: skip
    out.print(t)
    bad = c.regressions
    if bad:
        out.print(f"[red]{len(bad)} regressed:[/red] " + ", ".join(escape(ln.label) for ln in bad))
    else:
        out.print("[green]no regression beyond the threshold[/green]")
