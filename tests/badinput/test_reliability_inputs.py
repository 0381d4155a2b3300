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


def test_short_row_is_one_line(tmp_path, bad):
    (tmp_path / "c.csv").write_text("step,value\n0,1\n1\n")
    assert "row 2 is not step,value" in bad(2, "reliability", tmp_path / "c.csv").err


def test_one_file_given_twice_is_refused_naming_both(tmp_path, bad, monkeypatch):
    # a.csv and ./a.csv, a symbolic link, a hard link, the directory that holds it: each is the same run twice.
    a = _csv(tmp_path / "a.csv", [(s, s * 0.5) for s in range(50)])
    b = _csv(tmp_path / "b.csv", [(s, s * 0.1) for s in range(50)])
    (tmp_path / "link.csv").symlink_to(a)
    (tmp_path / "hard.csv").hardlink_to(a)
    (tmp_path / "run").mkdir()
    m = tmp_path / "run" / "0.monitor.csv"
    m.write_text('#{"t_start": 0}\nr,l,t\n' + "".join(f"{i},{10 + i},{i}\n" for i in range(30)))
    monkeypatch.chdir(tmp_path)
    for first, second in [
        ("a.csv", "./a.csv"),
        ("a.csv", str(a)),
        ("a.csv", "link.csv"),
        ("hard.csv", "a.csv"),
        ("run", "run/0.monitor.csv"),
        ("run/../a.csv", "a.csv"),
    ]:
        r = bad(2, "reliability", first, b, second)
        assert f"runs {first} and {second} are one file" in r.err, r.err
    assert "given twice" in bad(2, "reliability", a, a).err  # the very same argument


def test_one_tensorboard_log_as_directory_and_file_is_refused(tmp_path, bad):
    pytest.importorskip("tensorboard")
    from stable_baselines3.common.logger import configure

    log = configure(str(tmp_path / "tb"), ["tensorboard"])
    for i in range(3):
        log.record("rollout/ep_rew_mean", float(i))
        log.dump(step=i)
    log.close()
    (event,) = (tmp_path / "tb").glob("events.out.tfevents.*")
    assert "are one file" in bad(2, "reliability", tmp_path / "tb", event).err


def test_library_refuses_one_file_twice(tmp_path):
    from edgeperf.analysis import curves
    from edgeperf.analysis.reliability import reliability
    from edgeperf.errors import BadInput

    _csv(tmp_path / "a.csv", [(s, s) for s in range(20)])
    with pytest.raises(BadInput, match="are one file"):
        reliability([curves.read(tmp_path / "a.csv"), curves.read(f"{tmp_path}/./a.csv")])


@pytest.mark.parametrize(
    ("align", "says"),
    [
        ("1e-7", "at 490,000,000,001 steps; give an interval of at least 0.0049"),  # the traceback of the issue
        ("1e-300", "give an interval of at least"),
        ("1e-320", "at too many steps"),  # steps / align overflows to inf
        ("1e6", "no multiple of 1e+06 lies within its steps 10 to 49010; give at most 49000"),
        ("1e300", "no step to resample at"),
        ("0", "positive step interval"),
        ("-10", "positive step interval"),
        ("nan", "positive step interval"),
        ("inf", "positive step interval"),
        ("-inf", "positive step interval"),
    ],
)
def test_align_out_of_range_is_one_line(tmp_path, bad, align, says):
    a = _csv(tmp_path / "a.csv", [(10 + 10 * i, i) for i in range(4901)])
    b = _csv(tmp_path / "b.csv", [(10 + 10 * i, -i) for i in range(4901)])
    r = bad(2, "reliability", a, b, "--align", align)
    assert says in r.err
    assert "Warning" not in r.err  # no numpy overflow warning beside the line


def test_align_at_the_edges_of_its_range_is_measured(tmp_path, cli):
    # Steps 10..49010: --align 49000 leaves one multiple (49000) in the span, and is measured; the least interval
    # the refusal of 1e-7 suggests resamples at no more steps than a run may have (checked without resampling).
    from edgeperf.analysis import curves
    from edgeperf.analysis import reliability as rel

    a = _csv(tmp_path / "a.csv", [(10 + 10 * i, i) for i in range(4901)])
    b = _csv(tmp_path / "b.csv", [(10 + 10 * i, -i) for i in range(4901)])
    out = tmp_path / "r.json"
    assert cli("reliability", a, b, "--align", "49000", "--json", out, "--no-store").code == 0
    assert json.loads(out.read_text())["results"]["across_runs"]["shared_steps"] == 1
    suggested = float(cli("reliability", a, b, "--align", "1e-7").err.split("at least ")[1].split()[0])
    first, last = rel._grid(curves.read(a), suggested)
    assert 0.99 * rel.ALIGN_MAX_POINTS < last - first + 1 <= rel.ALIGN_MAX_POINTS
