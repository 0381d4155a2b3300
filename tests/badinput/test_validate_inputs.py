"""`edgeperf validate`'s bad inputs: each one line, exit 2, and refused before any episode runs (a run of
minutes must not end in an error about an option given at its start)."""

from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("gymnasium")

DOMAIN = ["--domain", "gym:Pendulum-v1"]


def _pendulum_onnx(path, weight: float):
    """A Pendulum-shaped policy (3 observations -> 1 action): action = weight * sum(obs)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "w"], ["action"])],
        "pendulum",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["b", 3])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["b", 1])],
        [numpy_helper.from_array(np.full((3, 1), weight, np.float32), "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A policy that fits the domain, one whose weights are NaN, and a real profile report of the first."""
    from edgeperf.profilers.run import profile

    d = tmp_path_factory.mktemp("validate_inputs")
    model = _pendulum_onnx(d / "policy.onnx", 0.0)
    _pendulum_onnx(d / "nan.onnx", float("nan"))
    profile(model, iterations=60, duration=0, warmup=5, power="off").write(d / "profile.json")
    profile(model, iterations=60, duration=0, warmup=5, power="off", batch=4).write(d / "batched.json")
    (d / "notes.txt").write_text("p50 was about 40 us\n")
    return d


def _edited(files, name: str, edit) -> str:
    """A copy of the real profile report with one thing changed, as a hand-edited or corrupt file would be."""
    doc = json.loads((files / "profile.json").read_text())
    edit(doc["results"]["latency_us"], doc)
    out = files / f"{name}.json"
    out.write_text(json.dumps(doc))  # json writes NaN as the NaN literal, which Python's reader accepts
    return str(out)


def _set(key, value):
    def edit(lat, doc):
        lat[key] = value

    return edit


LATENCY_FROM = {
    "negative p50": (_set("p50", -40.0), "latency_us.p50 is -40.0"),
    "NaN p99": (_set("p99", float("nan")), "latency_us.p99 is nan"),
    "string p90": (_set("p90", "fast"), "latency_us.p90 is 'fast'"),
    "boolean max": (_set("max", True), "latency_us.max is True"),
    "infinite max": (_set("max", float("inf")), "latency_us.max is inf"),
    "non-monotone": (_set("p99", 0.5), "its latency percentiles decrease"),
    "no p99_9": (lambda lat, doc: lat.pop("p99_9"), "lacks p99_9"),
    "no latency_us": (lambda lat, doc: doc["results"].pop("latency_us"), "lacks min, p50"),
    "latency_us a list": (
        lambda lat, doc: doc["results"].update(latency_us=[1, 2]),
        "a latency block is a JSON object",
    ),
    "results a string": (lambda lat, doc: doc.update(results="none"), "'results' is str"),
}


@pytest.fixture
def no_episode(monkeypatch):
    """Fails the test if any episode is run: every case here must be refused before."""
    from edgeperf.validation import paired

    def run_pairs(*a, **kw):
        raise AssertionError("an episode ran before the bad input was refused")

    monkeypatch.setattr(paired, "run_pairs", run_pairs)


@pytest.mark.parametrize("case", list(LATENCY_FROM), ids=list(LATENCY_FROM))
def test_latency_from_a_report_that_is_not_a_distribution(bad, files, no_episode, case):
    edit, message = LATENCY_FROM[case]
    r = bad(2, "validate", files / "policy.onnx", *DOMAIN, "--latency-from", _edited(files, case, edit))
    assert message in r.err


