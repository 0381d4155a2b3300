import json

import pytest

from edgeperf.devices.detect import host_summary
from edgeperf.errors import BadInput
from edgeperf.results.report import ModelInfo, Report, load_report


def _report(**kw):
    return Report.new(
        "profile",
        kw.pop("host", host_summary()),
        model=ModelInfo(path="p.onnx", sha256="ab" * 32, format="onnx", precision="fp32"),
        config={"rate": 50},
        results={"latency_us": {"p50": 7.1}},
        **kw,
    )


def test_envelope_has_every_field_and_round_trips(tmp_path):
    r = _report()
    r.unmeasured["energy"] = "no sensor"
    r.warn("noisy")
    r.warn("noisy")  # warnings are not repeated
    path = tmp_path / "r.json"
    r.write(path)
    doc = json.loads(path.read_text())
    assert list(doc) == [
        "schema",
        "run_id",
        "created_at",
        "edgeperf_version",
        "host",
        "model",
        "config",
        "results",
        "unmeasured",
        "warnings",
    ]
    assert doc["schema"] == "edgeperf.profile/1" and doc["warnings"] == ["noisy"]
    assert doc["host"]["cpu"] and doc["host"]["versions"]["python"]
    back = load_report(path, kind="profile")
    assert back == r
    assert back.model.precision == "fp32"


def test_non_finite_numbers_never_reach_the_file(tmp_path):
    r = _report()
    r.results["bad"] = float("nan")
    r.write(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["results"]["bad"] is None


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("edgeperf.profile/2", "upgrade edgeperf"),
        ("edgeperf.profile/0", "re-run"),
        ("edgeperf.nonsense/1", "unknown schema"),
        ("other.profile/1", "unknown schema"),
        ("profile", "malformed"),
    ],
)
def test_loader_rejects_unknown_schemas(tmp_path, schema, message):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": schema, "results": {}}))
    with pytest.raises(BadInput, match=message):
        load_report(path)


def test_loader_rejects_non_reports(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    (tmp_path / "b.json").write_text("[1, 2]")
    with pytest.raises(BadInput, match="not a JSON report"):
        load_report(tmp_path / "a.json")
    with pytest.raises(BadInput, match="not an edgeperf report"):
        load_report(tmp_path / "b.json")
    with pytest.raises(BadInput, match="does not exist"):
        load_report(tmp_path / "c.json")


def test_loader_checks_the_kind(tmp_path):
    _report().write(tmp_path / "r.json")
    with pytest.raises(BadInput, match=r"expected edgeperf\.export/1"):
        load_report(tmp_path / "r.json", kind="export")


def test_write_to_a_missing_directory_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        _report().write(tmp_path / "missing" / "r.json")
