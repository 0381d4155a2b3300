"""`edgeperf profile` with power, thermal and --device on captured trees and on this machine (no sensor)."""

import json

import pytest

from edgeperf.profilers.power import NO_POWER
from tests.conftest import SYSFS, run_python

ORIN = SYSFS / "jetson-orin-nano-jp6"
FAST = ["-n", "100", "--duration", "0.3", "--warmup", "5"]


def test_jetson_fixture_profile_reports_rail_power(cli, example_onnx, tmp_path):
    """EDGEPERF_SYSFS_ROOT=<jetson fixture> edgeperf profile model.onnx --device jetson."""
    out = tmp_path / "p.json"
    r = cli(
        "profile", example_onnx, "--device", "jetson", *FAST, "--idle", "0.2", "--power-rate", "20", "--json", out,
        env={"EDGEPERF_SYSFS_ROOT": str(ORIN)},
    )  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    p = doc["results"]["power"]
    n = doc["results"]["latency_us"]["count"]
    assert doc["config"]["device"] == "jetson-orin-nano" and doc["config"]["power"] == "auto"
    assert p["source"] == "ina3221" and p["estimate"] is False and p["clock"] == "perf_counter_ns"
    assert p["sampling"]["rate_hz"] == 20 and p["sensor"]["samples"] >= 3
    assert p["window_s"] == pytest.approx(doc["results"]["wall_s"])  # exactly the measured window
    assert p["inferences"] == n
    assert p["total_rails"] == ["VDD_IN"]
    vdd_in = 5.064 * 1.080
    assert p["total"]["active_W"] == pytest.approx(vdd_in)
    assert p["total"]["idle_W"] == pytest.approx(vdd_in)
    assert p["total"]["per_inference_mJ"] == pytest.approx(1e3 * vdd_in * p["window_s"] / n)
    assert p["total"]["per_inference_above_idle_mJ"] == 0.0
    assert set(p["rails"]) == {"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"}
    assert p["rails"]["VDD_SOC"]["active_W"] == pytest.approx(5.064 * 0.560)
    th = doc["results"]["thermal"]
    assert th["nvpmodel"]["name"] == "15W" and th["jetson_clocks"] is False and th["throttling"] is False
    assert any("captured tree" in w for w in doc["warnings"])
    assert "energy_per_inference" not in doc["unmeasured"]
    assert "VDD_IN" in r.out and "nvpmodel 15W" in r.out


def test_periodic_control_step_on_fixture(example_onnx, monkeypatch):
    from edgeperf.profilers.run import profile

    monkeypatch.setenv("EDGEPERF_SYSFS_ROOT", str(ORIN))
    rep = profile(example_onnx, rate=200, iterations=40, duration=0, warmup=2, idle_s=0.1, power_rate_hz=50)
    p = rep.results["power"]
    steps = rep.results["deadline"]["periods"]
    assert p["control_steps"] == steps
    step = p["total"]["per_control_step"]
    assert step["mJ"] == pytest.approx(1e3 * 5.064 * 1.080 * p["window_s"] / steps)
    assert step["above_idle_mJ"] == 0.0


def test_no_sensor_here_power_is_absent_with_reason(example_onnx):
    from edgeperf.profilers.run import profile

    rep = profile(example_onnx, iterations=50, duration=0, warmup=0)
    if "power" in rep.results:
        pytest.skip("this machine has a power sensor")
    assert rep.unmeasured["energy_per_inference"].startswith(NO_POWER)
    assert "--power estimate" in rep.unmeasured["energy_per_inference"]
    assert "energy" not in json.dumps(rep.results)  # never a silent 0


def test_estimate_is_labelled(cli, example_onnx, tmp_path):
    out = tmp_path / "p.json"
    r = cli("profile", example_onnx, *FAST, "--power", "estimate", "--idle", "0.1", "--json", out)
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    p = doc["results"]["power"]
    assert p["source"] == "estimate" and p["estimate"] is True and p["method"].startswith("ESTIMATE")
    assert " W per busy core for " in p["sensor"]["basis"]
    assert p["total"]["active_W"] > 0
    cpu_s = doc["results"]["cpu"]["process_utilisation_percent"] / 100 * doc["results"]["wall_s"]
    core_w = float(p["sensor"]["basis"].split(" W per")[0])
    # the window's energy is this process's CPU time x the per-core figure (sampler thread included)
    assert p["total"]["energy_J"] == pytest.approx(cpu_s * core_w, rel=0.25, abs=0.05)
    assert any("ESTIMATE" in w for w in doc["warnings"])
    assert "ESTIMATE" in r.out


