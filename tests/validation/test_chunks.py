"""Action chunk execution against ground truth: a fake policy whose chunk j holds the values 1000*j + i
(query j, action i), so every applied action says which query and which index it came from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeperf.errors import BadInput
from edgeperf.validation.chunks import Chunker, ChunkExecution, budget, delay_steps, horizon_of
from edgeperf.validation.latency import LatencyModel

PERIOD = 0.02  # 50 Hz


def run(execution, horizon, steps, latency_ms=None):
    queries = []

    def query(obs):
        j = len(queries)
        queries.append(obs)
        return np.array([[1000.0 * j + i] for i in range(horizon)], np.float32)

    model = LatencyModel.constant(latency_ms) if latency_ms is not None else None
    c = Chunker(execution, horizon, query, PERIOD, model, np.random.default_rng(0), np.array([-1.0], np.float32))
    applied = [float(c.act(np.array([t], np.float32))[0]) for t in range(steps)]
    return applied, c.metrics(), [float(q[0]) for q in queries]


def test_open_loop_runs_k_actions_of_each_chunk_in_order():
    applied, m, asked_at = run(ChunkExecution("open-loop", 3), 4, 8)
    assert applied == [0, 1, 2, 1000, 1001, 1002, 2000, 2001]
    assert asked_at == [0, 3, 6]  # each chunk from the observation when it is queried
    assert m == {"chunk_queries": 3, "chunk_stall_steps": 0, "chunk_skipped_actions": 0}


def test_open_loop_default_runs_the_whole_chunk():
    applied, _, _ = run(ChunkExecution("open-loop"), 4, 6)
    assert applied == [0, 1, 2, 3, 1000, 1001]


def test_sync_waits_for_each_chunk_holding_the_last_action():
    # 40 ms at 50 Hz = 2 control steps: each query holds the previous action two steps, then the chunk runs from 0
    applied, m, asked_at = run(ChunkExecution("open-loop", 2, timing="sync"), 4, 10, latency_ms=40)
    assert applied == [-1, -1, 0, 1, 1, 1, 1000, 1001, 1001, 1001]
    assert asked_at == [0, 4, 8]
    assert m["chunk_stall_steps"] == 6 and m["chunk_skipped_actions"] == 0


def test_async_computes_the_next_chunk_while_the_current_runs_and_skips_its_stale_actions():
    # 20 ms = 1 step: chunk j queried at 2j arrives at 2j+1 and starts at its action 1
    applied, m, asked_at = run(ChunkExecution("open-loop", 2, timing="async"), 4, 8, latency_ms=20)
    assert applied == [-1, 1, 2, 1001, 1002, 2001, 2002, 3001]
    assert asked_at == [0, 2, 4, 6]
    assert m["chunk_skipped_actions"] == 4 and m["chunk_stall_steps"] == 1  # only the start waits


def test_async_stalls_when_a_chunk_runs_out_before_the_next_arrives():
    # H=2, k=2, 1 step late: k + d > H, so the last step of each cadence has no action left
    applied, m, _ = run(ChunkExecution("open-loop", 2, timing="async"), 2, 6, latency_ms=20)
    assert applied == [-1, 1, 1, 1001, 1001, 2001]
    assert m["chunk_stall_steps"] == 3


def test_temporal_ensembling_weights_the_oldest_chunk_first():
    mm = 0.5
    applied, m, _ = run(ChunkExecution("ensemble", 1, m=mm), 3, 4)
    w = np.exp(-mm * np.arange(3))
    assert applied[0] == 0
    assert applied[1] == pytest.approx((1 * w[0] + 1000 * w[1]) / w[:2].sum(), rel=1e-6)
    assert applied[2] == pytest.approx((2 * w[0] + 1001 * w[1] + 2000 * w[2]) / w.sum(), rel=1e-6)
    # chunk 0 has no action for step 3 any more: chunks 1..3 only
    assert applied[3] == pytest.approx((1002 * w[0] + 2001 * w[1] + 3000 * w[2]) / w.sum(), rel=1e-6)
    assert m["chunk_queries"] == 4


def test_ensembling_every_k_steps_and_with_m_zero_is_a_plain_mean():
    applied, _, _ = run(ChunkExecution("ensemble", 2, m=0.0), 4, 4)
    assert applied == [0, 1, pytest.approx((2 + 1000) / 2), pytest.approx((3 + 1001) / 2)]


def test_without_latency_sync_and_async_are_the_same():
    a, _, _ = run(ChunkExecution("open-loop", 3, timing="sync"), 5, 12)
    b, _, _ = run(ChunkExecution("open-loop", 3, timing="async"), 5, 12)
    assert a == b


def test_k_larger_than_h_and_bad_options_are_bad_input():
    with pytest.raises(BadInput, match="at most 4"):
        ChunkExecution("open-loop", 5).check(4, "p.onnx")
    ChunkExecution("open-loop", 4).check(4, "p.onnx")
    for kw, says in (
        ({"mode": "closed"}, "--chunk-exec"),
        ({"timing": "later"}, "--chunk-timing"),
        ({"steps": 0}, "--chunk-steps"),
        ({"m": -1.0}, "--ensemble-m"),
        ({"m": math.nan}, "--ensemble-m"),
    ):
        with pytest.raises(BadInput, match=says):
            ChunkExecution(**kw)


def test_horizon_and_budget():
    assert horizon_of((16, 1), (1,)) == 16
    assert horizon_of((1,), (1,)) is None
    assert horizon_of((16, 2), (1,)) is None
    assert delay_steps(0.009, PERIOD) == 0 and delay_steps(0.011, PERIOD) == 1
    b = budget(horizon=16, k=8, period_s=PERIOD, p99_s=0.05)
    assert b["budget_ms"] == pytest.approx(160) and b["p99_share_of_budget"] == pytest.approx(0.05 / 0.16)
    assert b["sync"]["stall_steps_per_chunk_at_p99"] == 3  # 50 ms = 2.5 steps -> nearest: 3
    assert b["async"]["fits_at_p99"] and b["async"]["spare_actions_at_p99"] == 5
    assert not budget(horizon=8, k=8, period_s=PERIOD, p99_s=0.05)["async"]["fits_at_p99"]


@pytest.mark.parametrize(
    "execution", [ChunkExecution("open-loop", 2, timing="async"), ChunkExecution("ensemble", 1, timing="async")]
)
def test_a_caller_whose_chunks_arrive_on_their_own_clock_gets_the_same_execution(execution):
    # hil's realtime loop: it sends a query when due(), hands the reply over when it comes (arrived), and takes
    # advance()'s action; with every reply one step late that is exactly act() under a 20 ms (1 step) latency
    want, want_m, _ = run(execution, 4, 9, latency_ms=20)
    c = Chunker(execution, 4, None, PERIOD, None, None, np.array([-1.0], np.float32))
    in_flight, applied = [], []
    for t in range(9):
        if c.due():
            c.asked()
            in_flight.append((t, len(in_flight)))
        for asked, j in [f for f in in_flight if f[0] == t - 1]:
            c.arrived(asked, np.array([[1000.0 * j + i] for i in range(4)], np.float32))
        applied.append(float(c.advance()[0]))
    assert applied == pytest.approx(want) and c.metrics() == want_m
    if execution.mode == "open-loop":
        assert c.metrics()["chunk_skipped_actions"] > 0  # each reply's stale first action was skipped


def test_a_failed_query_and_a_stall_fallback():
    # a query that returns None (hil lockstep: no reply) delivers nothing; the stall applies the fallback
    c = Chunker(ChunkExecution("open-loop", 2), 2, lambda obs: None, PERIOD, None, None, np.zeros(1, np.float32),
                fallback=np.array([7.0], np.float32))  # fmt: skip
    assert [float(c.act(None)[0]) for _ in range(3)] == [7, 7, 7]
    assert c.metrics() == {"chunk_queries": 3, "chunk_stall_steps": 3, "chunk_skipped_actions": 0}
