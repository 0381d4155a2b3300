"""The profiler against ground truth: injected latencies, an exact overrun pattern, releases read on an
independent clock, and co-runners seen burning CPU by the kernel's own accounting."""

import time

import numpy as np
import pytest

from edgeperf.profilers.run import run_profile
from tests.injected import InjectedLatency


def test_stream_measures_an_injected_500us_at_p50():
    """The issue's bar is 2%; 5% here leaves room for a shared machine (scripts/bench_runtime.py reports it)."""
    done = run_profile(InjectedLatency(500), iterations=400, duration=0, warmup=10)
    assert done.report.results["latency_us"]["p50"] == pytest.approx(500, rel=0.05)
    assert "cold_start" in done.report.unmeasured  # the caller opened the session


def test_periodic_reports_exactly_the_overrun_pattern():
    """50 Hz (20 ms period); every 10th inference takes 30 ms: exactly those periods miss, and the late start
    of the period after each overrun (10 ms) still meets its deadline. (scripts/bench_runtime.py checks the same
    at 200 Hz; the long period here leaves room for a loaded machine's scheduler.)"""
    done = run_profile(
        InjectedLatency(50, overrun_us=30_000, every=10), rate=50, iterations=60, duration=0, warmup=0, power="off"
    )
    d = done.report.results["deadline"]
    assert d["periods"] == 60
    assert d["miss_indices"] == list(range(9, 60, 10))
    assert d["misses"] == 6 and d["miss_rate"] == pytest.approx(0.1)
    assert d["longest_miss_streak"] == 1
    assert 9_900 <= d["lateness_us"]["p50"] <= 16_000  # the 10 ms overrun excess, plus any wake-up delay
    assert d["deadline_us"] == 20_000 and d["period_us"] == 20_000
    assert any("6 of 60 deadlines missed" in w for w in done.report.warnings)


def test_periodic_deadline_shorter_than_the_period():
    done = run_profile(
        InjectedLatency(50, overrun_us=30_000, every=4),
        rate=20,
        deadline_ms=20.0,
        iterations=24,
        duration=0,
        warmup=0,
        power="off",
    )
    d = done.report.results["deadline"]
    assert d["deadline_us"] == 20_000 and d["period_us"] == 50_000
    assert d["miss_indices"] == list(range(3, 24, 4))


class WallClocked(InjectedLatency):
    """The injected session, noting the wall clock (CLOCK_REALTIME, not the profiler's perf_counter) as each
    inference starts: the releases are checked against time as it passed, not against their own formula."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.started_ns: list[int] = []

    def infer(self, index):
        self.started_ns.append(time.time_ns())
        return super().infer(index)


def test_releases_never_drift():
    """50 Hz for 30 periods; every 5th inference overruns by 10 ms (30 ms > 20 ms). A loop that slept one
    period after each inference (or restarted its schedule after a late one) would drift 20 us per period plus
    10 ms per overrun: ~60 ms by the end. Absolute releases keep every on-time start at k * 20 ms."""
    period_ms, n = 20.0, 30
    session = WallClocked(20, overrun_us=30_000, every=5)
    done = run_profile(session, rate=50, iterations=n, duration=0, warmup=0, power="off")
    assert set(range(4, n, 5)) <= set(done.report.results["deadline"]["miss_indices"])  # each overrun misses
    wall_ms = (np.asarray(session.started_ns[-n:]) - session.started_ns[-n]) / 1e6  # the loop's n inferences
    on_time = [k for k in range(n) if k % 5 != 0 or k == 0]  # k = 5, 10, ... start late, after an overrun
    err_ms = wall_ms[on_time] - np.asarray(on_time) * period_ms  # each start's offset from its schedule
    half = len(on_time) // 2
    # Drift: the schedule offset of the second half against the first (medians: a late wake-up of a few ms on a
    # loaded machine moves one start, not the median). A drifting loop is ~30 ms off by then.
    drift_ms = np.median(err_ms[half:]) - np.median(err_ms[:half])
    assert abs(drift_ms) < 8.0, err_ms


def test_stress_co_runners_burn_cpu_while_the_profile_measures():
    """The co-runners' CPU time, read from the kernel (/proc via psutil) while the measurement runs: a stress
    scenario whose co-runners are missing or idle is not a stress scenario."""
    psutil = pytest.importorskip("psutil")
    me = psutil.Process()
    before = {p.pid for p in me.children()}
    seen: list[tuple[float, int, float]] = []  # (wall s, co-runners alive, their CPU s)

    def progress(i, elapsed_s):
        runners = [p for p in me.children() if p.pid not in before]
        cpu = 0.0
        for p in runners:
            with_times = p.cpu_times()
            cpu += with_times.user + with_times.system
        seen.append((time.monotonic(), len(runners), cpu))

    run_profile(InjectedLatency(20), iterations=1, duration=1.5, warmup=0, stress=2, power="off", progress=progress)
    assert len(seen) >= 3, seen
    assert all(alive == 2 for _, alive, _ in seen), seen
    wall = seen[-1][0] - seen[0][0]
    burnt = seen[-1][2] - seen[0][2]
    # Two spinning processes, even on a machine loaded by others (~0.2 of a core seen here under 4 other
    # spinners): at least a tenth of one core between them. Missing or idle co-runners burn nothing.
    assert burnt >= 0.1 * wall, (burnt, wall)
    assert {p.pid for p in me.children()} <= before  # and they are gone afterwards
