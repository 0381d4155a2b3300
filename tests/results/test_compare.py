"""`compare`: a verdict needs both significance and a shift beyond the threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeperf.results import compare as cmp
from edgeperf.results.intervals import quantile_ci
from edgeperf.results.store import Store, StoredRun
from tests.results.runs import doc, export_doc, profiled, validate_doc


def _profile_run(samples_ns: np.ndarray, **kw) -> StoredRun:
    x = np.sort(samples_ns)
    lat = {"p50": float(np.percentile(x, 50)) / 1e3, "p99": float(np.percentile(x, 99)) / 1e3,
           "p99_9": float(np.percentile(x, 99.9)) / 1e3}  # fmt: skip
    d = doc("profile", {"latency_us": lat, "memory": {"peak_rss_bytes": 80 * 2**20}}, **kw)
    return StoredRun(d["run_id"], d, samples_ns)


def _lines(c):
    return {ln.figure: ln for ln in c.lines}


def _lognormal(rng, n, scale=1.0):
    return (rng.lognormal(np.log(50_000), 0.3, n) * scale).astype(np.int64)


def test_the_quantile_interval_is_calibrated_on_equal_distributions():
    """200 pairs from one distribution: the p99 shift interval excludes 0 in at most ~5% of them (it is
    conservative: both intervals hold together), and p50's likewise."""
    rng = np.random.default_rng(3)
    wrong = {"p50_us": 0, "p99_us": 0}
    for _ in range(200):
        c = cmp.compare(_profile_run(_lognormal(rng, 4000)), _profile_run(_lognormal(rng, 4000)), threshold=0.0)
        for name in wrong:
            lo, hi = _lines(c)[name].ci
            wrong[name] += lo > 0 or hi < 0
    assert wrong["p50_us"] <= 10 and wrong["p99_us"] <= 10, wrong


def test_a_20_percent_slowdown_is_regressed_and_5_percent_is_within_noise_though_significant():
    rng = np.random.default_rng(4)
    base = _lognormal(rng, 20_000)
    slow = cmp.compare(_profile_run(base), _profile_run(_lognormal(rng, 20_000, 1.2)))
    assert _lines(slow)["p50_us"].verdict == _lines(slow)["p99_us"].verdict == cmp.REGRESSED
    assert [ln.figure for ln in slow.regressions] == ["p50_us", "p99_us", "p99_9_us"]
    fast = cmp.compare(_profile_run(base), _profile_run(_lognormal(rng, 20_000, 0.8)))
    assert _lines(fast)["p99_us"].verdict == cmp.IMPROVED
    drift = cmp.compare(_profile_run(base), _profile_run(_lognormal(rng, 20_000, 1.05)))
    p50 = _lines(drift)["p50_us"]
    assert p50.ci[0] > 0  # significant...
    assert p50.verdict == cmp.NOISE  # ...but within the 10% a rerun drifts: not a regression


def test_a_run_slowed_by_a_neighbour_for_a_while_is_within_noise_but_a_steady_slowdown_regresses():
    """B ran 30% slower in 3 stretches of 10 (a neighbour woke up): its whole-run p99 is 15% above A's and
    significant even for the order statistics; its quietest stretch is A's level, so the verdict is within noise,
    and a note says the run drifted. A steady 25% slowdown is in every stretch, the quietest too: regressed. (A
    verdict on the whole runs, or a quiet figure taken from the wrong end, fails one of the two.)"""
    rng = np.random.default_rng(6)
    a = _lognormal(rng, 100_000)
    b = _lognormal(rng, 100_000)
    busy = slice(40_000, 70_000)
    b[busy] = (b[busy] * 1.3).astype(np.int64)
    c = cmp.compare(_profile_run(a), _profile_run(b))
    p99 = _lines(c)["p99_us"]
    exact = cmp.shift_ci(*(quantile_ci(np.sort(x) / 1e3, 0.99, np.sqrt(0.95)) for x in (a, b)))
    assert p99.shift > 0.10 and exact[0] > 0  # beyond the threshold, and significant for independent latencies
    assert p99.verdict == cmp.NOISE and abs(p99.quiet["shift"]) < 0.05, p99
    assert p99.ci[0] < exact[0]  # the drift widened the whole run's interval
    assert any("drifted within a run" in n and "p99 in B" in n for n in c.notes), c.notes
    steady = cmp.compare(_profile_run(a), _profile_run(_lognormal(rng, 100_000, 1.25)))
    line = _lines(steady)["p99_us"]
    assert line.verdict == cmp.REGRESSED and line.quiet["shift"] > 0.15, line
    assert not any("drifted" in n for n in steady.notes)
    fast = cmp.compare(_profile_run(b), _profile_run(a))  # the busy run as the baseline: A is not "improved"
    assert _lines(fast)["p99_us"].verdict == cmp.NOISE


def test_runs_of_different_lengths_are_cut_into_as_many_stretches():
    """A long baseline and a short rerun of one distribution: both cut into as many stretches (the short run's
    5), so each quietest stretch is the lowest of as many candidates, and the verdict is within noise."""
    rng = np.random.default_rng(8)
    long, short = _lognormal(rng, 300_000), _lognormal(rng, 10_000)
    line = _lines(cmp.compare(_profile_run(long), _profile_run(short)))["p99_us"]
    assert line.quiet["stretches"] == [5, 5] and line.verdict == cmp.NOISE, line


