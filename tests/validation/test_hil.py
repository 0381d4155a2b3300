"""Hardware in the loop for real: `edgeperf serve` in its own process on 127.0.0.1, `edgeperf hil` driving it
through a short Pendulum task, in lockstep and in real time, through a faulty link, and across a server killed
with SIGKILL and restarted."""

import json
import threading
import time

import numpy as np
import pytest

from edgeperf import pipeline
from edgeperf.exporter.onnx import export
from edgeperf.runtime.link import Link
from tests.devices.test_remote import EDGEPERF, _temp_dirs, sshd  # noqa: F401  (sshd: the private OpenSSH fixture)
from tests.plugins import plugin_module
from tests.runtime.test_server import no_strays, serve  # noqa: F401  (a fixture and the server helper)

pytest.importorskip("zmq")
pytest.importorskip("gymnasium")

PLUGIN = "edgeperf_test_short"
DOMAIN = f"{PLUGIN}:pendulum-2s"
SOURCE = """
import dataclasses

from edgeperf.domains.base import register
from edgeperf.domains.gym import gym_domain


def short(domain_id):
    # Pendulum for 2 s (40 steps at 20 Hz): a real-time episode that a test can afford
    return dataclasses.replace(gym_domain("Pendulum-v1"), id=domain_id, options={"max_episode_steps": 40})


register("pendulum-2s", "edgeperf_test_short:short")
"""


@pytest.fixture(scope="module")
def pendulum(tmp_path_factory):
    with plugin_module(tmp_path_factory.mktemp("hil"), PLUGIN, SOURCE) as d:
        model = d / "pendulum.onnx"
        export("reference:gym:Pendulum-v1", model)
        yield model


def test_lockstep_hil_is_equivalent_to_sil(pendulum, cli, tmp_path, no_strays):  # noqa: F811
    srv = serve(pendulum)
    try:
        out = tmp_path / "hil.json"
        r = cli("hil", pendulum, "--domain", DOMAIN, "--connect", srv.host_port, "--episodes", "3",
                "--mode", "lockstep", "--json", out)  # fmt: skip
        assert r.code == 0, r.err
        rep = json.loads(out.read_text())
        assert rep["schema"] == "edgeperf.hil/1" and rep["results"]["paired"]["verdict"] == "equivalent"
        link = rep["results"]["link"]
        assert link["steps"] == 3 * 40 and link["misses"] == 0 and link["reconnects"] == 0
        assert 0 < link["inference_us"]["p50"] < link["round_trip_us"]["p50"]
        assert rep["model"]["sha256"] == rep["results"]["server"]["sha256"]
    finally:
        srv.stop()


def test_realtime_through_a_faulty_link_completes_and_counts_its_misses(pendulum, no_strays):  # noqa: F811
    srv = serve(pendulum)
    # 50 ms +- 30 ms each way and 10% of chunks retransmitted: a 20 Hz loop (50 ms period) misses often
    link = Link("127.0.0.1:0", srv.host_port, delay_ms=50, jitter_ms=30, loss_pct=10, seed=1)
    link.start()
    try:
        t0 = time.perf_counter()
        rep = pipeline.hil(link.address, DOMAIN, episodes=2, mode="realtime")
        wall = time.perf_counter() - t0
        lk = rep.results["link"]
        assert lk["steps"] == 80 and lk["misses"] > 10 and lk["longest_miss_streak"] >= 1
        assert lk["stale_replies"] > 0  # late replies dropped by sequence number
        # ...and how late they came: after the deadline they were given up at (40 ms, less the send's wait)
        late = lk["stale_round_trip_us"]
        assert 0 < late["count"] <= lk["stale_replies"] and late["min"] > 0.5 * lk["deadline_ms"] * 1e3
        assert rep.results["wall_s"] <= 1.5 * rep.results["simulated_s"] + 1.0  # paced, never waiting it out
        assert wall < 60
        assert "sil" in rep.unmeasured  # no local model given
    finally:
        link.stop()
        srv.stop()


def test_a_server_killed_mid_run_and_restarted_leaves_a_gap_in_the_report(pendulum, no_strays):  # noqa: F811
    srv = serve(pendulum)
    bind = srv.host_port
    result = {}

    def drive():
        result["report"] = pipeline.hil(bind, DOMAIN, model=pendulum, episodes=3, mode="realtime")

    t = threading.Thread(target=drive)
    t.start()
    time.sleep(2.5)  # into the second episode
    srv.proc.kill()
    srv.proc.wait(10)
    time.sleep(0.5)
    srv = serve(pendulum, bind=bind)
    try:
        t.join(60)
        assert not t.is_alive()
        rep = result["report"]
        lk = rep.results["link"]
        assert lk["reconnects"] >= 1 and lk["gaps"] and lk["misses"] > 0
        assert lk["gaps"][0]["seconds"] >= 0.4 and lk["gaps"][0]["reconnected"]
        assert rep.results["affected_episodes"] and rep.results["paired"]["verdict"] in (
            "equivalent",
            "different",
            "inconclusive",
        )
    finally:
        srv.stop()


