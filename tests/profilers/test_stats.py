import numpy as np
import pytest

from edgeperf.profilers.stats import (
    N_BUCKETS,
    RELATIVE_PRECISION,
    DeadlineStats,
    Quantiles,
    deadline_stats,
    latency_stats,
)
from edgeperf.results.intervals import quantile_ci


def test_percentiles_match_numpy_and_are_in_microseconds():
    ns = np.random.default_rng(0).lognormal(mean=9, sigma=0.3, size=20_000)
    s, warnings = latency_stats(ns)
    us = ns / 1e3
    assert s["count"] == 20_000
    for key, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)):
        assert s[key] == pytest.approx(np.percentile(us, q))
    assert s["min"] <= s["p50"] <= s["p99"] <= s["max"]
    assert s["cov"] == pytest.approx(us.std(ddof=1) / us.mean())
    assert warnings == []


def test_p99_interval_covers_the_true_quantile():
    """Coverage of the order-statistic interval over many samples of a known distribution (~95% nominal)."""
    rng = np.random.default_rng(1)
    true = -np.log(0.01)  # p99 of Exp(1)
    hits = sum(
        lo <= true <= hi for lo, hi in (quantile_ci(np.sort(rng.exponential(size=3000)), 0.99) for _ in range(400))
    )
    assert 0.90 <= hits / 400 <= 0.99


def test_short_run_names_the_tail_it_cannot_support(cli, example_onnx):
    stats, _ = latency_stats(np.full(500, 1000.0))
    assert stats["tail_unsupported"]["p99"] == "5 samples beyond it of 500: 1000 inferences needed"
    assert list(stats["tail_unsupported"]) == ["p99", "p99_9"] and stats["p99"] == 1.0  # kept in the report
    assert "tail_unsupported" not in latency_stats(np.full(20_000, 1000.0))[0]
    r = cli("profile", example_onnx, "--iterations", "300", "--duration", "0", "--no-power")
    header = next(line for line in r.out.splitlines() if "p50" in line)
    assert "p95" in header and "p99" not in header and "not shown, too few samples" in r.out
    assert quantile_ci(np.arange(50.0), 0.99) is None
    assert "p99_ci95" not in latency_stats(np.arange(50.0))[0]


def test_noisy_run_warns():
    ns = np.concatenate([np.full(5000, 1000.0), np.full(100, 50_000.0)])
    assert any("noisy" in w for w in latency_stats(ns)[1])


def test_empty():
    s, w = latency_stats(np.array([]))
    assert s == {"count": 0} and w


# Bounded statistics: the exact buffer, the histogram past it, and the streamed deadline statistics.


def _stream(n: int, seed: int = 0) -> np.ndarray:
    """Latencies in ns like a real run's: a lognormal body around 20 us and a heavy tail out to ~50 ms."""
    rng = np.random.default_rng(seed)
    body = rng.lognormal(np.log(20_000), 0.3, n)
    tail = rng.pareto(1.2, n) * 50_000 + 20_000
    return np.where(rng.random(n) < 0.01, tail, body).astype(np.int64)


def _feed(q, x: np.ndarray, sizes=(4096, 1, 777, 256)) -> None:
    i = k = 0
    while i < len(x):
        q.add(x[i : i + sizes[k % len(sizes)]])
        i += sizes[k % len(sizes)]
        k += 1


def test_percentiles_past_the_exact_buffer_are_within_the_stated_precision():
    x = _stream(200_000)
    q = Quantiles(capacity=2_000)  # 100x fewer than fed
    _feed(q, x)
    assert not q.exact and "histogram" in q.method
    for p in (0, 0.1, 1, 10, 50, 90, 95, 99, 99.9, 99.99, 100):
        exact = np.percentile(x, p)
        assert abs(q.percentile(p) - exact) <= RELATIVE_PRECISION * exact, p
    assert q.count == len(x)
    assert q.mean == pytest.approx(x.mean(), rel=1e-12)
    assert q.std(ddof=1) == pytest.approx(x.std(ddof=1), rel=1e-9)
    assert (q.min, q.max) == (x.min(), x.max())
    s, _ = latency_stats(q)
    assert s["method"] == q.method and s["relative_precision"] == RELATIVE_PRECISION
    assert s["p99_9"] == pytest.approx(np.percentile(x, 99.9) / 1e3, rel=RELATIVE_PRECISION)
    lo, hi = s["p99_ci95"]
    ref = quantile_ci(np.sort(x) / 1e3, 0.99)
    assert lo == pytest.approx(ref[0], rel=RELATIVE_PRECISION) and hi == pytest.approx(ref[1], rel=RELATIVE_PRECISION)


def test_while_the_samples_fit_percentiles_are_exact():
    x = _stream(5_000)
    q = Quantiles(capacity=5_000)
    _feed(q, x)
    assert q.exact and (q.values() == x).all()
    s, _ = latency_stats(q)
    assert s["method"] == "exact" and "relative_precision" not in s
    assert s["p99_9"] == pytest.approx(np.percentile(x, 99.9) / 1e3, rel=1e-12)


