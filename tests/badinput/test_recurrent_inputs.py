"""Recurrent policies' bad inputs through the CLI: one line, exit 2, nothing written."""

from __future__ import annotations

import pytest

from tests.recurrent_helpers import write_nets

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory):
    """An LSTM artifact with its edgeperf metadata stripped: state inputs nobody named (rsl_rl's own ONNX)."""
    from edgeperf.exporter.onnx import export

    d = tmp_path_factory.mktemp("rec_bad")
    nets = write_nets(d)
    export(None, d / "lstm.onnx", factory=f"{nets}:lstm", check=False)
    model = onnx.load(str(d / "lstm.onnx"))
    del model.metadata_props[:]
    onnx.save(model, str(d / "bare.onnx"))
    return d, nets


def test_profile_of_unnamed_state_says_which_inputs_and_how_to_name_them(bad, unlabelled):
    d, _ = unlabelled
    r = bad(2, "profile", d / "bare.onnx", "--iterations", "5", "--duration", "0", "--no-power")
    assert "['h_in', 'c_in'] that look like recurrent state" in r.err
    assert "--state h_in:h_out,c_in:c_out" in r.err


def test_export_of_unnamed_state_is_refused_and_writes_nothing(bad, unlabelled, tmp_path):
    d, _ = unlabelled
    r = bad(2, "export", d / "bare.onnx", "-o", tmp_path / "out.onnx")
    assert "--state h_in:h_out,c_in:c_out" in r.err
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ("h_in", "IN:OUT"),
        ("hx:h_out,c_in:c_out", "names input 'hx'"),
        ("h_in:nope,c_in:c_out", "names output 'nope'"),
        ("h_in:h_out", "['c_in']"),
    ],
)
def test_a_wrong_state_option_is_one_line(bad, unlabelled, tmp_path, state, says):
    d, _ = unlabelled
    r = bad(2, "export", d / "bare.onnx", "-o", tmp_path / "out.onnx", "--state", state)
    assert says in r.err


def test_state_option_on_a_torch_source_and_static_int8_of_a_recurrent_policy(bad, unlabelled, tmp_path):
    _, nets = unlabelled
    r = bad(2, "export", "--factory", f"{nets}:gru", "-o", tmp_path / "a.onnx", "--state", "h_in:h_out")
    assert "ONNX" in r.err
    r = bad(
        2,
        "export",
        "--factory",
        f"{nets}:gru",
        "-o",
        tmp_path / "a.onnx",
        "--precision",
        "int8",
        "--quantization",
        "static",
    )
    assert "dynamic" in r.err
    assert not (tmp_path / "a.onnx").exists()
