"""The CLI spine: version, help for every command, one-line errors with the documented exit codes, and an
import path that stays light."""

import json
import re

import pytest

from edgeperf import __version__
from edgeperf.cli.app import app
from tests.conftest import run_python

COMMANDS = sorted(c.name for c in app.registered_commands)


def test_version(cli):
    r = cli("--version")
    assert r.code == 0
    assert r.out.strip() == f"edgeperf {__version__}"


def test_help_lists_every_command(cli):
    r = cli("--help")
    assert r.code == 0
    for name in COMMANDS:
        assert name in r.out


def test_no_arguments_prints_help(cli):
    r = cli()
    assert r.code == 0
    assert "Usage" in r.out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(cli, command):
    r = cli(command, "--help")
    assert r.code == 0, r.err
    assert "Usage" in r.out and command in r.out


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert "Traceback" not in err
    assert lines[0].startswith("edgeperf: error: ")
    return lines[0]


def test_unknown_command_is_one_line_exit_2(cli):
    r = cli("frobnicate")
    assert r.code == 2
    assert "frobnicate" in _one_line(r.err)


def test_unknown_option_is_one_line_exit_2(cli):
    r = cli("devices", "--frobnicate")
    assert r.code == 2
    assert "--frobnicate" in _one_line(r.err)


def test_missing_model_file_is_one_line_exit_2(cli, tmp_path):
    r = cli("profile", tmp_path / "nope.onnx")
    assert r.code == 2
    assert "does not exist" in _one_line(r.err)


def test_file_that_is_not_a_model_is_one_line_exit_2(cli, tmp_path):
    bogus = tmp_path / "policy.onnx"
    bogus.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 50)
    r = cli("profile", bogus)
    assert r.code == 2
    assert "not a valid ONNX model" in _one_line(r.err)


def test_unknown_device_is_one_line_exit_2_with_suggestion(cli, example_onnx):
    r = cli("profile", example_onnx, "--device", "jetson-orin-nan")
    assert r.code == 2
    line = _one_line(r.err)
    assert "unknown device 'jetson-orin-nan'" in line and "did you mean 'jetson-orin-nano'" in line


def test_device_that_is_not_this_machine_is_exit_3(cli, example_onnx):
    r = cli("profile", example_onnx, "--device", "jetson")
    assert r.code == 3
    assert "this machine is" in _one_line(r.err)


def test_import_is_light():
    r = run_python(
        "import sys, edgeperf; heavy = [m for m in ('torch', 'pybullet', 'tensorrt', 'onnxruntime', "
        "'onnx', 'numpy', 'mujoco', 'jinja2', 'scipy') if m in sys.modules]; print(heavy)"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_help_imports_neither_torch_nor_pybullet():
    code = (
        "import sys\nfrom edgeperf.cli.app import main\n"
        f"for args in (['--help'], *[[c, '--help'] for c in {COMMANDS!r}]):\n"
        "    assert main(args) == 0, args\n"
        "print([m for m in ('torch', 'pybullet', 'tensorrt') if m in sys.modules])"
    )
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_lazy_public_api_resolves():
    import edgeperf

    assert callable(edgeperf.export) and callable(edgeperf.profile) and callable(edgeperf.detect)
    with pytest.raises(AttributeError):
        _ = edgeperf.no_such_thing


def test_a_bug_keeps_its_traceback(monkeypatch, cli):
    """Anything that is not an EdgeperfError is a bug: it is not swallowed into a one-line message."""
    from edgeperf.devices import detect

    monkeypatch.setattr(detect, "detect", lambda **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli("devices")


def test_json_to_stdout_is_only_json(cli, example_onnx):
    r = cli("profile", example_onnx, "--iterations", "200", "--duration", "0", "--warmup", "10", "--json", "-")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["schema"] == "edgeperf.profile/1"
    assert re.search(r"p50", r.err)  # the table went to stderr
