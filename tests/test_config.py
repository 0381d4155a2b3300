"""The typed configurations: each reads back the `config` section of the report fixtures unchanged (the schema on
disk is the contract), checks its options with the one-line errors the CLI gives, and crosses to a child process
whole."""

import json

import pytest

from edgeperf.config import (
    DoctorConfig,
    ExportConfig,
    HilConfig,
    PlanConfig,
    ProfileConfig,
    Sim2simConfig,
    ValidateConfig,
)
from edgeperf.errors import BadInput
from tests.conftest import FIXTURES

REPORTS = FIXTURES / "reports"


@pytest.mark.parametrize(
    ("cls", "fixture"),
    [
        (ProfileConfig, "profile.json"),
        (ProfileConfig, "profile_chunks.json"),
        (ProfileConfig, "profile_orin_fixture.json"),
        (ExportConfig, "export.json"),
        (ExportConfig, "export_recurrent.json"),
        (HilConfig, "hil.json"),
        (ValidateConfig, "validate.json"),
        (DoctorConfig, "doctor.json"),
        (Sim2simConfig, "sim2sim.json"),
    ],
)
def test_a_report_config_round_trips(cls, fixture):
    config = json.loads((REPORTS / fixture).read_text())["config"]
    back = cls.from_dict(config).to_dict()
    if fixture == "validate.json":  # written before validate had --chunk-exec: today's reports say chunking: null
        assert back.pop("chunking") is None
    assert back == config
    assert list(back) == list(config)  # the same keys in the same order: the file is byte-compatible


def test_a_hil_config_on_a_device_records_where_it_ran():
    cfg = HilConfig("quadruped/trot", host="me@robot", model="p.onnx", connect=None).replace(connect="tcp://x:1")
    d = cfg.to_dict()
    assert d["host"] == {"host": "me@robot", "via": "ssh tunnel to the device's loopback"} and list(d)[-1] == "host"
    assert HilConfig.from_dict(d).to_dict() == d


def test_the_profile_config_crosses_to_a_child_whole():
    cfg = ProfileConfig(rate=50, shape=(3, 64, 64), spin_us=50.0, power="off", chunk_steps=4)
    wire = json.loads(json.dumps(cfg.fields()))  # what edgeperf.fresh sends: the shape arrives as a list
    assert ProfileConfig.from_fields(wire) == cfg


def test_a_power_off_profile_records_no_rate_or_idle():
    d = ProfileConfig(power="off", power_rate_hz=50.0).to_dict()
    assert d["power_rate_hz"] is None and d["idle_s"] is None and d["scenario"] == "stream"
    assert ProfileConfig(rate=100).to_dict()["scenario"] == "periodic"


FLAGS = {
    "iterations": "--iterations",
    "deadline_ms": "--deadline",
    "rate": "--rate",
    "batch": "--batch",
    "power": "--power",
    "observations": "--observations",
    "precision": "--precision",
    "quantization": "--quantization",
    "opset": "--opset",
    "seed": "--seed",
    "episodes": "--episodes",
    "workers": "--workers",
    "margin": "--margin",
    "mode": "--mode",
    "on_miss": "--on-miss",
    "connect_timeout": "--connect-timeout",
    "duration": "--duration",
}
DOMAIN = "quadruped/trot"


@pytest.mark.parametrize(
    ("cls", "options", "says"),
    [
        (ProfileConfig, {"iterations": 0}, "--iterations must be at least 1"),
        (ProfileConfig, {"deadline_ms": 5.0}, "--deadline applies to a periodic run"),
        (ProfileConfig, {"rate": 50.0, "batch": 4}, "give --rate or --batch, not both"),
        (ProfileConfig, {"power": "rapl,nope"}, "--power 'rapl,nope'"),
        (ProfileConfig, {"observations": "file.npy"}, "--observations 'file.npy'"),
        (ExportConfig, {"precision": "int4"}, "--precision int4: choose one of fp32, fp16, int8"),
        (ExportConfig, {"quantization": "static"}, "applies to --precision int8 only"),
        (ExportConfig, {"opset": 9}, "--opset 9 is outside"),
        (ExportConfig, {"seed": -1}, "--seed -1"),
        (ValidateConfig, {"episodes": 1}, "--episodes must be from 2"),
        (ValidateConfig, {"margin": -1.0}, "--margin must be a positive"),
        (ValidateConfig, {"workers": 100_000}, "--workers must be from 1 to"),
        (HilConfig, {"mode": "fast"}, "--mode 'fast': choose realtime or lockstep"),
        (HilConfig, {"on_miss": "brake"}, "--on-miss 'brake'"),
        (HilConfig, {"mode": "lockstep", "deadline_ms": 5.0}, "--deadline applies to --mode realtime"),
        (HilConfig, {"connect_timeout": 0.0}, "--connect-timeout must be above 0"),
        (PlanConfig, {"duration": 0.0}, "--duration must be seconds of profiling per candidate"),
        (PlanConfig, {"rate": 1.0, "duration": 2.0}, "profiles 2 control periods per candidate"),
        (PlanConfig, {"episodes": 1}, "--episodes must be from 2"),
    ],
)
def test_check_says_what_the_cli_says(cli, example_onnx, tmp_path, cls, options, says):
    """The library and the command refuse the same value with the same line (the command: exit code 2)."""
    extra = {
        ValidateConfig: {"domain": DOMAIN},
        HilConfig: {"domain": DOMAIN, "connect": "127.0.0.1:9"},
        PlanConfig: {"domain": DOMAIN},
    }
    with pytest.raises(BadInput, match=says.replace("(", r"\(")) as got:
        cls(**extra.get(cls, {}), **options).check()
    argv = [a for k, v in options.items() for a in (FLAGS.get(k, "--deadline"), str(v))]
    command = {
        ProfileConfig: ["profile", str(example_onnx)],
        ExportConfig: ["export", "example:mlp", "-o", str(tmp_path / "p.onnx")],
        ValidateConfig: ["validate", str(example_onnx), "--domain", DOMAIN],
        HilConfig: ["hil", "--domain", DOMAIN, "--connect", "127.0.0.1:9"],
        PlanConfig: ["plan", "reference:quadruped/trot", "--domain", DOMAIN, "-o", str(tmp_path / "plan")],
    }[cls]
    r = cli(*command, *argv, "--no-store")
    assert r.code == 2
    assert r.err.strip() == f"edgeperf: error: {got.value}"


def test_a_profile_on_another_device_leaves_the_core_checks_to_it():
    many = ProfileConfig(threads=10_000)
    with pytest.raises(BadInput, match="--threads 10000"):
        many.check()
    assert many.check(this_machine=False) is many


def test_the_power_source_names_are_the_registry_s():
    from edgeperf.config.profile import POWER_SOURCES
    from edgeperf.profilers.power import SOURCES

    assert set(POWER_SOURCES) == set(SOURCES)


def test_the_library_takes_a_config_or_options_not_both(example_onnx):
    from edgeperf.profilers.run import run_profile

    with pytest.raises(TypeError, match="not both"):
        run_profile(example_onnx, ProfileConfig(), iterations=5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'iteration'"):
        run_profile(example_onnx, iteration=5)
