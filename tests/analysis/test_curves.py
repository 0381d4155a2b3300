"""Curves read from what Stable-Baselines3 and TensorBoard really write (SB3's Monitor and logger, run here)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeperf.analysis import curves

gym = pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")


def test_monitor_csv_from_sb3_monitor(tmp_path):
    from stable_baselines3.common.monitor import Monitor

    env = Monitor(gym.make("CartPole-v1"), str(tmp_path / "run"))
    returns, lengths = [], []
    env.action_space.seed(0)
    for ep in range(6):
        env.reset(seed=ep)
        done, ret, n = False, 0.0, 0
        while not done:
            _, r, term, trunc, _ = env.step(env.action_space.sample())
            ret, n, done = ret + r, n + 1, term or trunc
        returns.append(ret)
        lengths.append(n)
    env.close()
    c = curves.read(tmp_path / "run.monitor.csv")
    assert c.values.tolist() == pytest.approx(returns)
    assert c.steps.tolist() == np.cumsum(lengths).tolist()  # the step is the cumulative timestep count
    assert curves.read(tmp_path).steps.tolist() == c.steps.tolist()  # found in its directory


def _sb3_logs(folder, formats):
    from stable_baselines3.common.logger import configure

    log = configure(str(folder), formats)
    for i in range(1, 9):
        log.record("rollout/ep_rew_mean", 10.0 * i + 0.5)
        log.record("time/total_timesteps", 2048 * i)
        if i % 4 == 0:
            log.record("eval/mean_reward", 100.0 + i)  # logged less often: empty cells in between
        log.dump(step=2048 * i)
    log.close()


def test_progress_csv_and_its_sparse_columns(tmp_path):
    _sb3_logs(tmp_path, ["csv"])
    c = curves.read(tmp_path / "progress.csv")
    assert c.steps.tolist() == [2048.0 * i for i in range(1, 9)]
    assert c.values.tolist() == [10.0 * i + 0.5 for i in range(1, 9)]
    e = curves.read(tmp_path, tag="eval/mean_reward")
    assert e.steps.tolist() == [2048.0 * 4, 2048.0 * 8] and e.values.tolist() == [104.0, 108.0]


def test_tensorboard_events_from_sb3_logger(tmp_path):
    pytest.importorskip("tensorboard")
    _sb3_logs(tmp_path, ["tensorboard"])
    c = curves.read(tmp_path)  # the directory: its event file found, the default tag read
    assert c.steps.tolist() == [2048.0 * i for i in range(1, 9)]
    assert c.values.tolist() == pytest.approx([10.0 * i + 0.5 for i in range(1, 9)])
    assert "rollout/ep_rew_mean" in c.source


def test_plain_csv_with_and_without_header(tmp_path):
    (tmp_path / "a.csv").write_text("step,return,length\n0,1.5,3\n10,2.5,4\n")
    (tmp_path / "b.csv").write_text("0,1.5\n10,2.5\n")
    assert curves.read(tmp_path / "a.csv").values.tolist() == [1.5, 2.5]
    assert curves.read(tmp_path / "a.csv", tag="length").values.tolist() == [3.0, 4.0]
    assert curves.read(tmp_path / "b.csv").steps.tolist() == [0.0, 10.0]


def test_cli_report_states_every_parameter(tmp_path, cli):
    for s in range(3):
        rng = np.random.default_rng(s)
        rows = "\n".join(f"{t},{v}" for t, v in zip(range(0, 500, 5), np.cumsum(rng.normal(0, 1, 100)), strict=True))
        (tmp_path / f"s{s}.csv").write_text("step,value\n" + rows + "\n")
    out = tmp_path / "rel.json"
    r = cli("reliability", *(tmp_path / f"s{s}.csv" for s in range(3)), "--json", out)
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    assert doc["schema"] == "edgeperf.reliability/1"
    p = doc["config"]["parameters"]
    assert p["dispersion_across_time"]["window_gaps"] == 5
    assert p["short_term_risk"]["alpha"] == 0.05 and p["long_term_risk"]["quantile"] == 0.95
    assert p["dispersion_across_runs"]["lowpass"]["order"] == 8
    assert p["dispersion_across_runs"]["lowpass"]["cutoff"] == 0.01
    assert p["risk_across_runs"]["alpha"] == 0.05
    assert len(doc["results"]["runs"]) == 3 and doc["results"]["across_runs"]["shared_steps"] == 100


def test_reliability_is_recorded_and_history_shows_its_figures(tmp_path, cli):
    for s in range(2):
        rows = "".join(f"{10 * i},{i * (s + 1)}\n" for i in range(20))
        (tmp_path / f"s{s}.csv").write_text("step,value\n" + rows)
    db = tmp_path / "runs.db"
    assert cli("reliability", tmp_path / "s0.csv", tmp_path / "s1.csv", "--db", db).code == 0
    assert cli("history", "--db", db).code == 0  # the table has the kind's columns
    r = cli("history", "--db", db, "--json", tmp_path / "h.json")
    assert r.code == 0, r.err
    [run] = json.loads((tmp_path / "h.json").read_text())["runs"]
    assert run["kind"] == "reliability"
    assert run["figures"]["risk_across_runs"] == 19.0  # the finals are 19 and 38: the worse of two is 19
