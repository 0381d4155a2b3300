"""Bad sweep configs and executors: one line, exit 2 (3 for an unreachable Ray cluster or a missing ray)."""

from __future__ import annotations

import socket

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
