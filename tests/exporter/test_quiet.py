"""Quiet around the one line (issue 10, item 7): onnxruntime's per-initializer warnings and torch's C++ output
do not reach the user's terminal during an export, unless EDGEPERF_VERBOSE=1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

ORT_WARNING = "[W:onnxruntime"


@pytest.fixture(scope="module")
def inputs_model(tmp_path_factory):
    """A model from an old-style exporter: every initializer is also listed as a graph input (onnxruntime
    warns once per initializer per session: 2 lines per layer per session)."""
    layers = []
    for _ in range(10):
        layers += [torch.nn.Linear(16, 16), torch.nn.ReLU()]
    net = torch.nn.Sequential(torch.nn.Linear(6, 16), *layers, torch.nn.Linear(16, 2)).eval()
    path = tmp_path_factory.mktemp("old") / "old.onnx"
    torch.onnx.export(
        net,
        (torch.zeros(1, 6),),
        str(path),
        dynamo=False,
        opset_version=13,
        keep_initializers_as_inputs=True,
        input_names=["obs"],
        output_names=["action"],
        dynamic_axes={"obs": {0: "batch"}, "action": {0: "batch"}},
    )
    return path


def _edgeperf(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "edgeperf", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_retargeting_an_old_style_model_is_quiet_and_works(precision, inputs_model, tmp_path):
    r = _edgeperf("export", inputs_model, "-o", tmp_path / "p.onnx", "--precision", precision)
    assert r.returncode == 0, r.stderr  # fp16 broke on initializers listed as inputs (onnx.checker type error)
    assert ORT_WARNING not in r.stderr and r.stderr.strip() == "", r.stderr[:500]


def _session_code(model, quiet: bool) -> str:
    wrap = "quiet_onnxruntime()" if quiet else "contextlib.nullcontext()"
    return (
        "import contextlib, onnxruntime as ort\n"
        "from edgeperf.exporter.onnx import quiet_onnxruntime\n"
        f"with {wrap}:\n"
        f"    ort.InferenceSession({str(model)!r}, providers=['CPUExecutionProvider'])\n"
    )


def test_quiet_onnxruntime_silences_the_flood_and_verbose_shows_it(inputs_model):
    def warnings(quiet: bool, env=None) -> int:
        r = subprocess.run(
            [sys.executable, "-c", _session_code(inputs_model, quiet)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **(env or {})},
        )
        assert r.returncode == 0, r.stderr
        return r.stderr.count(ORT_WARNING)

    assert warnings(quiet=False) >= 20  # the control: one warning per initializer
    assert warnings(quiet=True) == 0
    assert warnings(quiet=True, env={"EDGEPERF_VERBOSE": "1"}) >= 20
