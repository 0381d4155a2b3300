"""The one artifact table, and the layers of docs/concepts/pipeline.md kept by the imports."""

from pathlib import Path

import onnx
import pytest

from edgeperf import artifact
from edgeperf.errors import BadInput


@pytest.mark.parametrize("suffix", [s for s, f in artifact.SUFFIXES.items() if f.exportable])
def test_what_export_writes_profile_opens_on_the_same_backend(suffix):
    out = Path("policy" + suffix)
    written = artifact.output_format(out, None)
    assert artifact.format_of(out) is written and artifact.backend_for(out) == written.backend


def test_a_trt_engine_is_profiled_as_tensorrt_not_refused_by_suffix(bad, tmp_path):
    engine = tmp_path / "p.trt"
    engine.write_bytes(b"not really an engine")
    r = bad(3, "profile", engine, "--no-power", "--iterations", "1", "--duration", "0")
    assert "tensorrt" in r.err.lower() and "suffix" not in r.err


def test_an_unknown_suffix_names_the_known_ones(bad, tmp_path):
    m = tmp_path / "model.bin"
    m.write_bytes(b"x")
    r = bad(2, "profile", m)
    assert ".onnx" in r.err and ".engine" in r.err and ".zip" in r.err


def test_pickles_are_known_by_suffix_only():
    assert [f.name for f in artifact.FORMATS.values() if f.pickle] == ["sb3"]
    assert not artifact.format_of("innocent.pt").pickle


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("obs_space", '"junk"'),
        ("obs_shape", "[1.5]"),
        ("precision", '"fp64"'),
        ("control_hz", "-50"),
        ("obs_space", "{}"),
    ],
)
def test_malformed_metadata_in_an_onnx_file_is_one_line(bad, tmp_path, example_onnx, key, value):
    model = onnx.load(str(example_onnx))
    for p in model.metadata_props:
        if p.key == artifact.PREFIX + key:
            p.value = value
            break
    else:
        model.metadata_props.add(key=artifact.PREFIX + key, value=value)
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    r = bad(2, "profile", path, "--no-power", "--iterations", "1", "--duration", "0")
    assert "malformed edgeperf metadata" in r.err and key in r.err


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"obs_shape": "48"}'])
def test_a_malformed_sidecar_is_refused(tmp_path, text):
    engine = tmp_path / "p.engine"
    engine.write_bytes(b"")
    artifact.sidecar(engine).write_text(text)
    with pytest.raises(BadInput, match=r"edgeperf metadata|not valid JSON"):
        artifact.read_sidecar(engine)


def test_companions_travel_with_an_openvino_ir(tmp_path):
    xml = tmp_path / "p.xml"
    for f in (xml, xml.with_suffix(".bin"), artifact.sidecar(xml)):
        f.write_text("x")
    assert sorted(p.name for p in artifact.existing_files(xml)) == ["p.bin", "p.xml", "p.xml.edgeperf.json"]
