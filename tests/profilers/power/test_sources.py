"""Power sources on captured sysfs trees and fake vendor modules (this machine has no sensors)."""

import contextlib
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path

import pytest

from edgeperf.profilers.power import SOURCES, probe_all, source_class
from edgeperf.profilers.power.battery import Battery
from edgeperf.profilers.power.hwmon import Hwmon
from edgeperf.profilers.power.ina3221 import INA3221
from edgeperf.profilers.power.jtop import Jtop
from edgeperf.profilers.power.nvml import NVML
from edgeperf.profilers.power.rapl import RAPL
from tests.conftest import SYSFS

ORIN, XAVIER, LAPTOP = SYSFS / "jetson-orin-nano-jp6", SYSFS / "jetson-xavier-nx-jp4", SYSFS / "laptop-intel"


def test_ina3221_hwmon_layout_reads_rails_in_watts():
    src = INA3221(ORIN)
    assert src.probe().ok
    r = src.read()
    assert r.power_W == pytest.approx(
        {"VDD_IN": 5.064 * 1.080, "VDD_CPU_GPU_CV": 5.056 * 0.240, "VDD_SOC": 5.064 * 0.560}
    )
    assert INA3221.input_rail(r.power_W) == "VDD_IN"


def test_ina3221_jetpack4_iio_layout():
    src = INA3221(XAVIER)
    assert src.probe().rails == ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")
    assert src.read().power_W == pytest.approx({"VDD_IN": 4.56, "VDD_CPU_GPU_CV": 1.22, "VDD_SOC": 1.38})


def test_ina3221_skips_unconnected_channels(tmp_path):
    hw = tmp_path / "sys/bus/i2c/devices/1-0040/hwmon/hwmon2"
    hw.mkdir(parents=True)
    (hw.parent.parent / "name").write_text("ina3221\n")
    for k, label in ((1, "VDD_IN"), (2, "NC")):
        (hw / f"in{k}_label").write_text(label)
        (hw / f"in{k}_input").write_text("5000")
        (hw / f"curr{k}_input").write_text("100")
    assert INA3221(tmp_path).probe().rails == ("VDD_IN",)


def test_rapl_domains_and_counters_in_joules():
    src = RAPL(LAPTOP)
    a = src.probe()
    assert a.ok and a.rails == ("package-0", "package-0/core", "package-0/dram")
    assert src.read().energy_J["package-0"] == pytest.approx(81234.56789)
    assert src.max_range_J("package-0") == pytest.approx(262143.32885)


def test_rapl_permission_denied_says_how_to_fix():
    with _user_tree(LAPTOP) as tree:
        for f in tree.rglob("energy_uj"):
            f.chmod(0o400)  # root-only, as since CVE-2020-8694
        a = _as_user(RAPL(tree).probe)
    assert not a.ok
    assert "permission denied" in a.reason and "CVE-2020-8694" in a.reason


def test_battery_discharging_power_now():
    src = Battery(LAPTOP)
    assert src.probe().ok
    assert src.read().power_W == {"BAT0": pytest.approx(11.27)}


def test_battery_on_charger_is_unavailable_with_reason(tmp_path):
    bat = tmp_path / "sys/class/power_supply/BAT1"
    bat.mkdir(parents=True)
    (bat / "status").write_text("Charging\n")
    (bat / "current_now").write_text("1500000")
    (bat / "voltage_now").write_text("12000000")
    a = Battery(tmp_path).probe()
    assert not a.ok and "unplug the charger" in a.reason
    assert Battery(tmp_path).read().power_W == {"BAT1": pytest.approx(18.0)}  # current x voltage


def test_hwmon_power_sensor_and_ina3221_left_to_its_own_source():
    assert Hwmon(LAPTOP).read().power_W == {"amdgpu/power1": pytest.approx(8.25)}
    assert not Hwmon(ORIN).probe().ok


def test_every_source_reports_a_reason_on_an_empty_tree(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # as if nvidia-ml-py were not installed
    monkeypatch.setitem(sys.modules, "jtop", None)
    found = probe_all(tmp_path)
    assert set(found) == set(SOURCES)
    for name, a in found.items():
        assert not a.ok and a.reason, name
    assert "edgeperf[nvidia]" in found["nvml"].reason and "edgeperf[jetson]" in found["jtop"].reason


def _fake_pynvml(energy_supported: bool):
    nv = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    nv.NVMLError, nv.NVMLError_NotSupported = NVMLError, NVMLError_NotSupported
    nv.nvmlInit = lambda: None
    nv.nvmlDeviceGetCount = lambda: 1
    nv.nvmlDeviceGetHandleByIndex = lambda i: f"h{i}"

    def energy(h):
        if not energy_supported:
            raise NVMLError_NotSupported("Not Supported")
        return 123_456  # mJ

    nv.nvmlDeviceGetTotalEnergyConsumption = energy
    nv.nvmlDeviceGetPowerUsage = lambda h: 71_500  # mW
    return nv


def test_nvml_prefers_the_energy_counter(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml(True))
    src = NVML()
    assert src.probe().ok
    assert src.read().energy_J == {"gpu0": pytest.approx(123.456)}


def test_nvml_falls_back_to_power_when_energy_not_supported(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml(False))
    src = NVML()
    assert src.probe().ok
    r = src.read()
    assert r.energy_J == {} and r.power_W == {"gpu0": pytest.approx(71.5)}


def test_nvml_never_reads_this_machine_for_a_captured_tree(monkeypatch, tmp_path):
    """With EDGEPERF_SYSFS_ROOT at a captured tree (an Orin's, say) the live GPU's power is not that device's
    (found on an H100: the profile of a captured Jetson tree reported the H100's board power)."""
    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml(True))
    a = NVML(tmp_path).probe()
    assert not a.ok and "captured tree" in a.reason
    assert NVML().probe().ok  # the live root: queried


