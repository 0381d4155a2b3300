"""The hand-written reference pages list what the code has, so an addition there cannot go undocumented: every
observation term of a deploy spec, every EDGEPERF_ environment variable the package reads, every pip extra."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_every_observation_term_is_in_the_spec_formats_page():
    from edgeperf.domains.mujoco.spec import TERMS

    page = (DOCS / "reference" / "spec-formats.md").read_text()
    missing = [name for name in TERMS if f"| `{name}` |" not in page]
    assert not missing, f"docs/reference/spec-formats.md lacks the terms {missing}"


def test_every_environment_variable_is_documented():
    used = set()
    for path in (ROOT / "edgeperf").rglob("*.py"):
        used |= set(re.findall(r"\bEDGEPERF_[A-Z_]+\b", path.read_text()))
    page = (DOCS / "reference" / "environment.md").read_text()
    missing = sorted(v for v in used if f"`{v}`" not in page)
    assert used and not missing, f"docs/reference/environment.md lacks {missing}"


def test_every_extra_is_in_the_install_table():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    page = (DOCS / "getting-started" / "install.md").read_text()
    missing = [name for name in extras if f"| `{name}` |" not in page]
    assert not missing, f"docs/getting-started/install.md lacks the extras {missing}"
