"""Recurrent and action-chunk policies' bad inputs through the CLI: one line, exit 2, nothing written."""

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


def test_state_option_on_a_torch_source_is_one_line(bad, unlabelled, tmp_path):
    _, nets = unlabelled
    r = bad(2, "export", "--factory", f"{nets}:gru", "-o", tmp_path / "a.onnx", "--state", "h_in:h_out")
    assert "ONNX" in r.err
    assert not (tmp_path / "a.onnx").exists()


# -- action chunks -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chunk_onnx(tmp_path_factory):
    pytest.importorskip("gymnasium")
    from edgeperf.exporter.onnx import export

    path = tmp_path_factory.mktemp("chunk_bad") / "chunks.onnx"
    export("reference:pendulum/chunks", path, check=False)
    return path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--chunk-exec", "open-loop", "--chunk-steps", "17"], "H=16"),
        (["--chunk-exec", "ensemble", "--chunk-steps", "20"], "at most 16"),
        ([], "--chunk-exec open-loop|ensemble"),
        (["--chunk-steps", "4"], "go with --chunk-exec"),
        (["--chunk-exec", "closed-loop"], "choose open-loop or ensemble"),
        (["--chunk-exec", "open-loop", "--chunk-timing", "later"], "sync or async"),
    ],
)
def test_validate_chunk_options_that_do_not_fit(bad, chunk_onnx, args, says):
    r = bad(2, "validate", chunk_onnx, "--domain", "pendulum/chunks", "-n", "2", "--workers", "1", *args)
    assert says in r.err


def test_chunk_exec_on_a_policy_without_chunks(bad):
    pytest.importorskip("gymnasium")
    r = bad(
        2,
        "validate",
        "reference:gym:Pendulum-v1",
        "--domain",
        "gym:Pendulum-v1",
        "-n",
        "2",
        "--chunk-exec",
        "open-loop",
    )
    assert "returns one action" in r.err


def test_profile_chunk_steps_beyond_h(bad, chunk_onnx):
    r = bad(2, "profile", chunk_onnx, "--chunk-steps", "17", "--iterations", "5", "--duration", "0", "--no-power")
    assert "H=16" in r.err
