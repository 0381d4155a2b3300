"""Action-chunk policies in the loop, for real: the exported chunk reference (`reference:pendulum/chunks`, H=16)
served by `edgeperf serve` on 127.0.0.1, `edgeperf hil --chunk-exec` driving it in lockstep, in real time, and
through `edgeperf link` with a delay of a few control periods (Pendulum runs at 20 Hz: 50 ms)."""

import json
import re
import subprocess
import sys
import threading
import time

import pytest

from edgeperf import pipeline
from edgeperf.exporter.onnx import export
from edgeperf.validation.chunks import ChunkExecution
from tests.plugins import plugin_module
from tests.runtime.test_server import no_strays, serve  # noqa: F401  (a fixture and the server helper)

pytest.importorskip("zmq")
pytest.importorskip("gymnasium")
pytest.importorskip("torch")

PLUGIN = "edgeperf_test_short_chunks"
SOURCE = """
import dataclasses

from edgeperf.domains.base import register
from edgeperf.domains.pendulum import chunks


def short(steps):
    # pendulum/chunks cut to a length a real-time test can afford
    return lambda domain_id: dataclasses.replace(chunks(), id=domain_id, options={"max_episode_steps": steps})


two_s, one_s = short(40), short(20)
register("chunks-2s", "edgeperf_test_short_chunks:two_s")
register("chunks-1s", "edgeperf_test_short_chunks:one_s")
"""
TWO_S, ONE_S = f"{PLUGIN}:chunks-2s", f"{PLUGIN}:chunks-1s"
METRICS = ("chunk_queries", "chunk_stall_steps", "chunk_skipped_actions")


@pytest.fixture(scope="module")
def chunk_model(tmp_path_factory):
    with plugin_module(tmp_path_factory.mktemp("hil_chunks"), PLUGIN, SOURCE) as d:
        model = d / "chunks.onnx"
        export("reference:pendulum/chunks", model)
        yield model


@pytest.fixture(scope="module")
def chunk_server(chunk_model):
    srv = serve(chunk_model)
    yield srv
    srv.stop()