def test_a_big_shift_on_few_samples_is_not_significant():
    rng = np.random.default_rng(5)
    a, b = _lognormal(rng, 60), _lognormal(rng, 60, 1.15)
    lines = _lines(cmp.compare(_profile_run(a), _profile_run(b)))
    p50, p99 = lines["p50_us"], lines["p99_us"]
    assert p50.shift > 0.10 and p50.ci[0] <= 0 < p50.ci[1] and p50.verdict == cmp.NOISE
    # 60 samples carry no interval of p99 at all: not judged rather than judged on the threshold alone
    assert p99.ci is None and p99.verdict == cmp.NOISE and "too few samples" in p99.method


def test_real_profiles_of_a_slower_session_regress_and_the_cli_fails_on_it(cli, tmp_path):
    db = tmp_path / "runs.db"
    fast, slow = profiled(40, n=2000), profiled(80, n=2000)
    with Store.open(db) as s:
        ia = s.record(fast.report, fast.run.samples_ns)
        ib = s.record(slow.report, slow.run.samples_ns)
    r = cli("compare", ia, ib, "--db", db, "--fail-on-regression", "--json", tmp_path / "c.json")
    assert r.code == 1 and "regressed beyond 10%" in r.err and "p50" in r.err, r.err
    got = json.loads((tmp_path / "c.json").read_text())
    p50 = next(ln for ln in got["lines"] if ln["figure"] == "p50_us")
    assert p50["verdict"] == "regressed" and 0.8 < p50["shift"] < 1.2  # 40 -> 80 us: +100%
    # without --fail-on-regression the verdict is shown, the exit code stays 0
    assert cli("compare", ia[:8], ib[:8], "--db", db).code == 0
    # a run against itself: nothing regressed
    same = cli("compare", ia, ia, "--db", db, "--fail-on-regression")
    assert same.code == 0 and "same run" in same.out


def test_different_kinds_models_and_devices_are_said_plainly():
    p = _profile_run(np.full(100, 50_000))
    e = export_doc()
    c = cmp.compare(p, StoredRun(e["run_id"], e, None))
    assert not c.lines and "nothing is compared" in c.notes[0]
    other = _profile_run(np.full(100, 50_000), model="b.onnx", sha="cd" * 32, device="jetson-orin-nano")
    notes = " ".join(cmp.compare(p, other).notes)
    assert "different models" in notes and "different devices" in notes


def test_miss_rate_uses_a_rate_test():
    def run(misses, periods=10_000):
        deadline = {"misses": misses, "periods": periods, "miss_rate": misses / periods}
        d = doc("profile", {"latency_us": {"p50": 1.0, "p99": 2.0}, "deadline": deadline})
        return StoredRun(d["run_id"], d, None)

    assert _lines(cmp.compare(run(10), run(40)))["miss_rate"].verdict == cmp.REGRESSED
    assert _lines(cmp.compare(run(10), run(12)))["miss_rate"].verdict == cmp.NOISE  # +20% but not significant
    assert _lines(cmp.compare(run(0), run(0)))["miss_rate"].verdict == cmp.SAME


def test_validations_success_verdict_and_exports_parity():
    def v(**kw):
        d = validate_doc(**kw)
        return StoredRun(d["run_id"], d, None)

    lines = _lines(cmp.compare(v(success=1.0, episodes=40), v(success=0.5, episodes=40, verdict="different")))
    assert lines["success"].verdict == cmp.REGRESSED and lines["verdict"].verdict == cmp.REGRESSED
    assert _lines(cmp.compare(v(success=1.0), v(success=0.95)))["success"].verdict == cmp.NOISE

    def e(**kw):
        d = export_doc(**kw)
        return StoredRun(d["run_id"], d, None)

    lines = _lines(cmp.compare(e(), e(max_err=1e-2, per_dim=(1e-2, 5e-7), passed=False)))
    assert lines["parity_passed"].verdict == cmp.REGRESSED
    assert lines["parity_max_abs_error[0]"].verdict == cmp.REGRESSED
    assert lines["parity_max_abs_error[1]"].verdict == cmp.SAME


@pytest.mark.parametrize("threshold", ["-1", "abc"])
def test_bad_threshold(bad, threshold, tmp_path):
    bad(2, "compare", "a", "b", "--threshold", threshold, "--db", tmp_path / "x.db")


@pytest.mark.parametrize(
    ("fixture", "edit"),
    [
        ("validate.json", lambda d: d["results"]["deployed"]["return"].update(mean=None)),
        ("validate.json", lambda d: d["results"]["deployed"]["return"]["ci95"].__setitem__(0, None)),
        ("export.json", lambda d: d["results"]["parity"]["max_abs_error_per_dim"].__setitem__(0, None)),
    ],
    ids=["return-mean", "return-ci", "parity-dim"],
)
def test_a_nan_written_as_null_is_absent_not_a_traceback(cli, tmp_path, fixture, edit):
    """edgeperf writes a NaN figure as null (valid JSON, allowed by the schema): compare says it cannot compare
    that line, and compares the rest."""
    import json
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / fixture
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    doc = json.loads(src.read_text())
    a.write_text(json.dumps(doc))
    edit(doc)
    b.write_text(json.dumps(doc))
    r = cli("compare", a, b, "--json", tmp_path / "c.json")
    assert r.code in (0, 1), r.err
    doc = json.loads((tmp_path / "c.json").read_text())
    assert "not a number in A or B" in json.dumps(doc), doc
