"""`edgeperf report` in a real browser: Debian's headless Chromium driven by Playwright.

Chromium is installed the way the ssh tests install sshd: when it is missing and the tests run as root, with
apt-get at setup; otherwise these tests skip and say why. Playwright drives the system browser (executable_path):
no browser download."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeperf.results import html
from tests.system_packages import ensure

REPORTS = Path(__file__).parents[1] / "fixtures" / "reports"
# The first test's setup may install Chromium with apt-get (minutes on a fresh machine), beyond the suite's 300 s.
pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(autouse=True)
def _own_store(monkeypatch, tmp_path):
    """Each test its own (absent) run store: `report` of a file then opens none, whatever the suite recorded."""
    monkeypatch.setenv("EDGEPERF_DB", str(tmp_path / "own-runs.db"))


def _chromium_binary() -> tuple[str | None, str]:
    why = ensure({"chromium": ""}, ["chromium"])
    return (None, why) if why else (shutil.which("chromium"), "")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    binary, why = _chromium_binary()
    if binary is None:
        pytest.skip(why)
    with sync_api.sync_playwright() as p:
        # Chromium refuses to start as root inside its sandbox; the page is ours and offline.
        b = p.chromium.launch(executable_path=binary, args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield b
        b.close()


def open_page(browser, path: Path):
    """Load `path`; return (page, console errors, page errors, every request the page attempted)."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    errors, page_errors, requests = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, errors, page_errors, requests


def pixel_std(png: bytes) -> float:
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float).std())


@pytest.fixture
def measured(cli, example_onnx, tmp_path):
    """A profile measured here, with its raw timings."""
    prof, csv = tmp_path / "p.json", tmp_path / "t.csv"
    r = cli(
        "profile",
        example_onnx,
        "-n",
        "2000",
        "--duration",
        "0",
        "--warmup",
        "5",
        "--no-power",
        "--json",
        prof,
        "--csv",
        csv,
    )
    assert r.code == 0, r.err
    return prof, csv


def test_the_report_in_chromium(browser, cli, measured, tmp_path):
    prof, csv = measured
    fixtures = [REPORTS / f"{k}.json" for k in ("export", "profile", "validate", "hil", "profile_orin_fixture")]
    out = tmp_path / "report.html"
    r = cli("report", prof, *fixtures, "--timings", csv, "--timings", REPORTS / "profile_timings.csv", "-o", out)
    assert r.code == 0, r.err
    page, errors, page_errors, requests = open_page(browser, out)
    assert errors == [] and page_errors == []
    assert requests == [out.resolve().as_uri()]  # nothing fetched beyond the file itself

    mine = json.loads(prof.read_text())["results"]["latency_us"]
    p99 = page.locator('[data-figure="p99_us"]')
    assert p99.count() == 3
    assert p99.first.inner_text() == f"{html.num(mine['p99'])} us"
    demo = json.loads((REPORTS / "profile.json").read_text())["results"]
    assert p99.nth(1).inner_text() == f"{html.num(demo['latency_us']['p99'])} us"
    misses = page.locator('[data-figure="misses"]').nth(1).inner_text()
    assert misses == f"{demo['deadline']['misses']} / {demo['deadline']['periods']}"
    verdict = json.loads((REPORTS / "validate.json").read_text())["results"]["paired"]["verdict"]
    assert page.locator('[data-kind="validate"] [data-figure="verdict"]').inner_text() == verdict
    assert page.locator('[data-figure="parity"]').inner_text() == "passed"

    # Both profiles have their raw timings: histograms and timelines from samples, each a drawn, visible chart.
    for chart in ("latency-histogram", "latency-timeline"):
        figs = page.locator(f'[data-chart="{chart}"][data-source="samples"] svg')
        assert figs.count() == 2
        box = figs.first.bounding_box()
        assert box["width"] > 500 and box["height"] > 150
    for chart in ("parity-per-dim", "paired-returns", "latency-sweep", "hil-link", "power-trace"):
        assert page.locator(f'[data-chart="{chart}"] svg').count() >= 1, chart

    timeline = page.locator('[data-chart="latency-timeline"] svg').first.screenshot()
    assert pixel_std(timeline) > 10  # dots and axes, not an empty frame
    whole = page.screenshot(full_page=True)
    assert pixel_std(whole) > 10
    page.context.close()


def test_hostile_strings_do_not_run_in_the_browser(browser, tmp_path):
    rep = json.loads((REPORTS / "profile.json").read_text())
    rep["warnings"] = [
        "<script>window.__pwned = 1</script>",
        '<img src="http://127.0.0.1:9/x.png" onerror="window.__pwned = 2">',
    ]
    rep["model"]["path"] = '"><svg onload="window.__pwned = 3">'
    out = tmp_path / "hostile.html"
    out.write_text(html.render([(rep, None)]))
    page, errors, page_errors, requests = open_page(browser, out)
    assert page.evaluate("window.__pwned") is None
    assert errors == [] and page_errors == [] and requests == [out.resolve().as_uri()]
    assert "<script>window.__pwned = 1</script>" in page.locator("ul.warnings").inner_text()
    page.context.close()
