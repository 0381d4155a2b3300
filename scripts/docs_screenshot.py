"""The README's and the docs' picture: a screenshot of the demo's HTML report, taken in headless Chromium.

    .venv/bin/python scripts/docs_screenshot.py                      # runs `edgeperf demo` first when needed
    .venv/bin/python scripts/docs_screenshot.py --report out/demo/report.html

Playwright drives the system's Chromium (Debian's `chromium`, as the browser tests do: no browser download). The
picture is the profile's section of the page (its figures, the latency histogram and timeline against the
deadline) at 1100 x 1250 CSS pixels, written to docs/images/demo-report.png."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "demo-report.png"


def screenshot(report: Path, out: Path, section: str = "profile", width: int = 1100, height: int = 1250) -> None:
    from playwright.sync_api import sync_playwright

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("no chromium on PATH: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(report.resolve().as_uri(), wait_until="load")
            heading = page.locator("h2", has_text=f". {section}:").first
            box = heading.bounding_box() if heading.count() else None
            if box is None:
                raise SystemExit(f"{report} has no {section} section")
            top = max(0, box["y"] - 24)
            page.set_viewport_size({"width": width, "height": int(top) + height})
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), clip={"x": 0, "y": top, "width": width, "height": height})
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, help="the demo's report.html (default: run the demo into out/demo)")
    parser.add_argument("-o", "--out", type=Path, default=OUT)
    args = parser.parse_args()
    report = args.report
    if report is None:
        report = ROOT / "out" / "demo" / "report.html"
        if not report.exists():
            edgeperf = Path(sys.executable).parent / "edgeperf"
            subprocess.run([str(edgeperf), "demo", "--out", str(report.parent)], check=True)
    screenshot(report, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
