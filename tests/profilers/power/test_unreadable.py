"""Sensor files that cannot be read (issue 10, items 5 and 6): a figure that could not be read is unmeasured with
the reason, never silently left out of a total; a sensor path that is a directory, a FIFO, a device or an
endless file makes that source unavailable with the reason, and never blocks or reads without bound.

Real files on captured trees copied to tmp_path and broken there; FIFOs with os.mkfifo; an endless device with
os.mknod (the major/minor of /dev/zero, in the tmp tree, never the system /dev)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from edgeperf.devices.sysfs import TEXT_LIMIT, UnreadableFile, read_number, read_text
from edgeperf.profilers.power.battery import Battery
from edgeperf.profilers.power.hwmon import Hwmon
from edgeperf.profilers.power.ina3221 import INA3221
from edgeperf.profilers.power.rapl import RAPL
from edgeperf.profilers.thermal import Thermal
from tests.conftest import SYSFS

ORIN, X86, LAPTOP = SYSFS / "jetson-orin-nano-jp6", SYSFS / "x86-rapl", SYSFS / "laptop-intel"
VDD_IN_VOLTAGE = "sys/bus/i2c/devices/1-0040/hwmon/hwmon1/in1_input"
PKG1 = "sys/class/powercap/intel-rapl:1/energy_uj"


def _tree(src: Path, tmp_path: Path) -> Path:
    root = tmp_path / src.name
    shutil.copytree(src, root)
    return root


def _profile(model: Path, root: Path, monkeypatch, power: str):
    from edgeperf.profilers.run import profile

    monkeypatch.setenv("EDGEPERF_SYSFS_ROOT", str(root))
    return profile(model, iterations=50, duration=0, warmup=2, idle_s=0.1, power_rate_hz=50, power=power)


# -- unmeasured, with the reason, never dropped from a total -----------------------------------------------


def test_rapl_domain_reading_garbage_is_unmeasured_and_the_total_absent(example_onnx, tmp_path, monkeypatch):
    root = _tree(X86, tmp_path)
    (root / PKG1).write_text("garbage\n")
    rep = _profile(example_onnx, root, monkeypatch, "rapl")
    p = rep.results["power"]
    assert "package-1" not in p["rails"]
    assert "total" not in p, p.get("total")  # package-0 alone is not the machine's total
    assert "package-1" in p["total_rails"]
    why = rep.unmeasured["power.rapl.package-1"]
    assert "energy_uj reads 'garbage', not a number" in why
    assert "package-1 could not be read" in rep.unmeasured["power.rapl.total"]


def test_rapl_with_every_counter_readable_still_has_its_total(example_onnx, tmp_path, monkeypatch):
    rep = _profile(
        example_onnx, _tree(X86, tmp_path), monkeypatch, "rapl"
    )  # the control: the same run without the garbage
    assert "total" in rep.results["power"] and not any(k.startswith("power.rapl") for k in rep.unmeasured)


def test_jetson_vdd_in_reading_nan_is_unmeasured_not_no_input_rail(example_onnx, tmp_path, monkeypatch):
    root = _tree(ORIN, tmp_path)
    (root / VDD_IN_VOLTAGE).write_text("nan\n")
    rep = _profile(example_onnx, root, monkeypatch, "ina3221")
    p = rep.results["power"]
    assert "total" not in p  # not VDD_SOC + VDD_CPU_GPU_CV presented as the board
    assert p["total_rails"] == ["VDD_IN"] and "no input rail" not in p["total_how"]
    assert "in1_input reads 'nan', not a number" in rep.unmeasured["power.ina3221.VDD_IN"]
    assert "VDD_IN could not be read" in rep.unmeasured["power.ina3221.total"]
    assert set(p["rails"]) == {"VDD_CPU_GPU_CV", "VDD_SOC"}


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "", "0x1f", "garbage"])
def test_non_numbers_are_no_number(text, tmp_path):
    f = tmp_path / "v"
    f.write_text(text + "\n")
    assert read_number(f) is None


def test_a_numbers_first_word_is_read(tmp_path):
    f = tmp_path / "v"
    f.write_text("5064 mV\n")
    assert read_number(f) == 5064.0


# -- sensor paths that are no sensor files -------------------------------------------------------------------


def _make(kind: str, path: Path) -> None:
    """Replace `path` with something that is not a sensor file."""
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # no writer: a blocking read would wait forever
    elif kind == "endless device":
        zero = os.stat("/dev/zero").st_rdev  # /dev/zero's major/minor, on a node in the tmp tree
        try:
            os.mknod(path, stat.S_IFCHR | 0o444, zero)
        except PermissionError:
            pytest.skip("creating a device node needs root (CAP_MKNOD)")
    elif kind == "huge file":
        with open(path, "wb") as f:
            f.truncate(TEXT_LIMIT * 4)  # sparse: 4 MiB of zeros that cost no disk
    else:
        raise AssertionError(kind)


KINDS = ["directory", "fifo", "endless device", "huge file"]
# (source, tree, the sensor file to break, what the reason must name)
SOURCES = [
    (RAPL, X86, "sys/class/powercap/intel-rapl:0/energy_uj", "energy_uj"),
    (INA3221, ORIN, VDD_IN_VOLTAGE, "in1_input"),
    (Hwmon, LAPTOP, "sys/class/hwmon/hwmon3/power1_average", "power1_average"),
    (Battery, LAPTOP, "sys/class/power_supply/BAT0/power_now", "power_now"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("cls", "tree", "rel", "name"), SOURCES, ids=[s[0].__name__ for s in SOURCES])
def test_a_sensor_file_that_is_no_file_makes_the_rail_unreadable_with_the_reason(kind, cls, tree, rel, name, tmp_path):
    root = _tree(tree, tmp_path)
    if not (root / rel).exists():
        pytest.fail(f"fixture {tree.name} has no {rel}")
    _make(kind, root / rel)
    src = cls(root)
    a = src.probe()  # returns (a FIFO would block here before the fix; /dev/zero would fill the memory)
    reasons = a.reason + " " + " ".join(src.unreadable.values())
    assert name in reasons and ("not a sensor file" in reasons or "more than" in reasons), reasons
    assert a.rails == tuple(r for r in a.rails if r not in src.unreadable)  # never listed as working


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
def test_a_rapl_name_file_that_is_no_file_makes_the_source_unavailable(kind, tmp_path):
    root = _tree(X86, tmp_path)
    _make(kind, root / "sys/class/powercap/intel-rapl:1/name")
    a = RAPL(root).probe()
    assert not a.ok and "intel-rapl:1/name" in a.reason


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
def test_read_text_refuses_what_is_no_sensor_file(kind, tmp_path):
    f = tmp_path / "sensor"
    _make(kind, f)
    with pytest.raises(UnreadableFile) as info:
        read_text(f)
    assert str(f) in str(info.value)


def test_read_text_reads_proc_files_whole_and_missing_is_none(tmp_path):
    status = read_text(Path("/proc/self/status"))  # procfs: size 0 on stat, real text on read
    assert status and "VmRSS" in status
    assert read_text(tmp_path / "absent") is None
    (tmp_path / "big").write_text("1" * (TEXT_LIMIT - 10))  # within the cap: read whole
    assert len(read_text(tmp_path / "big")) == TEXT_LIMIT - 10


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
def test_thermal_zone_that_is_no_file_is_skipped_without_blocking(kind, tmp_path):
    root = _tree(ORIN, tmp_path)
    _make(kind, root / "sys/class/thermal/thermal_zone0/temp")
    th = Thermal(root)
    th.sample()
    assert th.last is not None and th.last.temps_C  # the other zones still read
    assert not any(name for name in th.last.temps_C if th.zones[name].name == "thermal_zone0")
