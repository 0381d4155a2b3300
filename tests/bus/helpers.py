"""Shared pieces of the DDS bus tests: short specs, the exported policy, controller processes."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "mujoco" / "a1_trot_bus.toml"
SCENE = FIXTURE.parent / "unitree_rl_gym" / "resources" / "robots" / "a1" / "a1.xml"
_domains = itertools.count(100 + (os.getpid() % 50) * 2)


def dds_domain() -> int:
    """A DDS domain of its own per run (tests beside each other do not hear each other)."""
    return next(_domains) % 230


def short_spec(tmp_path: Path, episode_s: float = 2.0) -> str:
    """The bus fixture with a shorter episode: its mujoco: domain id."""
    text = FIXTURE.read_text()
    text = text.replace('scene = "unitree_rl_gym/resources/robots/a1/a1.xml"', f'scene = "{SCENE}"')
    text = text.replace("episode_s = 10", f"episode_s = {episode_s:g}")
    path = tmp_path / "a1_bus.toml"
    path.write_text(text)
    return f"mujoco:{path}"


def controller(model, domain_id: str, dds: int, *extra: str, bus: str = "unitree_go") -> subprocess.Popen:
    """The bundled example controller, a process of its own."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "unitree_controller.py"), str(model), "--domain", domain_id,
         "--bus", bus, "--dds-domain", str(dds), "--idle-exit", "3", "--wait", "60", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def script(name: str, *args: str) -> subprocess.Popen:
    """A helper script of tests/bus, a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", f"tests.bus.{name}", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def running(*procs):
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