OPTIONS = [
    (["--workers", "0"], "--workers must be from 1"),
    (["--workers", "-3"], "--workers must be from 1"),
    (["--workers", "100000"], "--workers must be from 1"),
    (["--latency-sweep", "0,inf"], "--latency-sweep must be a number of milliseconds"),
    (["--latency-sweep", "nan"], "--latency-sweep must be a number of milliseconds"),
    (["--latency-sweep", "10,-5"], "--latency-sweep must be a number of milliseconds"),
    (["--latency-sweep", "1e9"], "--latency-sweep must be a number of milliseconds from 0 to 60000"),
    (["--latency-sweep", "ten,20"], "give milliseconds separated by commas"),
    (["--latency-sweep", ","], "give milliseconds separated by commas"),
    (["--latency", "-1"], "--latency must be a number of milliseconds"),
    (["--latency", "nan"], "--latency must be a number of milliseconds"),
    (["--latency", "inf"], "--latency must be a number of milliseconds"),
    (["--latency", "5", "--latency-from", "p.json"], "not both"),
    (["--latency-from", "missing.json"], "does not exist"),
    (["--seed", "-1"], "--seed must be from 0"),
    (["--seed", str(2**32 - 5)], "--seed must be from 0 to 4294967276"),
    (["--episodes", "1"], "--episodes must be from 2"),
    (["--episodes", "0"], "--episodes must be from 2"),
    (["--episodes", "10000000"], "--episodes must be from 2 (paired statistics need two) to 10000"),
    (["--margin", "inf"], "--margin must be a positive, finite number"),
    (["--margin", "nan"], "--margin must be a positive, finite number"),
    (["--margin", "0"], "--margin must be a positive, finite number"),
]


@pytest.mark.parametrize(("args", "message"), OPTIONS, ids=[" ".join(a) for a, _ in OPTIONS])
def test_option_values_are_refused_before_any_episode(bad, files, no_episode, monkeypatch, args, message):
    monkeypatch.chdir(files)
    r = bad(2, "validate", files / "policy.onnx", *DOMAIN, *args)
    assert message in r.err, r.err


DOMAINS = [
    ("edgeperf_no_such_plugin:cartpole", "cannot import edgeperf_no_such_plugin"),
    (":cartpole", "give MODULE:ID"),
    ("edgeperf.domains.builtin:cartpole", "edgeperf.domains.builtin registers no domain 'cartpole'"),
    ("quadruped/trott", "did you mean 'quadruped/trot'"),
    ("gym:NoSuchEnv-v0", "gymnasium has no environment 'NoSuchEnv-v0'"),
]


@pytest.mark.parametrize(("domain", "message"), DOMAINS, ids=[d for d, _ in DOMAINS])
def test_unknown_domains(bad, files, no_episode, domain, message):
    r = bad(2, "validate", files / "policy.onnx", "--domain", domain)
    assert message in r.err, r.err


@pytest.mark.parametrize(
    ("name", "message"),
    [("batched.json", "profiled batches of 4"), ("notes.txt", "is not a JSON report")],
)
def test_latency_from_the_wrong_file(bad, files, no_episode, name, message):
    r = bad(2, "validate", files / "policy.onnx", *DOMAIN, "--latency-from", files / name)
    assert message in r.err, r.err


def test_a_nan_reference_is_named_as_broken(bad, files):
    """The deployed policy is fine; the reference returns NaN: the verdict must not call the deployment
    'different' (exit 1), it must say the reference is broken (exit 2)."""
    r = bad(
        2, "validate", files / "policy.onnx", *DOMAIN, "--reference", files / "nan.onnx", "-n", "2", "--workers", "1"
    )
    assert "the reference policy" in r.err and "is broken" in r.err


def test_a_misfit_model_on_the_quadruped_is_one_line_without_pybullets_banner(bad_proc, files):
    """A fresh process imports pybullet (its build banner goes to fd 2) before the shapes are compared."""
    pytest.importorskip("pybullet")
    r = bad_proc(2, "validate", files / "policy.onnx", "--domain", "quadruped/trot")
    assert r.stderr.strip().splitlines() == [ln for ln in r.stderr.strip().splitlines() if ln.startswith("edgeperf")]
    assert "takes observations of shape [3]" in r.stderr
