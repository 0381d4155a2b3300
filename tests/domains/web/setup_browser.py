"""Chromium for the web tests, installed the way the HIL tests install sshd: when chromium or chromium-driver
is missing and we run as root with apt-get, install them (Debian's packages); otherwise skip with the reason."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

import pytest


@functools.cache
def chromium_missing() -> str | None:
    """None when miniwob, selenium, chromium and a matching chromium-driver are usable here, else why not."""
    try:
        import miniwob  # noqa: F401
        import selenium  # noqa: F401
    except ImportError as exc:
        return f"the web extra is not installed ({exc}): pip install 'edgeperf[web]'"
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            return "chromium/chromium-driver are not installed (install them: apt-get install chromium chromium-driver)"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600, check=True)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
                env=env, capture_output=True, timeout=900, check=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            return f"chromium is not installed and apt-get could not install it ({exc})"
    from edgeperf.domains.web import browser
    from edgeperf.errors import DependencyMissing

    try:
        browser.binaries()
    except DependencyMissing as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def chromium():
    why = chromium_missing()
    if why:
        pytest.skip(why)
