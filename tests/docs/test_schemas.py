"""The report schemas published with the docs (docs/reference/schemas/) are the code's: regenerated and compared,
so a schema changed without `scripts/gen_schemas.py` fails; the page links every one of them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("gen_schemas", ROOT / "scripts" / "gen_schemas.py")
gen_schemas = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_schemas)


def test_the_published_schemas_are_the_codes():
    problems = gen_schemas.stale()
    assert not problems, f"{problems}: run `.venv/bin/python scripts/gen_schemas.py`"


def test_a_stale_schema_is_caught(tmp_path):
    for name, text in gen_schemas.schema_files().items():
        (tmp_path / name).write_text(text)
    assert gen_schemas.stale(tmp_path) == []
    victim = sorted(tmp_path.glob("*.json"))[0]
    doc = json.loads(victim.read_text())
    doc["title"] = "something else"
    victim.write_text(json.dumps(doc))
    (tmp_path / "edgeperf.gone-1.json").write_text("{}")
    assert gen_schemas.stale(tmp_path) == [
        "edgeperf.gone-1.json is no report kind's",
        f"{victim.name} differs from the code",
    ]


def test_the_page_lists_every_schema():
    from edgeperf.results.report import SCHEMAS

    page = (ROOT / "docs" / "reference" / "schemas.md").read_text()
    for kind, version in SCHEMAS.items():
        assert f"(schemas/edgeperf.{kind}-{version}.json)" in page, kind
        assert f"`edgeperf.{kind}/{version}`" in page, kind
