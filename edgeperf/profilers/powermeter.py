"""Power and energy of a measured window: choose the sources, sample them in the background, take an idle
baseline before the work, and turn the samples into the report's `power` and `thermal` blocks.

Used by `profile` (the window is the latency run's measured window, on the same perf_counter_ns clock) and by
`measure` (the window is the child command's lifetime).

`--power` modes: `auto` (every measured source that works here; none: power is absent with the reason),
`any` (measured when possible, else the estimate with a warning), `estimate` (the CPU-time model only,
labelled), `off`, or source names (`ina3221`, `rapl,battery`: exactly those, an error when one does not work).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from edgeperf.config.profile import POWER_MODES, check_power
from edgeperf.devices.detect import this_device
from edgeperf.devices.sysfs import is_live, sysfs_root
from edgeperf.errors import HardwareMissing
from edgeperf.profilers.energy import TRACE_POINTS, add_figures, power_trace, rail_figures
from edgeperf.profilers.power import NO_POWER, SOURCES, Availability, PowerSource, source_class
from edgeperf.profilers.power.estimate import Estimate
from edgeperf.profilers.sampler import DEFAULT_RATE_HZ, Sampler
from edgeperf.profilers.thermal import Thermal

MODES = POWER_MODES
DEFAULT_IDLE_S = 2.0
# A window should span this many sensor update periods for its energy to be more than interpolation.
MIN_UPDATE_PERIODS = 10
ESTIMATE_HINT = "`--power estimate` gives a labelled CPU-time estimate instead"


def check_options(mode: str, rate_hz: float, idle_s: float) -> None:
    """--power, --power-rate and --idle (ProfileConfig.check's, and `measure`'s)."""
    check_power(mode, rate_hz, idle_s)


@dataclass
class Selection:
    sources: list[PowerSource] = field(default_factory=list)
    reason: str | None = None  # why power is absent (no source chosen)
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # source -> why it is not used

    @property
    def estimate(self) -> bool:
        return any(s.estimate for s in self.sources)


def select(mode: str, *, device=None, root=None, cpu_seconds=None) -> Selection:
    """The sources `mode` asks for that work here (probed once; unused ones closed)."""
    sel = Selection()
    if mode == "off":
        sel.reason = "power was not measured (--no-power)"
        return sel
    if mode == "estimate":
        return _estimate(sel, device, root, cpu_seconds, measured=_working(root, sel, keep=False))
    names = list(SOURCES) if mode in ("auto", "any") else [n.strip() for n in mode.split(",")]
    working = _working(root, sel, names=names)
    if mode not in ("auto", "any"):
        missing = [n for n in names if n not in {s.name for s in working}]
        if missing:
            for s in working:
                s.close()
            raise HardwareMissing(
                "; ".join(f"--power {n}: {sel.skipped.get(n, 'not available')}" for n in missing)
                + " (`edgeperf devices` lists what works here)"
            )
    if "ina3221" in {s.name for s in working}:  # jtop reads the same monitors: sample them once
        for s in [s for s in working if s.name == "jtop"]:
            s.close()
            working.remove(s)
            sel.skipped["jtop"] = "the same INA3221 monitors are read directly from sysfs"
    sel.sources = working
    if working:
        return sel
    if mode == "any":
        sel = _estimate(sel, device, root, cpu_seconds, measured=[])
        if sel.sources:
            sel.warnings.append(
                f"{NO_POWER}; the power figures are an ESTIMATE from CPU time ({sel.sources[0].basis}), "
                "not a measurement"
            )
        return sel
    sel.reason = f"{NO_POWER} ({ESTIMATE_HINT}; `edgeperf devices` says why each source is unavailable)"
    return sel


def _working(root, sel: Selection, names=None, keep: bool = True) -> list[PowerSource]:
    """The sources among `names` that work here; `keep=False` closes them after probing (only to name them)."""
    out = []
    for name in names or SOURCES:
        src = source_class(name)(root)
        try:
            avail = src.probe()
        except Exception as exc:  # a reader that breaks on an odd machine must not stop the profile
            avail = Availability(False, f"probe failed: {type(exc).__name__}: {exc}")
        if avail.ok:
            src.announced = avail.rails
            out.append(src)
        else:
            sel.skipped[name] = avail.reason
        if not (avail.ok and keep):
            src.close()
    return out


def _estimate(sel: Selection, device, root, cpu_seconds, measured) -> Selection:
    if device is None:
        device = this_device(root)
    est = Estimate.for_device(device, root, cpu_seconds=cpu_seconds)
    avail = est.probe()
    if not avail.ok:
        sel.reason = f"no estimate: {avail.reason}"
        return sel
    sel.sources = [est]
    if measured:
        sel.warnings.append(
            f"measured power is available here ({', '.join(s.name for s in measured)}) but --power estimate "
            "reports the CPU-time model instead; drop it to measure"
        )
    return sel


class PowerMeter:
    """Select sources, sample in the background with an idle baseline first, and report the window."""

    def __init__(  # noqa: PLR0913 - keyword-only: profile's power options, measure's extras and baseline
        self,
        mode: str = "auto",
        *,
        rate_hz: float = DEFAULT_RATE_HZ,
        idle_s: float = DEFAULT_IDLE_S,
        device=None,
        root=None,
        cpu_seconds=None,
        thermal: bool = True,
        extras=None,
        extra_period_s: float = 1.0,
        baseline: str = "idle, with the model loaded, before the warm-up",
    ):
        check_options(mode, rate_hz, idle_s)
        self.mode, self.rate_hz, self.idle_s, self.baseline = mode, rate_hz, idle_s, baseline
        self.root = sysfs_root(root)
        self.selection = select(mode, device=device, root=self.root, cpu_seconds=cpu_seconds)
        self.thermal = Thermal(self.root) if thermal else None
        if self.thermal is not None and not self.thermal.present:
            self.thermal = None
        probes = list(extras or [])
        if self.thermal is not None:
            probes.insert(0, self.thermal.sample)
        self.sampler = Sampler(self.selection.sources, rate_hz, extras=probes, extra_period_s=extra_period_s)
        self.idle: tuple[int, int] | None = None
        self.running = False

    def start(self) -> PowerMeter:
        if self.thermal is not None:
            self.thermal.sample()
        if not (self.selection.sources or self.sampler.extras):
            return self
        self.sampler.start()
        self.running = True
        if self.selection.sources and self.idle_s > 0:
            t0 = time.perf_counter_ns()
            time.sleep(self.idle_s)
            self.idle = (t0, time.perf_counter_ns())
        return self

    def stop(self) -> None:
        if self.running:
            self.sampler.stop()
            self.running = False
        if self.thermal is not None:
            self.thermal.sample()
        for s in self.selection.sources:
            s.close()

    def __enter__(self) -> PowerMeter:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _source_block(self, trace, window, inferences, steps, unmeasured: dict, warnings: list) -> dict:
        src, name = trace.source, trace.source.name
        window_s = (window[1] - window[0]) / 1e9
        rails = {r: rail_figures(s, window, self.idle, inferences, steps) for r, s in trace.rails.items()}
        block: dict = {
            "description": src.description,
            "estimate": src.estimate,
            "update_period_s": src.update_period_s,
            "update_period_note": src.update_period_note,
            "samples": trace.reads,
            "failed_reads": trace.failed_reads,
            "rails": rails,
        }
        if src.estimate:
            block["basis"] = src.basis
        measured = [r for r, f in rails.items() if "energy_J" in f]
        # Rails the sensor has but that never gave a valid sample still count: a total without them is no total.
        unread = {
            r: src.unreadable.get(r, "no valid sample during the run (see the warnings)")
            for r in (*src.announced, *src.unreadable)
            if r not in trace.rails
        }
        for r, why in unread.items():
            unmeasured[f"power.{name}.{r}"] = f"could not be read: {why}"
        chosen, how = src.total_rails([*trace.rails, *unread])
        block["total_rails"], block["total_how"] = chosen, how
        lost = [r for r in chosen if r not in measured]
        if chosen and not lost:
            block["total"] = add_figures([rails[r] for r in chosen])
        else:
            why = (
                "; ".join(
                    f"{r} {'could not be read' if r in unread else 'did not cover the measured window'}" for r in lost
                )
                if lost
                else "no rail was read"
            )
            unmeasured[f"power.{name}.total"] = why
        for r in [r for r in rails if r not in measured]:
            unmeasured[f"power.{name}.{r}"] = (
                f"the rail stopped reporting at {trace.lost[r]:.1f} s"
                if r in trace.lost
                else "its samples do not cover the measured window"
            )
        period = src.update_period_s
        if period and window_s < MIN_UPDATE_PERIODS * period:
            warnings.append(
                f"the measured window ({window_s:.2g} s) spans fewer than {MIN_UPDATE_PERIODS} update periods "
                f"of {name} ({period:g} s: {src.update_period_note}): its energy is mostly interpolation; "
                "run longer (--duration)"
            )
        if self.idle and period and (self.idle[1] - self.idle[0]) / 1e9 < MIN_UPDATE_PERIODS * period:
            warnings.append(
                f"the idle baseline ({(self.idle[1] - self.idle[0]) / 1e9:.2g} s) spans fewer than "
                f"{MIN_UPDATE_PERIODS} update periods of {name}: lengthen it with --idle"
            )
        return block

    def _trace(self, trace, window: tuple[int, int]) -> dict:
        """Each rail's power over the whole sampling (idle baseline, warm-up, measured window), for charts."""
        t0 = self.sampler.started_ns or window[0]

        def rel(a: int, b: int) -> list[float]:
            return [(a - t0) / 1e9, (b - t0) / 1e9]

        rails = {r: power_trace(s, t0) for r, s in trace.rails.items()}
        return {
            "t0": "the sampler's start",
            "window_s": rel(*window),
            "idle_s": rel(*self.idle) if self.idle else None,
            "how": f"mean power over spans of consecutive samples, at most {TRACE_POINTS} per rail",
            "rails": {r: v for r, v in rails.items() if v is not None},
        }

    # -- the report --------------------------------------------------------------------------------
    def results(
        self, window: tuple[int, int], inferences: int, *, steps: int | None = None, batch: int = 1
    ) -> tuple[dict | None, dict | None, dict[str, str], list[str]]:
        """(power block or None, thermal block or None, unmeasured figures with reasons, warnings)."""
        unmeasured: dict[str, str] = {}
        warnings = list(self.selection.warnings) + list(self.sampler.warnings)
        if not is_live(self.root):
            warnings.append(
                f"hardware readings (power, thermal) come from the captured tree {self.root} "
                "(EDGEPERF_SYSFS_ROOT), not from this machine"
            )
        thermal = None
        if self.thermal is not None:
            thermal, w = self.thermal.report()
            warnings += w
        else:
            unmeasured["thermal"] = "no thermal zones or CPU frequency files under /sys on this machine"
        if not self.selection.sources:
            unmeasured["energy_per_inference"] = self.selection.reason or NO_POWER
            return None, thermal, unmeasured, warnings
        if self.idle is None:
            unmeasured["idle_power"] = "no idle baseline (--idle 0): energy above idle is not reported"
        window_s = (window[1] - window[0]) / 1e9
        per_source = {}
        for name, trace in self.sampler.traces.items():
            per_source[name] = self._source_block(trace, window, inferences, steps, unmeasured, warnings)
        if window_s < 2 / self.rate_hz:
            warnings.append(
                f"the measured window ({window_s:.2g} s) spans fewer than 2 sampling periods at "
                f"{self.rate_hz:g} Hz: raise --power-rate or run longer (--duration)"
            )
        primary_name = next(iter(per_source))
        primary = per_source.pop(primary_name)
        estimate = self.selection.estimate
        power = {
            "source": primary_name,
            "estimate": estimate,
            "method": (
                f"ESTIMATE, not a measurement: {primary.get('basis')}"
                if estimate
                else "sampled in the background; power integrated with the trapezoid rule, energy counters "
                "differenced (wrap-around handled); idle baseline subtracted"
            ),
            "clock": "perf_counter_ns",
            "sampling": {
                "rate_hz": self.rate_hz,
                "achieved_hz": self.sampler.achieved_hz,
                "ticks": self.sampler.ticks,
            },
            "baseline": self.baseline,
            "idle_s": (self.idle[1] - self.idle[0]) / 1e9 if self.idle else 0.0,
            "window_s": window_s,
            "inferences": inferences,
            "batch": batch,
        }
        if steps:
            power["control_steps"] = steps
        rails = primary.pop("rails")
        total = primary.pop("total", None)
        power["total_rails"], power["total_how"] = primary.pop("total_rails"), primary.pop("total_how")
        power["sensor"] = primary
        if total is not None:
            power["total"] = total
            above, idle_W = total.get("above_idle_W"), total.get("idle_W") or 0.0
            if above is not None and above < -max(1e-3, 0.01 * idle_W):
                warnings.append(
                    f"{primary_name}: power during the run was below the idle baseline ({above:+.3g} W): "
                    "the load is within the sensor's noise; lengthen --idle and --duration"
                )
        power["rails"] = rails
        power["trace"] = self._trace(self.sampler.traces[primary_name], window)
        if per_source:
            power["other_sources"] = per_source
        if estimate:
            warnings.append(
                f"power and energy are an ESTIMATE (CPU time x per-core power: {primary.get('basis')}), "
                "not a measurement"
            )
        for name, why in self.selection.skipped.items():
            power.setdefault("unavailable_sources", {})[name] = why
        return power, thermal, unmeasured, warnings
