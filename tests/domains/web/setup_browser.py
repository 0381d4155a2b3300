"""Chromium and chromium-driver for the web tests, installed as sshd and the HTML report's Chromium are
(tests/system_packages.py); otherwise skip with the reason."""

from __future__ import annotations

import functools

import pytest

from tests.system_packages import ensure


@functools.cache
def chromium_missing() -> str | None:
    """None when miniwob, selenium, chromium and a matching chromium-driver are usable here, else why not."""
    try:
        import miniwob  # noqa: F401
        import selenium  # noqa: F401
    except ImportError as exc:
        return f"the web extra is not installed ({exc}): pip install 'edgeperf[web]'"
    why = ensure({"chromium": "", "chromedriver": ""}, ["chromium", "chromium-driver"])
    if why:
        return why
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
