"""The benchmark pages are written by the benchmark scripts (scripts/_docs.py): every script that declares a page
has its marked block there, and `--write-docs` replaces exactly that block, on a real run of a small script."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
DECLARED = re.compile(r'^DOCS_PAGE = "(?P<page>[^"]+)"$', re.M)


def _docs():
    spec = importlib.util.spec_from_file_location("_docs", SCRIPTS / "_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declared() -> dict[str, str]:
    """script file name -> the page it declares (under docs/)."""
    out = {}
    for path in sorted(SCRIPTS.glob("bench_*.py")):
        m = DECLARED.search(path.read_text())
        if m:
            out[path.name] = m["page"]
    return out


def test_some_scripts_declare_a_page():
    assert len(declared()) >= 10, declared()


@pytest.mark.parametrize("script", sorted(declared()))
def test_the_page_has_the_scripts_block_and_the_script_writes_it(script):
    docs = _docs()
    page = ROOT / "docs" / declared()[script]
    assert page.is_file(), f"{script} declares {page}, which does not exist"
    start, end = docs.markers(docs.block_name(script))
    text = page.read_text()
    assert text.count(start) == 1 and text.count(end) == 1 and text.index(start) < text.index(end), (
        f"{page.relative_to(ROOT)} needs one {start} ... {end} block for {script}"
    )
    assert "_docs.run(main, DOCS_PAGE" in (SCRIPTS / script).read_text(), f"{script} does not pass through _docs.run"


PAGE = """# A page

Prose before, kept.

<!-- bench:demo:start -->

*Run 2026-11-22 on an old machine:* `old command`

| old | figures |

<!-- bench:demo:end -->

Prose after, kept; and another script's block:

<!-- bench:other:start -->
other figures
<!-- bench:other:end -->
"""


def test_replace_block_changes_exactly_the_block():
    docs = _docs()
    out = docs.replace_block(PAGE, "demo", "new figures\n")
    head, tail = PAGE.split("<!-- bench:demo:start -->", maxsplit=1)[0], PAGE.split("<!-- bench:demo:end -->")[1]
    assert out == f"{head}<!-- bench:demo:start -->\n\nnew figures\n\n<!-- bench:demo:end -->{tail}"
    assert docs.replace_block(out, "demo", "new figures") == out  # idempotent: a second run does not grow it
    other = docs.replace_block(out, "other", "x")  # a second block on the page is its own
    assert other.split("<!-- bench:other:start -->")[0] == out.split("<!-- bench:other:start -->")[0]


@pytest.mark.parametrize(
    "broken",
    [
        PAGE.replace("<!-- bench:demo:end -->", ""),
        PAGE.replace("<!-- bench:demo:start -->", ""),
        PAGE + "<!-- bench:demo:start -->\n",
        "<!-- bench:demo:end -->\n<!-- bench:demo:start -->\n",
    ],
)
def test_a_page_without_exactly_one_block_is_refused(broken):
    with pytest.raises(ValueError, match="bench:demo:start"):
        _docs().replace_block(broken, "demo", "x")


def test_a_script_run_with_write_docs_writes_its_block(tmp_path):
    """A real run: a script in a copy of scripts/ prints (and has a child print); --write-docs puts the date, the
    machine, the command and that output verbatim into its block and leaves the rest of the page alone."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "_docs.py").write_text((SCRIPTS / "_docs.py").read_text())
    (scripts / "bench_demo.py").write_text(
        textwrap.dedent(
            """\
            import argparse, subprocess, sys
            import _docs

            DOCS_PAGE = "page.md"


            def main():
                p = argparse.ArgumentParser()
                p.add_argument("--rounds", type=int, default=1)
                args = p.parse_args()
                print(f"| rounds | {args.rounds} |")
                sys.stdout.flush()
                subprocess.run([sys.executable, "-c", "print('from a child')"], check=True)


            if __name__ == "__main__":
                _docs.run(main, DOCS_PAGE)
            """
        )
    )
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    page.write_text(PAGE)
    r = subprocess.run(
        [sys.executable, "scripts/bench_demo.py", "--rounds", "3", "--write-docs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "| rounds | 3 |\nfrom a child\n"  # the output still reaches the terminal, unchanged
    text = page.read_text()
    body = text.split("<!-- bench:demo:start -->")[1].split("<!-- bench:demo:end -->")[0]
    assert "old command" not in text and "`python scripts/bench_demo.py --rounds 3`" in body
    assert "```text\n| rounds | 3 |\nfrom a child\n```" in body
    assert re.search(r"\*Run \d{4}-\d\d-\d\d \d\d:\d\d UTC on .+ cores.+, 1-minute load [\d.]+:\*", body), body
    old_body = PAGE.split("<!-- bench:demo:start -->")[1].split("<!-- bench:demo:end -->", maxsplit=1)[0]
    assert text.replace(body, "") == PAGE.replace(old_body, "")  # the rest of the page, byte for byte


def test_a_failed_run_writes_nothing(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "_docs.py").write_text((SCRIPTS / "_docs.py").read_text())
    (scripts / "bench_demo.py").write_text(
        'import _docs\nDOCS_PAGE = "page.md"\n\ndef main():\n    print("half")\n    raise SystemExit(2)\n\n'
        'if __name__ == "__main__":\n    _docs.run(main, DOCS_PAGE)\n'
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(PAGE)
    r = subprocess.run([sys.executable, "scripts/bench_demo.py", "--write-docs"], cwd=tmp_path, capture_output=True)
    assert r.returncode == 2
    assert (tmp_path / "docs" / "page.md").read_text() == PAGE
