"""`edgeperf measure -- CMD`: energy, peak memory and wall time of any command."""

import json
import sys

import pytest

from tests.conftest import SYSFS

ORIN = SYSFS / "jetson-orin-nano-jp6"
ALLOC = "import time; x = bytearray(80 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(0.4)"


def test_measure_a_command_on_the_jetson_fixture(cli, tmp_path):
    out = tmp_path / "m.json"
    r = cli(
        "measure", "--idle", "0.1", "--power-rate", "20", "--json", out, "--", sys.executable, "-c", ALLOC,
        env={"EDGEPERF_SYSFS_ROOT": str(ORIN)},
    )  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    res = doc["results"]
    assert doc["schema"] == "edgeperf.measure/1"
    assert res["exit_code"] == 0 and res["wall_s"] >= 0.4
    assert res["memory"]["peak_tree_rss_bytes"] > 80 * 2**20
    assert res["memory"]["peak_process_rss_bytes"] > 80 * 2**20
    p = res["power"]
    assert p["source"] == "ina3221"
    assert p["total"]["energy_J"] == pytest.approx(5.064 * 1.080 * res["wall_s"], rel=1e-6)
    assert "per_inference_mJ" not in json.dumps(p)  # a command is one run
    assert "VDD_IN" in r.out


def test_measure_estimate_charges_the_child_tree_cpu_time(cli, tmp_path):
    out = tmp_path / "m.json"
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    r = cli("measure", "--power", "estimate", "--idle", "0", "--json", out, "--", sys.executable, "-c", busy)
    assert r.code == 0, r.err
    res = json.loads(out.read_text())["results"]
    assert res["cpu_seconds"] >= 0.3
    p = res["power"]
    core_w = float(p["sensor"]["basis"].split(" W per")[0])
    assert p["estimate"] is True
    assert p["total"]["energy_J"] == pytest.approx(res["cpu_seconds"] * core_w, rel=0.2)


def test_failing_command_writes_the_report_and_exits_1(cli, tmp_path):
    out = tmp_path / "m.json"
    r = cli("measure", "--no-power", "--json", out, "--", "sh", "-c", "exit 3")
    assert r.code == 1
    assert "the command exited with code 3" in r.err
    assert json.loads(out.read_text())["results"]["exit_code"] == 3


def test_json_to_stdout_keeps_the_command_output_apart(capfd, tmp_path):
    from edgeperf.cli.app import main

    code = main(["measure", "--no-power", "--json", "-", "--", "sh", "-c", "echo from-the-command"])
    captured = capfd.readouterr()
    assert code == 0
    assert json.loads(captured.out)["results"]["exit_code"] == 0
    assert "from-the-command" in captured.err


def test_missing_command_is_exit_2(cli):
    r = cli("measure", "--no-power", "--", "/nonexistent/tool", "--flag")
    assert r.code == 2 and "command not found: /nonexistent/tool" in r.err


def test_no_sensor_here_energy_unmeasured(cli, tmp_path):
    out = tmp_path / "m.json"
    r = cli("measure", "--json", out, "--", "true", env={"EDGEPERF_SYSFS_ROOT": str(tmp_path)})
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    assert "power" not in doc["results"] and "no power sensors" in doc["unmeasured"]["energy"]
