"""Write the JSON Schema of every report kind to docs/reference/schemas/, one file per kind and version
(`edgeperf.profile-1.json`), from the code that checks reports (edgeperf.results.report.json_schema).

    .venv/bin/python scripts/gen_schemas.py            # after changing a schema
    .venv/bin/python scripts/gen_schemas.py --check    # exit 1 when a published file is stale

tests/docs/test_schemas.py runs the check, so the published schemas cannot drift from the code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "reference" / "schemas"


def schema_files() -> dict[str, str]:
    """File name -> its text, for every report kind this edgeperf writes."""
    from edgeperf.results.report import SCHEMAS, json_schema

    return {
        f"edgeperf.{kind}-{version}.json": json.dumps(json_schema(kind), indent=2, sort_keys=True) + "\n"
        for kind, version in sorted(SCHEMAS.items())
    }


def stale(out: Path = OUT) -> list[str]:
    want = schema_files()
    have = {p.name for p in out.glob("*.json")} if out.is_dir() else set()
    problems = [f"{name} is missing" for name in sorted(set(want) - have)]
    problems += [f"{name} is no report kind's" for name in sorted(have - set(want))]
    problems += [f"{n} differs from the code" for n in sorted(set(want) & have) if (out / n).read_text() != want[n]]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a published schema is stale")
    args = parser.parse_args()
    if args.check:
        problems = stale()
        for p in problems:
            print(f"docs/reference/schemas/{p}", file=sys.stderr)
        return 1 if problems else 0
    OUT.mkdir(parents=True, exist_ok=True)
    want = schema_files()
    for p in OUT.glob("*.json"):
        if p.name not in want:
            p.unlink()
    for name, text in want.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(want)} schemas to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