def _delayed_link(forward: str, delay_ms: float):
    """`edgeperf link` in its own process on a free port: (process, HOST:PORT)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeperf", "link", "--listen", "127.0.0.1:0", "--forward", forward,
         "--delay", str(delay_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    banner = proc.stdout.readline()
    found = re.search(r"link (\S+) ->", banner)
    if not found:
        proc.kill()
        raise AssertionError(f"no banner: {banner!r} {proc.communicate(timeout=10)}")
    return proc, found.group(1)


def _per_episode(rep) -> dict:
    return rep.results["chunks"]["per_episode"] if hasattr(rep, "results") else rep["results"]["chunks"]["per_episode"]


@pytest.mark.parametrize(("mode", "k", "queries"), [("open-loop", 8, 5), ("ensemble", 2, 20)])
def test_lockstep_hil_of_the_chunk_reference_is_sil(chunk_model, chunk_server, cli, tmp_path, mode, k, queries):
    out = tmp_path / "hil.json"
    r = cli("hil", chunk_model, "--domain", TWO_S, "--connect", chunk_server.host_port, "--episodes", "3",
            "--mode", "lockstep", "--chunk-exec", mode, "--chunk-steps", k, "--json", out)  # fmt: skip
    assert r.code == 0, r.err
    rep = json.loads(out.read_text())
    res = rep["results"]
    assert res["paired"]["verdict"] == "equivalent"
    # the same seeds, the same chunk execution: the very same episodes (a chunk executed from the wrong action,
    # or queried on another cadence, would move them)
    assert res["per_episode"]["hil"] == pytest.approx(res["per_episode"]["sil"], abs=1e-3)
    assert res["chunks"]["mode"] == mode and res["chunks"]["timing"] == "sync" and res["chunks"]["horizon"] == 16
    assert _per_episode(rep)["chunk_queries"] == [queries] * 3  # 40 steps, a chunk every k
    assert res["hil"]["metrics"]["chunk_queries"] == res["sil"]["metrics"]["chunk_queries"] == queries
    assert res["link"]["queries"] == 3 * queries and res["link"]["misses"] == 0  # one round trip per chunk
    assert res["chunks"]["reply_steps"]["max"] == 0  # loopback: no step waited for
    assert "chunks" in r.out  # the summary names the chunk execution
    # the HTML report and the run store's miss rate read the link's queries, not the steps it does not count
    from edgeperf.results import figures, html
    from tests.results.test_html import figure_text

    assert figure_text(html.render([(rep, None)]), "hil_misses") == f"0 / {3 * queries}"
    assert figures._miss_rate(rep).value == 0.0


def test_realtime_ensemble_over_loopback_completes_with_its_chunk_metrics(chunk_model, chunk_server, no_strays):  # noqa: F811
    rep = pipeline.hil(
        chunk_server.host_port, ONE_S, model=chunk_model, episodes=2, mode="realtime",
        chunking=ChunkExecution("ensemble", 2),
    )  # fmt: skip
    res, per = rep.results, _per_episode(rep)
    assert res["chunks"]["timing"] == "async" and res["chunks"]["m"] == 0.01
    assert per["chunk_queries"] == [10.0, 10.0]  # 20 steps, a chunk every 2
    link = res["link"]
    # every query is either answered, missed, or still in flight when its episode ended
    assert link["queries"] + res["chunks"]["queries_in_flight_at_episode_end"] == 20
    assert link["round_trip_us"]["count"] == link["queries"] - link["misses"]
    if res["chunks"]["reply_steps"]["max"] == 0:  # every reply in time for the step it was asked at: SIL exactly
        assert res["per_episode"]["hil"] == pytest.approx(res["per_episode"]["sil"], abs=1e-3)
    assert res["wall_s"] < 3 * res["simulated_s"] + 5  # paced at the control rate


def test_a_link_slower_than_the_control_period_skips_stale_actions(chunk_model, chunk_server, no_strays):  # noqa: F811
    # 60 ms each way: a reply takes 2-3 control periods, so 2-3 actions of each chunk are already in the past
    proc, address = _delayed_link(chunk_server.host_port, 60)
    try:
        rep = pipeline.hil(address, ONE_S, episodes=2, mode="realtime", chunking=ChunkExecution("open-loop", 8))
        per, took = _per_episode(rep), rep.results["chunks"]["reply_steps"]
        assert per["chunk_queries"] == [3.0, 3.0]
        assert took["max"] >= 2  # a few control periods late...
        # ...and each late chunk took over at the action meant for its step, its stale ones skipped, one by one
        skipped = sum(per["chunk_skipped_actions"])
        assert skipped > 0
        assert skipped == sum(int(d) * n for d, n in took["histogram"].items())
        assert rep.results["link"]["misses"] == 0 and rep.results["link"]["round_trip_us"]["p50"] > 100e3

        # the whole chunk run before the next (k = H): each late reply leaves steps with no action: stalls
        rep = pipeline.hil(address, ONE_S, episodes=2, mode="realtime", chunking=ChunkExecution("open-loop"))
        per = _per_episode(rep)
        assert sum(per["chunk_stall_steps"]) > 0 and sum(per["chunk_skipped_actions"]) > 0
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.fixture(scope="module")
def single_server(tmp_path_factory):
    model = tmp_path_factory.mktemp("hil_single") / "pendulum.onnx"
    export("reference:gym:Pendulum-v1", model)
    srv = serve(model)
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "--chunk-exec open-loop|ensemble"),  # a chunk policy told nothing of how to execute its chunks
        (["--chunk-exec", "open-loop", "--chunk-steps", "17"], "at most 16"),  # k > H, learnt from the server
        (["--chunk-exec", "ensemble", "--chunk-steps", "20"], "at most 16"),
        (["--chunk-steps", "4"], "go with --chunk-exec"),
        (["--ensemble-m", "0.5"], "go with --chunk-exec"),
        (["--chunk-exec", "closed-loop"], "choose open-loop or ensemble"),
        (["--chunk-exec", "open-loop", "--chunk-steps", "0"], "--chunk-steps"),
        (["--chunk-exec", "open-loop", "--deadline", "20"], "--deadline"),
    ],
)
def test_hil_chunk_options_that_do_not_fit(bad, chunk_server, tmp_path, args, says):
    out = tmp_path / "hil.json"
    r = bad(2, "hil", "--domain", "pendulum/chunks", "--connect", chunk_server.host_port, "-n", "2",
            "--json", out, *args)  # fmt: skip
    assert says in r.err
    assert not out.exists()  # refused before any episode: nothing written


def test_hil_chunk_exec_on_a_policy_without_chunks(bad, single_server):
    r = bad(2, "hil", "--domain", "gym:Pendulum-v1", "--connect", single_server.host_port, "-n", "2",
            "--chunk-exec", "open-loop")  # fmt: skip
    assert "returns one action" in r.err


def test_a_chunk_server_that_dies_mid_run_costs_misses_and_stalls_not_a_hang(chunk_model, no_strays):  # noqa: F811
    srv = serve(chunk_model)
    threading.Timer(1.5, srv.proc.kill).start()  # into the first episode's second half
    t0 = time.perf_counter()
    try:
        rep = pipeline.hil(srv.host_port, TWO_S, episodes=2, mode="realtime", chunking=ChunkExecution("open-loop", 8))
    finally:
        srv.stop()
    lk, per = rep.results["link"], _per_episode(rep)
    assert lk["misses"] > 0 and lk["gaps"] and not lk["gaps"][-1]["reconnected"]
    assert per["chunk_stall_steps"][1] == 40  # no chunk ever came in the second episode: every step held
    assert per["chunk_queries"] == [5.0, 5.0]  # the cadence went on, each query a miss
    assert time.perf_counter() - t0 < 2 * rep.results["simulated_s"] + 10  # paced, never stuck on a send
