"""Bad sweep configs and executors: one line, exit 2 (3 for an unreachable Ray cluster or a missing ray)."""

from __future__ import annotations

import socket
import time

import pytest


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        (
            '[validate]\nmodels = ["a.onnx"]\ndomain = ["x"]\n',
            "unknown key 'domain' in [validate] (did you mean 'domains'?)",
        ),
        ("[valdate]\n", "unknown table [valdate] (did you mean 'validate'?)"),
        ('[validate]\nmodels = ["a.onnx"]\n', "[validate] needs 'domains'"),
        ('[validate]\nmodels = "a.onnx"\ndomains = ["x"]\n', "expected a list"),
        ('[validate]\nmodels = []\ndomains = ["x"]\n', "is empty"),
        ("[sweep]\nworkers = 2\n", "defines no jobs"),
        ("[sweep\n", "TOML syntax error"),
        ('[validate]\nmodels = ["a", "a"]\ndomains = ["x"]\n', "lists a job twice"),
        ('[validate]\nmodels = [1, 2]\ndomains = ["x"]\n', "models holds 1: expected a string"),
        ('[sweep]\nworkers = -3\n[validate]\nmodels = ["a"]\ndomains = ["x"]\n', "workers = -3: it must be at least 1"),
        ('[sweep]\nworkers = 0\n[validate]\nmodels = ["a"]\ndomains = ["x"]\n', "workers = 0: it must be at least 1"),
        ('[validate]\nmodels = ["a"]\ndomains = ["x"]\nlatencies_ms = [nan]\n', "a latency is a finite number"),
        ('[validate]\nmodels = ["a"]\ndomains = ["x"]\nmargin = inf\n', "margin = inf: a finite number"),
    ],
)
def test_bad_config(tmp_path, bad, toml, says):
    p = tmp_path / "s.toml"
    p.write_text(toml)
    assert says in bad(2, "sweep", p).err


def test_a_grid_of_10_8_jobs_is_refused_at_once_without_being_built(tmp_path, bad, monkeypatch):
    from edgeperf.sweep import config as cfg

    made, job = [], cfg.Job

    def counted(*args, **kw):  # every job is made through the name Job
        made.append(1)
        if len(made) > 1000:  # building it whole took minutes and ~45 GB
            raise AssertionError("the grid is being built")
        return job(*args, **kw)

    monkeypatch.setattr(cfg, "Job", counted)
    p = tmp_path / "s.toml"
    seeds = list(range(100))
    p.write_text(
        f"[validate]\nmodels = {[f'm{i}.onnx' for i in range(100)]}\ndomains = {[f'd{i}' for i in range(100)]}\n"
        f"latencies_ms = {seeds}\nseeds = {seeds}\n"
    )
    t0 = time.perf_counter()
    r = bad(2, "sweep", p)
    assert time.perf_counter() - t0 < 1.0
    assert "spans 100,000,000 jobs ([validate] 100 models x 100 domains x 100 latencies_ms x 100 seeds)" in r.err
    assert f"more than the {cfg.MAX_JOBS:,} one sweep runs" in r.err and made == []
    # The cap counts every table: two tables just under it each are over it together.
    p.write_text(f"[validate]\nmodels = {[f'm{i}' for i in range(400)]}\ndomains = {[f'd{i}' for i in range(250)]}\n"
                 f"[profile]\nmodels = ['a']\ndevices = {[f'v{i}' for i in range(10)]}\n")  # fmt: skip
    r = bad(2, "sweep", p)
    assert "spans 100,010 jobs ([validate] 400 models x 250 domains, [profile] 1 models x 10 devices)" in r.err
    assert made == []
    p.write_text('[validate]\nmodels = ["a", "b"]\ndomains = ["x"]\nseeds = [0, 1, 2]\n')
    assert len(list(cfg.load(p).jobs)) == len(made) == 6  # the count sees every job that is made


@pytest.mark.parametrize(
    ("toml", "args", "says"),
    [
        ("", ["--workers", "0"], "--workers must be from 1 to"),
        ("", ["--workers", "100000"], "--workers must be from 1 to"),
        ("[sweep]\nworkers = 100000\n", [], "s.toml: [sweep] workers must be from 1 to"),
        ("[sweep]\nworkers = 0\n", [], "workers = 0: it must be at least 1"),
    ],
)
def test_workers_have_the_same_bounds_in_the_config_and_the_option(tmp_path, bad, toml, args, says):
    p = tmp_path / "s.toml"
    p.write_text(toml + '[validate]\nmodels = ["a"]\ndomains = ["x"]\n')
    assert says in bad(2, "sweep", p, *args).err


def test_the_library_pool_refuses_0_workers_too():
    from edgeperf.errors import BadInput
    from edgeperf.sweep.local import LocalPool

    with pytest.raises(BadInput, match="workers must be from 1 to"):
        LocalPool(0)  # it meant "one per core"; None says that
    assert LocalPool(None).workers >= 1 and LocalPool(1).workers == 1


def test_missing_config_and_bad_options(tmp_path, bad):
    assert "does not exist" in bad(2, "sweep", tmp_path / "none.toml").err
    p = tmp_path / "s.toml"
    p.write_text('[validate]\nmodels = ["a"]\ndomains = ["x"]\n')
    assert "expected local or ray" in bad(2, "sweep", p, "--executor", "dask").err
    assert "--executor ray" in bad(2, "sweep", p, "--address", "1.2.3.4:6379").err


def test_unreachable_ray_address_exits_3(tmp_path, bad):
    pytest.importorskip("ray")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = tmp_path / "s.toml"
    p.write_text('[validate]\nmodels = ["a"]\ndomains = ["x"]\n')
    r = bad(3, "sweep", p, "--executor", "ray", "--address", f"127.0.0.1:{port}")
    assert "cannot reach the Ray cluster" in r.err


def test_missing_ray_names_the_extra(tmp_path, bad_proc):
    import os

    p = tmp_path / "s.toml"
    p.write_text('[validate]\nmodels = ["a"]\ndomains = ["x"]\n')
    # A ray that is not there: a package first on the path whose import fails as a missing one does.
    hide = tmp_path / "hide" / "ray"
    hide.mkdir(parents=True)
    (hide / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'ray'\", name='ray')\n")
    path = os.pathsep.join([str(tmp_path / "hide"), os.environ.get("PYTHONPATH", "")])
    r = bad_proc(3, "sweep", p, "--executor", "ray", env={"PYTHONPATH": path})
    assert 'pip install "edgeperf[ray]"' in r.stderr
