"""Thermal zones, clocks, nvpmodel and jetson_clocks, and throttling, on captured trees."""

import shutil

from edgeperf.profilers.thermal import Thermal
from tests.conftest import SYSFS

ORIN = SYSFS / "jetson-orin-nano-jp6"
X86 = SYSFS / "x86-rapl"


def test_orin_tree_temperatures_clocks_and_power_mode():
    th = Thermal(ORIN)
    th.sample()
    th.sample()
    block, warnings = th.report()
    assert block["zones"]["cpu-thermal"] == {"start_C": 48.5, "end_C": 48.5, "max_C": 48.5, "passive_trip_C": 99.0}
    assert block["zones"]["gpu-thermal"]["max_C"] == 47.218
    assert block["cpu_mhz"] == {"min": 1510.4, "max": 1510.4, "hardware_max": 1510.4}
    assert block["gpu_mhz"] == {"min": 624.75, "max": 624.75, "max_allowed": 624.75}
    assert block["nvpmodel"] == {"id": 0, "name": "15W"}
    assert block["jetson_clocks"] is False  # scaling_min_freq < scaling_max_freq
    assert block["throttling"] is False and warnings == []


def test_jetson_clocks_on_and_a_hot_zone_is_throttling(tmp_path):
    root = tmp_path / "orin"
    shutil.copytree(ORIN, root)
    for c in range(6):
        (root / f"sys/devices/system/cpu/cpu{c}/cpufreq/scaling_min_freq").write_text("1510400\n")
    (root / "sys/class/devfreq/17000000.gpu/min_freq").write_text("624750000\n")
    th = Thermal(root)
    th.sample()
    (root / "sys/class/thermal/thermal_zone0/temp").write_text("99500\n")
    (root / "sys/devices/system/cpu/cpu2/cpufreq/scaling_cur_freq").write_text("1190400\n")
    th.sample()
    block, warnings = th.report()
    assert block["jetson_clocks"] is True
    assert block["throttling"] is True
    assert any("cpu-thermal reached 99.5 C" in e for e in block["throttling_evidence"])
    assert any("1190 MHz while jetson_clocks pins it" in e for e in block["throttling_evidence"])
    assert warnings and warnings[0].startswith("throttling seen during the run")


def test_x86_throttle_counters_rising(tmp_path):
    root = tmp_path / "x86"
    shutil.copytree(X86, root)
    th = Thermal(root)
    th.sample()
    (root / "sys/devices/system/cpu/cpu1/thermal_throttle/package_throttle_count").write_text("7\n")
    th.sample()
    block, _ = th.report()
    assert block["cpu_throttle_events"] == 5
    assert "jetson_clocks" not in block and "nvpmodel" not in block
    assert block["throttling"] is True


def test_empty_tree_has_nothing(tmp_path):
    assert not Thermal(tmp_path).present