def test_a_server_that_never_comes_back_costs_misses_not_a_hang(pendulum, no_strays):  # noqa: F811
    srv = serve(pendulum)
    threading.Timer(1.0, srv.proc.kill).start()
    t0 = time.perf_counter()
    try:
        rep = pipeline.hil(srv.host_port, DOMAIN, episodes=2, mode="realtime")
    finally:
        srv.stop()
    lk = rep.results["link"]
    assert lk["misses"] >= 50 and lk["steps"] == 80  # every step after the kill
    assert lk["gaps"] and not lk["gaps"][-1]["reconnected"]  # still down when the run ended
    assert time.perf_counter() - t0 < 2 * rep.results["simulated_s"] + 5  # paced, never stuck on a send


def test_hil_host_serves_over_ssh_and_stops_the_server_after(pendulum, sshd, no_strays):  # noqa: F811
    before = _temp_dirs()
    rep = pipeline.hil(
        None, DOMAIN, model=pendulum, host=sshd["host"], remote_edgeperf=EDGEPERF, ssh_options=sshd["options"],
        episodes=2, mode="lockstep",
    )  # fmt: skip
    assert rep.results["paired"]["verdict"] == "equivalent" and rep.results["link"]["steps"] == 80
    assert rep.config["host"]["host"] == sshd["host"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_temp_dirs() - before or _serving(pendulum)):
        time.sleep(0.1)
    assert not _temp_dirs() - before and not _serving(pendulum)  # the server and its folder are gone there


def _serving(model) -> list:
    import psutil

    return [p for p in psutil.process_iter(["cmdline"]) if "serve" in (p.info["cmdline"] or []) and
            model.name in " ".join(p.info["cmdline"] or [])]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--connect", "127.0.0.1:1"], 3, "no edgeperf server answered"),
        (["--connect", "nonsense"], 2, "--connect"),
        ([], 2, "--connect HOST:PORT"),
        (["--connect", "127.0.0.1:1", "--mode", "fast"], 2, "--mode"),
        (["--connect", "127.0.0.1:0"], 2, "is not an address"),
        (["--connect", "a,b:7007"], 2, "is not an address"),
        (["--connect", "127.0.0.1:1", "--connect-timeout", "1e20"], 2, "at most 3600"),
        (["--connect", "127.0.0.1:1", "--connect-timeout", "nan"], 2, "at most 3600"),
        (["--host", "me@robot", "m.onnx", "--connect-timeout", "inf"], 2, "at most 3600"),
        (["--connect", "127.0.0.1:1", "--mode", "lockstep", "--deadline", "5"], 2, "--deadline"),
        (["--connect", "127.0.0.1:1", "--host", "me@robot"], 2, "--connect HOST:PORT, or --host"),
        (["--host", "nobody@127.0.0.1", "--ssh-option", "Port=2"], 2, "give the MODEL too"),
    ],
)
def test_hil_bad_inputs(bad, args, code, says):
    r = bad(code, "hil", "--domain", "gym:Pendulum-v1", "--connect-timeout", "0.3", *args)
    assert says in r.err


def test_a_camera_policy_of_several_inputs_runs_in_the_loop(tmp_path, no_strays):  # noqa: F811
    # A Dict observation (a uint8 image and a vector) crosses the wire as one array per model input.
    model = tmp_path / "vision.onnx"
    export("reference:vision/pendulum", model)
    srv = serve(model)
    try:
        rep = pipeline.hil(srv.host_port, "vision/pendulum", model=model, episodes=2, mode="lockstep")
        link = rep.results["link"]
        assert link["steps"] == 2 * 200 and link["misses"] == 0
        assert rep.results["paired"]["verdict"] == "equivalent"
        assert {i["name"] for i in rep.model.inputs} == {"image", "state"}
    finally:
        srv.stop()


def test_a_policy_that_returns_nan_in_the_loop_fails_not_scores(cli, tmp_path, no_strays):  # noqa: F811
    """A non-finite action ends the episode as a failure (as validate): its partial return is not shown as the
    best one and the run exits 1 (the hardening pass found exit 0 and the best possible return)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Slice", ["obs", "s", "e", "a"], ["x"]), helper.make_node("Mul", ["x", "nan"], ["action"])],
        "nan",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", 1])],
        initializer=[
            numpy_helper.from_array(np.array([0], np.int64), "s"),
            numpy_helper.from_array(np.array([1], np.int64), "e"),
            numpy_helper.from_array(np.array([1], np.int64), "a"),
            numpy_helper.from_array(np.array(np.nan, np.float32), "nan"),
        ],
    )
    model = tmp_path / "nan.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(model))
    with plugin_module(tmp_path, PLUGIN, SOURCE):
        srv = serve(model)
        try:
            out = tmp_path / "hil.json"
            r = cli("hil", "--domain", DOMAIN, "--connect", srv.host_port, "--episodes", "2", "--mode", "lockstep",
                    "--json", out, "--no-store")  # fmt: skip
        finally:
            srv.stop()
    assert r.code == 1 and "non-finite actions in 2 episodes" in r.err
    res = json.loads(out.read_text())["results"]
    assert res["nonfinite_episodes"] == [0, 1] and "not scores" in res["hil"]["return"]["over"]
    assert res["hil"]["success_rate"] == 0.0
