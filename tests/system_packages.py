"""System programs the tests need (sshd, chromium, chromedriver), installed the same way for every test that
needs one: when missing and the tests run as root with apt-get, from Debian's packages (apt-get update first);
otherwise the caller skips with the reason returned."""

from __future__ import annotations

import os
import shutil
import subprocess


def ensure(programs: dict[str, str], packages: list[str]) -> str | None:
    """None when every program (name -> a path to try beside PATH, or '') is here or was installed, else why not."""
    if all(shutil.which(p) or (extra and os.path.exists(extra)) for p, extra in programs.items()):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{', '.join(packages)} not installed (install: apt-get install {' '.join(packages)})"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600, check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *packages], env=env, capture_output=True, timeout=900, check=True
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return f"{', '.join(packages)} not installed, and apt-get could not install them ({exc})"
    return None
