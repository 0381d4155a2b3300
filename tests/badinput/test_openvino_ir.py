"""Broken OpenVINO IR files given to `profile`: each a real damaged copy of a real IR, refused in one line
that says what was wrong, exit 2."""

import pytest

ov = pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def ir(example_onnx, tmp_path_factory):
    xml = tmp_path_factory.mktemp("good") / "policy.xml"
    ov.save_model(ov.convert_model(str(example_onnx)), str(xml), compress_to_fp16=False)
    return xml


def _truncated_bin(xml, out):
    out.write_bytes(xml.read_bytes())
    out.with_suffix(".bin").write_bytes(xml.with_suffix(".bin").read_bytes()[:1000])


def _missing_bin(xml, out):
    out.write_bytes(xml.read_bytes())


def _truncated_xml(xml, out):
    out.write_bytes(xml.read_bytes()[:3000])
    out.with_suffix(".bin").write_bytes(xml.with_suffix(".bin").read_bytes())


def _empty_xml(xml, out):
    out.write_bytes(b"")


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_truncated_bin, "Incorrect weights in bin file"),
        (_missing_bin, "bin file cannot be found"),
        (_truncated_xml, "Error parsing"),
        (_empty_xml, "not a model OpenVINO can read"),
    ],
)
def test_damaged_ir_is_bad_input(bad, ir, tmp_path, damage, says):
    out = tmp_path / "policy.xml"
    damage(ir, out)
    r = bad(2, "profile", out, "--duration", "0.1", "--iterations", "10")
    assert says in r.err and "export it again" in r.err
    assert {p.suffix for p in tmp_path.iterdir()} <= {".xml", ".bin"}  # nothing written beside them
