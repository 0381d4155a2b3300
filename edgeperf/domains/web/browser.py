"""Headless Chromium for MiniWoB++: find the browser and its driver, check they fit, and keep one browser per
task per worker process, reused across episodes (a start costs seconds, an episode's reset ~0.1 s).

MiniWoB++ drives Chromium through selenium and ChromeDriver. We pass Debian's binaries explicitly
(MINIWOB_CHROME_BINARY and MINIWOB_CHROMEDRIVER, set together as miniwob requires), so selenium never tries to
download a browser (Selenium Manager), which fails without a network and is the classic MiniWoB++ setup trap.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import shutil
import subprocess

from edgeperf.errors import DependencyMissing, require

# The oldest Chromium we run: MiniWoB++ 1.1 and selenium 4.2x speak W3C WebDriver, which older drivers lack.
MIN_CHROMIUM = 100
INSTALL = (
    "apt-get install chromium chromium-driver (Debian/Ubuntu), or set MINIWOB_CHROME_BINARY and MINIWOB_CHROMEDRIVER"
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _major(binary: str) -> int | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"(\d+)\.\d+\.\d+", out)
    return int(m.group(1)) if m else None


@functools.cache
def binaries() -> tuple[str, str]:
    """(chromium, chromedriver) paths, checked: present, runnable, recent, of the same major version.
    DependencyMissing (exit 3) names what to install otherwise."""
    chrome = os.environ.get("MINIWOB_CHROME_BINARY") or next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = os.environ.get("MINIWOB_CHROMEDRIVER") or shutil.which("chromedriver")
    if not chrome or not os.access(chrome, os.X_OK):
        raise DependencyMissing("chromium", purpose="for the web domain", hint=INSTALL)
    if not driver or not os.access(driver, os.X_OK):
        raise DependencyMissing("chromium-driver", purpose="for the web domain (ChromeDriver)", hint=INSTALL)
    cv, dv = _major(chrome), _major(driver)
    if cv is None:
        raise DependencyMissing("chromium", message=f"{chrome} --version did not run or said no version; {INSTALL}")
    if cv < MIN_CHROMIUM:
        raise DependencyMissing(
            "chromium", message=f"{chrome} is Chromium {cv}, older than {MIN_CHROMIUM}; upgrade it: {INSTALL}"
        )
    if dv != cv:
        raise DependencyMissing(
            "chromium-driver",
            message=f"{driver} is ChromeDriver {dv} but {chrome} is Chromium {cv}: their major versions must match; "
            f"install the matching driver: {INSTALL}",
        )
    return chrome, driver


def require_miniwob():
    """The miniwob package (the `web` extra), its gymnasium envs registered."""

    gym = require("gymnasium", "web", "for the web domain")
    miniwob = require("miniwob", "web", "for the web domain (MiniWoB++)")
    require("selenium", "web", "for the web domain")
    if "miniwob/click-button-v1" not in gym.registry:
        gym.register_envs(miniwob)
    return gym


# task -> the miniwob env holding this worker's browser. One at a time: a worker runs one domain.
_BROWSERS: dict = {}
# task -> the browser's processes (psutil), so that a browser whose driver died is not left running
_PROCESSES: dict = {}


def acquire(task: str):
    """The worker's MiniWoB++ env (and browser) for `task`, started on first use and reused afterwards."""
    env = _BROWSERS.get(task)
    if env is not None and not env.unwrapped.instance.died:
        return env
    release_all()
    chrome, driver = binaries()
    os.environ["MINIWOB_CHROME_BINARY"], os.environ["MINIWOB_CHROMEDRIVER"] = chrome, driver
    gym = require_miniwob()
    env = gym.make(f"miniwob/{task}-v1", action_space_config="liu18")
    _BROWSERS[task] = env
    _PROCESSES[task] = _browser_processes(env)
    return env


def _browser_processes(env) -> list:
    import psutil

    try:
        return psutil.Process(env.unwrapped.instance.driver.service.process.pid).children(recursive=True)
    except (psutil.Error, AttributeError):
        return []


def discard(task: str) -> None:
    """Forget (and quit, as far as it still answers) a browser that died: the next episode starts a fresh one."""
    env = _BROWSERS.pop(task, None)
    if env is not None:
        with contextlib.suppress(Exception):
            env.unwrapped.instance.driver.quit()
    # With ChromeDriver gone, quit() cannot reach Chromium: stop what is left of it, by the processes it started
    # with (psutil checks their start times, so a reused PID is never hit).
    procs = _PROCESSES.pop(task, [])
    for proc in procs:
        with contextlib.suppress(Exception):
            if proc.is_running():
                proc.kill()
    if procs:
        import psutil

        psutil.wait_procs(procs, timeout=5)


def release_all() -> None:
    for task in list(_BROWSERS):
        env = _BROWSERS.pop(task)
        _PROCESSES.pop(task, None)
        with contextlib.suppress(Exception):
            env.close()


atexit.register(release_all)
