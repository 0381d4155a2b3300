"""Bad training curves for `edgeperf reliability`: one line, exit 2 (or 0 with what was not computed said)."""

from __future__ import annotations

import json
import sys

import pytest


def _csv(path, rows):
    path.write_text("step,value\n" + "".join(f"{s},{v}\n" for s, v in rows))
    return path


def test_unknown_tensorboard_tag_lists_the_tags(tmp_path, bad):
    pytest.importorskip("tensorboard")
    from stable_baselines3.common.logger import configure

    log = configure(str(tmp_path), ["tensorboard"])
    for i in range(3):
        log.record("rollout/ep_rew_mean", float(i))
        log.record("train/loss", float(i))
        log.dump(step=i)
    log.close()
    r = bad(2, "reliability", tmp_path, "--tag", "rollout/ep_rew_men")
    assert "did you mean 'rollout/ep_rew_mean'" in r.err
    assert "train/loss" in r.err  # the tags it has are listed


def test_unknown_progress_column(tmp_path, bad):
    (tmp_path / "progress.csv").write_text("time/total_timesteps,rollout/ep_rew_mean\n1,2\n")
    r = bad(2, "reliability", tmp_path / "progress.csv", "--tag", "eval/mean_reward")
    assert "rollout/ep_rew_mean" in r.err


def test_no_shared_steps_exits_0_and_says_what_is_not_computed(tmp_path, cli):
    a = _csv(tmp_path / "a.csv", [(s, s * 0.1) for s in range(1, 60, 2)])
    b = _csv(tmp_path / "b.csv", [(s, s * 0.2) for s in range(0, 60, 2)])
    out = tmp_path / "r.json"
    r = cli("reliability", a, b, "--json", out)
    assert r.code == 0
    assert "not computed across_runs.dispersion_across_runs" in " ".join(r.out.split())
    doc = json.loads(out.read_text())
    assert "share no step" in doc["unmeasured"]["across_runs.risk_across_runs"]
    assert all("dispersion_across_time" in run for run in doc["results"]["runs"])


def test_different_lengths_warn(tmp_path, cli):
    a = _csv(tmp_path / "a.csv", [(s, s) for s in range(100)])
    b = _csv(tmp_path / "b.csv", [(s, -s) for s in range(40)])
    r = cli("reliability", a, b)
    assert r.code == 0
    assert "end at different steps" in " ".join(r.out.split())


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("step,value\n0,1\n0,2\n", "steps must increase"),
        ("step,value\n0,1\n1,nan\n", "not finite"),
        ("step,value\n0,1\n1,abc\n", "row 2 is not step,value"),
        ("step,value\n", "no points"),
    ],
)
def test_malformed_csv(tmp_path, bad, content, says):
    (tmp_path / "c.csv").write_text(content)
    assert says in bad(2, "reliability", tmp_path / "c.csv").err


def test_missing_run_and_empty_directory(tmp_path, bad):
    assert "does not exist" in bad(2, "reliability", tmp_path / "nope.csv").err
    assert "holds no monitor.csv" in bad(2, "reliability", tmp_path).err


def test_missing_tensorboard_names_the_extra(tmp_path, bad, monkeypatch):
    class Hide:  # a finder first on the path: tensorboard imports as a missing package does
        def find_spec(self, name, path=None, target=None):
            if name == "tensorboard" or name.startswith("tensorboard."):
                raise ModuleNotFoundError(f"No module named {name!r}", name="tensorboard")

    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"")
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [Hide(), *sys.meta_path])
    r = bad(3, "reliability", tmp_path)
    assert 'pip install "edgeperf[tensorboard]"' in r.err
