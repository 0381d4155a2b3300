import json

from edgeperf.devices import detect
from edgeperf.profilers import power
from tests.conftest import SYSFS

ORIN = SYSFS / "jetson-orin-nano-jp6"
XAVIER = SYSFS / "jetson-xavier-nx-jp4"


def test_this_machine_names_cpu_cores_memory_and_no_power(cli):
    r = cli("devices", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["schema"] == "edgeperf.devices/1"
    assert d["cpu"]["model"]
    assert d["cpu"]["logical_cores"] >= 1 and d["cpu"]["physical_cores"] >= 1
    assert d["memory"]["total_bytes"] > 2**28
    assert d["os"]["arch"] and d["os"]["kernel"]
    assert d["backends"]["onnxruntime"]["available"]
    assert "CPUExecutionProvider" in d["backends"]["onnxruntime"]["providers"]
    for name, s in d["power_sources"].items():
        if not s["available"]:
            assert s["reason"], name


def test_no_power_is_said_plainly(cli):
    """This CI machine has no sensors; on a machine with one the summary names it instead."""
    d = json.loads(cli("devices", "--json").out)
    if not any(s["available"] for s in d["power_sources"].values()):
        assert d["power_summary"] == power.NO_POWER
        assert power.NO_POWER in cli("devices").out


def test_captured_orin_tree_is_a_jetson_with_ina3221_rails(cli):
    r = cli("devices", "--json", env={"EDGEPERF_SYSFS_ROOT": str(ORIN)})
    d = json.loads(r.out)
    assert d["device"] == {"id": "jetson-orin-nano", "family": "jetson", "name": "NVIDIA Jetson Orin Nano"}
    assert d["jetson"]["model"] == "NVIDIA Jetson Orin Nano Developer Kit"
    assert d["jetson"]["l4t"] == "36.3.0"
    assert d["power_sources"]["ina3221"] == {"available": True, "rails": ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]}
    assert d["cpu"]["logical_cores"] == 6 and d["cpu"]["max_mhz"] == 1510
    assert d["memory"]["total_bytes"] == 7802048 * 1024
    assert d["os"] == {"name": "Ubuntu 22.04.4 LTS", "kernel": "5.15.136-tegra", "arch": "aarch64"}
    assert "measured power available from: ina3221" in d["power_summary"]


def test_captured_orin_tree_renders_as_text(cli):
    r = cli("devices", env={"EDGEPERF_SYSFS_ROOT": str(ORIN)})
    assert r.code == 0
    assert "L4T 36.3.0" in r.out and "VDD_CPU_GPU_CV" in r.out


def test_jetpack4_xavier_is_recognised():
    j = detect.jetson_info(XAVIER)
    assert j == {"model": "NVIDIA Jetson Xavier NX Developer Kit", "l4t": "32.7.1", "board": "jetson-xavier-nx"}
    assert detect.this_device(XAVIER).id == "jetson-xavier-nx"


def test_x86_cpuinfo_counts_physical_cores(tmp_path):
    (tmp_path / "proc").mkdir()
    blocks = [
        f"processor\t: {i}\nmodel name\t: Intel(R) Core(TM) i7-1185G7\nphysical id\t: 0\ncore id\t\t: {i // 2}\n"
        for i in range(8)
    ]
    (tmp_path / "proc" / "cpuinfo").write_text("\n".join(blocks))
    info = detect.cpu_info(tmp_path)
    assert info == {"model": "Intel(R) Core(TM) i7-1185G7", "physical_cores": 4, "logical_cores": 8}


def test_empty_tree_is_not_a_jetson_and_has_no_power(tmp_path):
    d = {**detect.detect(tmp_path), **power.summary(tmp_path)}
    assert d["jetson"] is None
    assert d["device"]["family"] == "generic"
    assert d["power_summary"] == power.NO_POWER
    assert d["gpus"] == [] and "captured tree" in d["gpus_reason"]


def test_host_summary_has_what_a_report_needs():
    h = detect.host_summary()
    for key in ("device", "cpu", "physical_cores", "logical_cores", "memory_bytes", "os", "arch", "versions"):
        assert h[key], key
    assert h["versions"]["onnxruntime"]


def test_raspberry_pi_5_is_recognised(tmp_path):
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_text("Raspberry Pi 5 Model B Rev 1.0\x00")
    assert detect.this_device(tmp_path).id == "raspberry-pi-5"