def _install_jtop_without_service(monkeypatch) -> None:
    """A fake jetson-stats whose client fails as the real one does when jtop.service is not running."""
    mod = types.ModuleType("jtop")

    class JtopException(Exception):
        pass

    class FakeJtop:
        def start(self):
            raise JtopException("The jtop.service is not active. Please run: sudo systemctl restart jtop.service")

        def close(self):
            pass

    mod.jtop, mod.JtopException = FakeJtop, JtopException
    monkeypatch.setitem(sys.modules, "jtop", mod)


def test_jtop_service_not_running_is_reported(monkeypatch):
    _install_jtop_without_service(monkeypatch)
    a = Jtop().probe()
    assert not a.ok and "jtop.service is not active" in a.reason


def test_source_registry_loads_each_class():
    for name in SOURCES:
        assert source_class(name).name == name


X86 = SYSFS / "x86-rapl"


@contextlib.contextmanager
def _user_tree(src: Path):
    """A copy of a captured tree under /tmp that an unprivileged user can walk (pytest's tmp_path is 0700)."""
    tree = Path(tempfile.mkdtemp(prefix="edgeperf-sysfs-")) / "t"
    try:
        shutil.copytree(src, tree)
        for d, _, files in os.walk(tree.parent):
            os.chmod(d, 0o755)
            for f in files:
                os.chmod(Path(d) / f, 0o444)
        yield tree
    finally:
        shutil.rmtree(tree.parent)


def _as_user(fn):
    """fn() with the permissions of user nobody: root reads root-only files, so root drops its effective uid
    for the call (the saved uid stays root to come back); a normal user already is one."""
    if os.geteuid() != 0:
        return fn()
    os.seteuid(65534)
    try:
        return fn()
    finally:
        os.seteuid(0)


def test_x86_rapl_tree_wraps_between_two_reads(tmp_path):
    import shutil

    from edgeperf.profilers.energy import Series, energy_between

    root = tmp_path / "x86"
    shutil.copytree(X86, root)
    src = RAPL(root)
    assert src.probe().rails == ("package-0", "package-0/dram", "package-1")
    total, how = src.total_rails(src.probe().rails)
    assert total == ["package-0", "package-0/dram", "package-1"] and "not added again" in how
    first = src.read()
    pkg0 = root / "sys/class/powercap/intel-rapl:0/energy_uj"
    pkg0.write_text("500000000\n")  # 262142 J -> wrapped at 262143.32885 J -> 500 J
    (root / "sys/class/powercap/intel-rapl:1/energy_uj").write_text("1012000000\n")
    second = src.read()
    series = Series("energy", wrap_J=src.wrap_J("package-0"))
    series.add(0, first.energy_J["package-0"])
    series.add(2_000_000_000, second.energy_J["package-0"])
    joules = energy_between(series, 0, 2_000_000_000)
    assert joules == pytest.approx(262143.32885 - 262142.0 + 500.0)  # 501.32885 J over 2 s
    assert joules / 2 == pytest.approx(250.664425)  # watts
    assert second.energy_J["package-1"] - first.energy_J["package-1"] == pytest.approx(12.0)


def test_x86_rapl_root_only_counter_says_how_to_fix():
    with _user_tree(X86) as root:
        (root / "sys/class/powercap/intel-rapl:1/energy_uj").chmod(0o400)
        a = _as_user(RAPL(root).probe)
    assert not a.ok
    assert "intel-rapl:1/energy_uj is not readable" in a.reason and "CVE-2020-8694" in a.reason
    assert "chmod a+r" in a.reason


def test_rapl_psys_is_the_platform_total():
    src = RAPL()
    assert src.total_rails(["package-0", "psys", "package-0/dram"])[0] == ["psys"]


def test_battery_discharging_current_times_voltage():
    src = Battery(SYSFS / "laptop-battery-current")
    assert src.probe().ok
    assert src.read().power_W == {"BAT1": pytest.approx(1.5 * 11.8)}  # 17.7 W


def test_battery_charging_tree_is_unavailable():
    a = Battery(SYSFS / "laptop-battery-charging").probe()
    assert not a.ok and "Charging" in a.reason and "unplug the charger" in a.reason


def test_ina3221_total_is_the_input_rail_else_the_sum():
    src = INA3221(ORIN)
    assert src.total_rails(["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"])[0] == ["VDD_IN"]
    agx = ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"]
    rails, how = src.total_rails(agx)
    assert rails == agx and "sum" in how


def test_jtop_not_running_falls_back_to_sysfs(monkeypatch):
    from edgeperf.profilers.powermeter import select

    _install_jtop_without_service(monkeypatch)
    sel = select("auto", root=ORIN)
    assert [s.name for s in sel.sources] == ["ina3221"]
    assert "jtop.service is not active" in sel.skipped["jtop"]


def test_jtop_running_reads_rails_in_watts(monkeypatch):
    mod = types.ModuleType("jtop")

    class FakeJtop:
        @property
        def power(self):
            return {"rail": {"VDD_IN": {"power": 5469}, "VDD_SOC": {"power": 2836}}, "tot": {"power": 5469}}

        def start(self):
            pass

        def close(self):
            pass

    mod.jtop = FakeJtop
    monkeypatch.setitem(sys.modules, "jtop", mod)
    src = Jtop()
    assert src.probe().ok
    r = src.read()
    assert r.power_W == {"VDD_IN": pytest.approx(5.469), "VDD_SOC": pytest.approx(2.836)}
    assert src.total_rails(r.power_W)[0] == ["VDD_IN"]
    src.close()