def test_any_falls_back_to_the_estimate_with_a_warning(example_onnx):
    from edgeperf.profilers.run import profile

    rep = profile(example_onnx, iterations=50, duration=0.1, warmup=0, power="any", idle_s=0)
    p = rep.results["power"]
    if not p["estimate"]:
        pytest.skip("this machine has a power sensor")
    assert any(NO_POWER in w and "ESTIMATE" in w for w in rep.warnings)


def test_no_power(cli, example_onnx, tmp_path):
    out = tmp_path / "p.json"
    r = cli("profile", example_onnx, *FAST, "--no-power", "--json", out, env={"EDGEPERF_SYSFS_ROOT": str(ORIN)})
    doc = json.loads(out.read_text())
    assert r.code == 0 and "power" not in doc["results"]
    assert "--no-power" in doc["unmeasured"]["energy_per_inference"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--power", "tegrastats"], "--power 'tegrastats': expected one of auto, any, estimate, off"),
        (["--power-rate", "0"], "--power-rate must be a sampling rate"),
        (["--power-rate", "nan"], "--power-rate must be a sampling rate"),
        (["--idle", "-1"], "--idle must be a number of seconds"),
    ],
)
def test_bad_power_options_exit_2(cli, example_onnx, args, message):
    r = cli("profile", example_onnx, *FAST, *args)
    assert r.code == 2
    assert message in r.err and len(r.err.strip().splitlines()) == 1


def test_asking_for_a_missing_sensor_is_exit_3(cli, example_onnx, tmp_path):
    r = cli("profile", example_onnx, *FAST, "--power", "ina3221", env={"EDGEPERF_SYSFS_ROOT": str(tmp_path)})
    assert r.code == 3
    assert "--power ina3221: no INA3221 power monitor" in r.err


def test_device_mismatch_is_exit_3_and_offers_host(cli, example_onnx):
    r = cli("profile", example_onnx, "--device", "jetson", *FAST)
    assert r.code == 3
    line = r.err.strip()
    assert "names any NVIDIA Jetson, but this machine is" in line and "--host user@robot" in line
    assert len(line.splitlines()) == 1


def test_go2_resolves_to_its_jetson(cli, example_onnx):
    r = cli("profile", example_onnx, "--device", "go2", *FAST, "--no-power", env={"EDGEPERF_SYSFS_ROOT": str(ORIN)})
    assert r.code == 0, r.err


def test_profiling_with_power_never_imports_torch(example_onnx, tmp_path):
    code = (
        "import sys\nfrom edgeperf.cli.app import main\n"
        f"assert main(['profile', {str(example_onnx)!r}, '-n', '50', '--duration', '0', '--idle', '0.05', "
        "'--device', 'jetson']) == 0\n"
        "print('torch' in sys.modules, 'pynvml' in sys.modules)"
    )
    r = run_python(code, env={"EDGEPERF_SYSFS_ROOT": str(ORIN)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False False"


def test_the_report_holds_each_rails_power_trace(cli, example_onnx, tmp_path):
    """The power over time per rail, for `edgeperf report`: the fixture's rails are constant, so is the trace."""
    out = tmp_path / "p.json"
    r = cli(
        "profile", example_onnx, "--device", "jetson", *FAST, "--idle", "0.2", "--power-rate", "20", "--json", out,
        env={"EDGEPERF_SYSFS_ROOT": str(ORIN)},
    )  # fmt: skip
    assert r.code == 0, r.err
    p = json.loads(out.read_text())["results"]["power"]
    tr = p["trace"]
    assert set(tr["rails"]) == set(p["rails"])
    a, b = tr["window_s"]
    assert b - a == pytest.approx(p["window_s"]) and tr["idle_s"][1] <= a
    for rail, figures in p["rails"].items():
        assert tr["rails"][rail]["W"] == pytest.approx([figures["active_W"]] * len(tr["rails"][rail]["W"]), rel=1e-4)
        assert len(tr["rails"][rail]["t_s"]) >= 3
