"""Bad plan inputs: one line, exit 2, nothing written (the plan folder is not even created)."""

from __future__ import annotations

import pytest

ARGS = ("plan", "reference:quadruped/trot", "--domain", "quadruped/trot", "--no-store")


@pytest.mark.parametrize(
    ("candidates", "says"),
    [
        ("backends=tensorrt", "backend 'tensorrt' is not one"),
        ("backends=tflite", "it offers onnxruntime"),
        ("precisions=int4", "precision 'int4' is not one"),
        ("precisions=", "a grid of zero candidates"),
        ("threads=0", "thread counts from 1"),
        ("colors=red", "give AXIS=V1,V2"),
    ],
)
def test_a_grid_the_target_cannot_run_is_refused_before_anything_is_written(tmp_path, bad, candidates, says):
    out = tmp_path / "plan"
    r = bad(2, *ARGS, "-o", out, "--candidates", candidates)
    assert says in r.err, r.err
    assert not out.exists()


def test_unknown_backends_say_what_the_target_offers(tmp_path, bad):
    r = bad(2, *ARGS, "-o", tmp_path / "p", "--candidates", "backends=tflite")
    assert "it offers onnxruntime" in r.err


def test_a_plan_folder_that_holds_the_input_is_refused(tmp_path, bad):
    src = tmp_path / "p" / "policy.onnx"
    src.parent.mkdir()
    src.write_bytes(b"not really onnx")
    r = bad(2, "plan", src, "--domain", "quadruped/trot", "--no-store", "-o", tmp_path / "p")
    assert "holds the input" in r.err
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["policy.onnx"]
    assert src.read_bytes() == b"not really onnx"


def test_a_plan_folder_that_is_a_file_is_refused(tmp_path, bad):
    f = tmp_path / "f"
    f.write_text("x")
    assert "is a file" in bad(2, *ARGS, "-o", f).err


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--episodes", "1", "--episodes must be from 2"),
        ("--rate", "-5", "--rate must be"),
        ("--duration", "0", "--duration must be"),
        ("--rate", "1e-5", "control periods per candidate"),  # one period of 27 hours was accepted
        ("--executor", "dask", "--executor 'dask'"),
        ("--budget", "p99<=fast", "give NAME<=VALUE"),
    ],
)
def test_bad_options(tmp_path, bad, option, value, says):
    out = tmp_path / "plan"
    assert says in bad(2, *ARGS, "-o", out, option, value).err
    assert not out.exists()


def test_a_strict_budget_bound_is_refused_not_read_as_inclusive():
    """`p99<10ms` was stored as `p99<=10ms`: a candidate at exactly 10 ms met a budget that excluded it."""
    from edgeperf.errors import BadInput
    from edgeperf.planner.candidates import parse_budget

    with pytest.raises(BadInput, match="inclusive"):
        parse_budget("p99<10ms")
    assert parse_budget("p99<=10ms")
