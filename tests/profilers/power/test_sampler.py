"""The background sampler on captured trees and fake vendor modules: the watts and joules it should compute,
and what happens when a sensor vanishes or returns garbage mid-run."""

import shutil
import sys
import time

import pytest

from edgeperf.profilers.power.ina3221 import INA3221
from edgeperf.profilers.powermeter import PowerMeter
from edgeperf.profilers.sampler import Sampler
from tests.conftest import SYSFS
from tests.profilers.power.test_sources import _fake_pynvml

ORIN = SYSFS / "jetson-orin-nano-jp6"
VDD_IN_W = 5.064 * 1.080


def _window(seconds: float) -> tuple[int, int]:
    a = time.perf_counter_ns()
    time.sleep(seconds)
    return a, time.perf_counter_ns()


def test_sampler_integrates_the_orin_rails_over_exactly_the_window():
    with PowerMeter("auto", rate_hz=50, idle_s=0.1, root=ORIN) as meter:
        window = _window(0.3)
    power, thermal, unmeasured, _ = meter.results(window, 600)
    dur = (window[1] - window[0]) / 1e9
    assert power["source"] == "ina3221" and not power["estimate"]
    assert power["total_rails"] == ["VDD_IN"]  # the input rail is the board total: sub-rails not added again
    total = power["total"]
    assert total["active_W"] == pytest.approx(VDD_IN_W)
    assert total["idle_W"] == pytest.approx(VDD_IN_W)
    assert total["energy_J"] == pytest.approx(VDD_IN_W * dur)
    assert total["per_inference_mJ"] == pytest.approx(1e3 * VDD_IN_W * dur / 600)
    assert total["per_inference_above_idle_mJ"] == 0.0  # static fixture: nothing above idle
    assert power["rails"]["VDD_SOC"]["active_W"] == pytest.approx(5.064 * 0.560)
    assert power["rails"]["VDD_CPU_GPU_CV"]["energy_J"] == pytest.approx(5.056 * 0.240 * dur)
    assert power["sampling"]["rate_hz"] == 50 and power["sensor"]["samples"] >= 10
    assert power["rails"]["VDD_IN"]["samples_in_window"] >= 5
    assert "energy_per_inference" not in unmeasured
    assert thermal["nvpmodel"] == {"id": 0, "name": "15W"}


def test_nvml_energy_counter_differenced(monkeypatch):
    nv = _fake_pynvml(True)
    t0 = time.perf_counter()
    nv.nvmlDeviceGetTotalEnergyConsumption = lambda h: 1_000_000 + (time.perf_counter() - t0) * 50_000  # 50 W in mJ/s
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    with PowerMeter("nvml", rate_hz=100, idle_s=0, thermal=False) as meter:
        window = _window(0.3)
    power, _, unmeasured, warnings = meter.results(window, 100)
    assert power["rails"]["gpu0"]["kind"] == "energy counter"
    assert power["total"]["active_W"] == pytest.approx(50.0, rel=0.02)
    assert "idle_power" in unmeasured  # --idle 0: no energy above idle, and it says so
    assert any("update periods of nvml" in w for w in warnings)  # 0.3 s is short for a 1 s average


def test_nvml_power_fallback(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml(False))
    with PowerMeter("nvml", rate_hz=100, idle_s=0.05, thermal=False) as meter:
        window = _window(0.1)
    power, *_ = meter.results(window, 10)
    assert power["total"]["active_W"] == pytest.approx(71.5)
    assert power["rails"]["gpu0"]["kind"] == "power"


def test_sensor_that_vanishes_mid_run(tmp_path):
    root = tmp_path / "orin"
    shutil.copytree(ORIN, root)
    src = INA3221(root)
    assert src.probe().ok
    s = Sampler([src], rate_hz=100).start()
    a = time.perf_counter_ns()
    time.sleep(0.1)
    shutil.rmtree(root / "sys/bus/i2c/devices/1-0040")
    time.sleep(0.1)
    b = time.perf_counter_ns()
    s.stop()
    assert any("VDD_IN stopped reporting" in w and "vanished" in w for w in s.warnings)
    from edgeperf.profilers.energy import energy_between

    assert energy_between(s.traces["ina3221"].rails["VDD_IN"], a, b) is None  # never a partial figure


def test_garbage_and_vanished_rails_in_a_profile_report(tmp_path):
    """The report still has its figures; the broken rail is unmeasured with the reason."""
    root = tmp_path / "orin"
    shutil.copytree(ORIN, root)
    hw = root / "sys/bus/i2c/devices/1-0040/hwmon/hwmon1"
    with PowerMeter("ina3221", rate_hz=100, idle_s=0.05, root=root) as meter:
        time.sleep(0.05)
        (hw / "curr3_input").write_text("garbage\n")  # VDD_SOC
        window = _window(0.1)
    power, _, unmeasured, warnings = meter.results(window, 10)
    assert power["total"]["active_W"] == pytest.approx(VDD_IN_W)  # VDD_IN still measured
    assert "power.ina3221.VDD_SOC" in unmeasured
    assert "energy_J" not in power["rails"]["VDD_SOC"]
    assert any("VDD_SOC stopped reporting" in w for w in warnings)


class _Flaky(INA3221):
    calls = 0

    def read(self):
        type(self).calls += 1
        if type(self).calls % 3 == 0:
            raise OSError(5, "Input/output error")
        reading = super().read()
        if type(self).calls == 4:
            reading.power_W["VDD_IN"] = float("nan")
        return reading


def test_read_errors_and_non_numbers_are_warnings():
    s = Sampler([_Flaky(ORIN)], rate_hz=200).start()
    time.sleep(0.1)
    s.stop()
    trace = s.traces["ina3221"]
    assert trace.failed_reads >= 1
    assert any("a read failed (OSError" in w for w in s.warnings)
    assert any("returned nan" in w for w in s.warnings)


def test_sampler_keeps_its_rate():
    s = Sampler([INA3221(ORIN)], rate_hz=20).start()
    time.sleep(0.5)
    s.stop()
    assert 0.5 * 20 < s.achieved_hz < 2 * 20  # generous: a shared CI machine


def test_bad_rate_is_rejected():
    with pytest.raises(ValueError, match="sampling rate"):
        Sampler([], rate_hz=0)
