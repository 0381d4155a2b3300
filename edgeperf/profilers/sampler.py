"""The background sampler: reads power sources at a stated rate on a thread, timestamps on the same
monotonic clock as the latency timings (perf_counter_ns), so energy can be integrated over exactly the
measured window.

A sensor that fails never stops the run: a read that raises, a rail that disappears or a value that is not a
number are recorded as warnings (once each), and the figures they would have fed are reported unmeasured.
Extra probes (thermal and clocks, a child process tree's memory) ride on the same thread at their own rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edgeperf.config.profile import MAX_POWER_RATE_HZ
from edgeperf.profilers.energy import Series
from edgeperf.profilers.power.base import PowerSource

DEFAULT_RATE_HZ = 10.0
MAX_RATE_HZ = MAX_POWER_RATE_HZ  # --power-rate's bound (config)
# Beyond these a reading is garbage, not a measurement (a 10 kW robot computer, a 1 PJ counter).
MAX_W = 10_000.0
MAX_J = 1e15


@dataclass
class SourceTrace:
    source: PowerSource
    rails: dict[str, Series] = field(default_factory=dict)
    reads: int = 0
    failed_reads: int = 0
    lost: dict[str, float] = field(default_factory=dict)  # rail -> seconds into sampling when it stopped


class Sampler:
    """Samples `sources` every 1/rate_hz seconds until stopped; `extras` are called every `extra_period_s`."""

    def __init__(
        self,
        sources: list[PowerSource],
        rate_hz: float = DEFAULT_RATE_HZ,
        *,
        extras: list[Callable[[int], None]] | None = None,
        extra_period_s: float = 1.0,
    ):
        if not (math.isfinite(rate_hz) and 0 < rate_hz <= MAX_RATE_HZ):
            raise ValueError(f"sampling rate must be in (0, {MAX_RATE_HZ:g}] Hz, got {rate_hz}")
        self.rate_hz = rate_hz
        self.period_ns = round(1e9 / rate_hz)
        self.traces = {s.name: SourceTrace(s) for s in sources}
        self.extras = list(extras or [])
        self.extra_period_ns = round(extra_period_s * 1e9)
        self.warnings: list[str] = []
        self.ticks = 0
        self.started_ns: int | None = None
        self.stopped_ns: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> Sampler:
        self.started_ns = time.perf_counter_ns()
        self.sample()  # one reading at once, so the idle window is bracketed from its start
        self._thread = threading.Thread(target=self._loop, name="edgeperf-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.sample()  # a last reading after the window's end, so it is bracketed
        self.stopped_ns = time.perf_counter_ns()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _loop(self) -> None:
        next_ns = self.started_ns + self.period_ns
        next_extra = self.started_ns
        while not self._stop.is_set():
            wait = (next_ns - time.perf_counter_ns()) / 1e9
            if wait > 0 and self._stop.wait(wait):
                break
            now = self.sample()
            if self.extras and now >= next_extra:
                self._run_extras(now)
                next_extra = now + self.extra_period_ns
            next_ns += self.period_ns
            if next_ns < now:  # a read took longer than a period: skip ahead rather than burst
                next_ns = now + self.period_ns

    # -- one tick --------------------------------------------------------------------------------------
    def sample(self) -> int:
        with self._lock:
            self.ticks += 1
            for trace in self.traces.values():
                self._read(trace)
            return time.perf_counter_ns()

    def _read(self, trace: SourceTrace) -> None:
        src = trace.source
        trace.reads += 1
        try:
            reading = src.read()
        except Exception as exc:
            trace.failed_reads += 1
            self.warn(f"{src.name}: a read failed ({type(exc).__name__}: {exc}); its samples have a gap there")
            return
        since = (reading.timestamp_ns - self.started_ns) / 1e9 if self.started_ns else 0.0
        seen = set()
        for kind, values, limit in (("power", reading.power_W, MAX_W), ("energy", reading.energy_J, MAX_J)):
            for rail, value in values.items():
                if not _valid(value, limit):
                    self.warn(
                        f"{src.name} rail {rail}: the sensor returned {value!r}, not a {kind} reading; "
                        "that sample is dropped"
                    )
                    continue
                series = trace.rails.get(rail)
                if series is None:
                    if trace.reads > 1 and trace.rails:
                        self.warn(f"{src.name} rail {rail} appeared {since:.1f} s into sampling")
                    series = trace.rails[rail] = Series(kind, wrap_J=src.wrap_J(rail) if kind == "energy" else None)
                series.add(reading.timestamp_ns, float(value))
                seen.add(rail)
        for rail in trace.rails.keys() - seen:
            if rail not in trace.lost:
                trace.lost[rail] = since
                self.warn(
                    f"{src.name} rail {rail} stopped reporting {since:.1f} s into sampling (the sensor vanished "
                    "or its file returned garbage); figures it no longer covers are not reported"
                )
        for rail in seen & trace.lost.keys():
            trace.lost.pop(rail)  # it came back; its gap is interpolated over

    def _run_extras(self, now: int) -> None:
        for extra in self.extras:
            try:
                extra(now)
            except Exception as exc:
                self.warn(f"sampling {getattr(extra, '__name__', 'a probe')} failed: {type(exc).__name__}: {exc}")

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    # -- figures ---------------------------------------------------------------------------------------
    @property
    def achieved_hz(self) -> float | None:
        if self.started_ns is None or self.stopped_ns is None or self.ticks < 2:
            return None
        return (self.ticks - 1) / ((self.stopped_ns - self.started_ns) / 1e9)


def _valid(value, limit: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= limit
