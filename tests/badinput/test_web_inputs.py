"""The web domain's bad inputs: each one line with its exit code. A browser that is missing, too old, or whose
driver does not match is exit 3 naming what to install; an unknown task is exit 2 with a "did you mean"; a
policy that does not fit the encoding is exit 2 naming both shapes."""

from __future__ import annotations

import os

import pytest

from tests.domains.web.setup_browser import chromium  # noqa: F401

pytest.importorskip("miniwob")
pytest.importorskip("onnx")

HERE = os.path.dirname(os.path.abspath(__file__))


def test_unknown_task_suggests(bad, example_onnx):
    r = bad(2, "validate", example_onnx, "--domain", "web/click-buton")
    assert "did you mean 'web/click-button'" in r.err


def _fake(tmp_path, name: str, version_line: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("chrome", "driver", "message"),
    [
        (None, None, "chromium is not installed (needed for the web domain); apt-get install chromium chromium-driver"),
        ("Chromium 90.0.4430.212 built on Debian", "ChromeDriver 90.0.4430.24", "is Chromium 90, older than 100"),
        ("Chromium 156.0.8078.114", "ChromeDriver 155.0.7000.1 (abc)", "their major versions must match"),
    ],
    ids=["missing", "too-old", "driver-mismatch"],
)
def test_browser_missing_or_unfit_is_exit_3(bad_proc, example_onnx, tmp_path, chrome, driver, message):
    env = {
        "MINIWOB_CHROME_BINARY": _fake(tmp_path, "chromium", chrome) if chrome else str(tmp_path / "no-chromium"),
        "MINIWOB_CHROMEDRIVER": _fake(tmp_path, "chromedriver", driver) if driver else str(tmp_path / "no-driver"),
    }
    r = bad_proc(3, "validate", example_onnx, "--domain", "web/click-button", "--episodes", "2", env=env)
    assert message in r.stderr


def test_miniwob_missing_names_the_web_extra(bad_proc, example_onnx, tmp_path):
    fake = tmp_path / "shadow" / "miniwob"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'miniwob'\", name='miniwob')\n")
    path = os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])
    r = bad_proc(3, "validate", example_onnx, "--domain", "web/click-button", env={"PYTHONPATH": path})
    assert 'pip install "edgeperf[web]"' in r.stderr and "miniwob is not installed" in r.stderr


@pytest.mark.usefixtures("chromium")
def test_a_policy_that_does_not_fit_the_encoding_names_both_shapes(bad, example_onnx):
    r = bad(2, "validate", example_onnx, "--domain", "web/click-button", "--episodes", "2", "--workers", "1")
    from edgeperf.domains.web.encoding import OBS_SIZE

    assert f"takes observations of shape [48] but web/click-button gives [{OBS_SIZE}]" in r.err