def test_every_value_is_bucketed_within_the_precision():
    v = np.unique(np.r_[np.arange(100_000), 2 ** np.arange(11, 53), 2 ** np.arange(11, 53) - 1])
    q = Quantiles(capacity=1)
    q.add(v)
    mid = q.at_rank(np.arange(len(v)))
    assert (np.abs(mid - v) <= RELATIVE_PRECISION * v).all()


def _nbytes(obj) -> int:
    """Bytes held in the numpy arrays and lists of a statistics object, recursively."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, list):
        return 8 * len(obj)
    if hasattr(obj, "__dict__"):
        return sum(_nbytes(v) for v in vars(obj).values())
    return 0


def test_memory_stays_bounded_while_fed_ten_times_the_buffer():
    period = 1_000_000
    q, d = Quantiles(capacity=10_000), DeadlineStats(period, period, capacity=10_000)
    sizes = []
    for k in range(100):  # 100 chunks of 1000: 10x the exact buffer
        lat = _stream(1_000, seed=k)
        release = (np.arange(1_000) + 1_000 * k) * period
        q.add(lat)
        d.add(release, release + 5_000, release + 5_000 + lat * 60)  # some miss, so miss indices fill too
        sizes.append((_nbytes(q), _nbytes(d)))
    assert not q.exact and not d.lateness.exact and d.misses > 1_000
    # Once every buffer has overflowed (the lateness one last: only misses enter it), not one byte more.
    assert len(set(sizes[50:])) == 1
    assert sizes[-1][0] == 8 * N_BUCKETS and sizes[-1][1] <= 4 * 8 * N_BUCKETS + 8 * 1_001


def _exact_deadline(release, start, end, period, deadline):
    """The definitions, computed the plain way over whole arrays."""
    response = end - release
    missed = response > deadline
    streak = best = 0
    for m in missed.tolist():
        streak = streak + 1 if m else 0
        best = max(best, streak)
    jitter = np.diff(start) - period
    return response, missed, best, jitter


def test_deadline_stats_streamed_equal_the_exact_computation():
    """A known pattern: misses in runs of 1, 300 (across chunk boundaries) and 1500, a lateness that grows
    with the index; fed in uneven chunks through a buffer 40x too small."""
    period, deadline, n = 1_000_000, 800_000, 40_000
    rng = np.random.default_rng(3)
    release = np.arange(n, dtype=np.int64) * period
    start = release + rng.integers(1_000, 50_000, n)
    end = start + rng.integers(100_000, 700_000, n)
    late = np.zeros(n, bool)
    late[[5, 17, 4_000]] = True
    late[250:550] = True  # a streak of 300 over the 256 and 512 chunk edges
    late[10_000:11_500] = True  # the longest: 1500
    late[30_000::7] = True  # more than 1000 listed misses in all
    end[late] = release[late] + deadline + 1 + np.arange(late.sum()) * 3
    d = DeadlineStats(period, deadline, capacity=1_000)
    i, k, sizes = 0, 0, (256, 1, 4096, 999)
    while i < n:
        j = i + sizes[k % 4]
        d.add(release[i:j], start[i:j], end[i:j])
        i, k = j, k + 1
    got = d.result()
    response, missed, best, jitter = _exact_deadline(release, start, end, period, deadline)
    assert got["periods"] == n and got["misses"] == missed.sum()
    assert got["miss_rate"] == pytest.approx(missed.mean())
    assert got["longest_miss_streak"] == best == 1500
    assert got["miss_indices"] == np.flatnonzero(missed)[:1000].tolist() and got["miss_indices_truncated"]
    for key, values in (
        ("response_us", response),
        ("lateness_us", response[missed] - deadline),
        ("start_delay_us", start - release),
    ):
        s, us = got[key], values / 1e3
        assert s["count"] == len(us) and s["mean"] == pytest.approx(us.mean(), rel=1e-12) and s["max"] == us.max()
        for p in (50, 99):
            assert s[f"p{p}"] == pytest.approx(np.percentile(us, p), rel=RELATIVE_PRECISION), key
    j = got["period_jitter_us"]
    assert j["std"] == pytest.approx(jitter.std() / 1e3, rel=1e-9)
    assert j["max_abs"] == np.abs(jitter).max() / 1e3
    assert j["p99_abs"] == pytest.approx(np.percentile(np.abs(jitter), 99) / 1e3, rel=RELATIVE_PRECISION)
    assert "histogram" in got["method"]
    # The whole-array function on the same data agrees, exactly where it is exact.
    whole = deadline_stats(release, start, end, period, deadline)
    for key in ("misses", "longest_miss_streak", "miss_indices", "periods"):
        assert whole[key] == got[key]
    assert "method" not in whole


def test_a_streak_that_runs_through_whole_chunks():
    d = DeadlineStats(10, 10, capacity=4)
    for chunk in ([0, 20, 20], [20, 20, 20], [20], [0, 20, 0]):  # responses: misses where 20 > 10
        r = np.zeros(len(chunk), np.int64)
        d.add(r, r, np.asarray(chunk, np.int64))
    assert d.result()["longest_miss_streak"] == 6 and d.result()["misses"] == 7
