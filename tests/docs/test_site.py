"""The documentation site and the README: the site builds with `mkdocs build --strict` (a broken link, a missing
page or an API page that does not resolve fails), every page renders in headless Chromium without a console error,
the README stays under 8 KB, keeps CI's test command, and every command and option of its tour exists."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.system_packages import ensure

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def build_site(out: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (make setup installs it)")
    pytest.importorskip("material", reason="the docs extra is not installed (make setup installs it)")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    result = build_site(out)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return out


@pytest.fixture(scope="module")
def served(site):
    """The site over HTTP on loopback, as a reader's browser gets it (search fetches its index: not over file://)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    why = ensure({"chromium": ""}, ["chromium"])
    if why:
        pytest.skip(why)
    with sync_api.sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root inside its sandbox
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        yield b
        b.close()


@pytest.mark.timeout(1500)  # the browser fixture may install Chromium with apt-get first
def test_every_page_renders_without_console_errors(site, served, browser):
    pages = sorted(p.relative_to(site) for p in site.rglob("index.html") if "assets" not in p.parts)
    assert len(pages) > 30, pages
    problems, ctx = [], browser.new_context(viewport={"width": 1200, "height": 900})
    outside = []
    ctx.route(
        re.compile(r"^(?!http://127\.0\.0\.1:).*"),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    for rel in pages:
        errors.clear()
        url = f"{served}/{rel.parent.as_posix()}/".replace("/./", "/")
        response = page.goto(url, wait_until="load")
        page.wait_for_timeout(50)
        if response is None or response.status != 200:
            problems.append(f"{rel}: HTTP {response.status if response else 'no response'}")
        if not page.locator("article h1").count():
            problems.append(f"{rel}: no heading rendered")
        problems += [f"{rel}: {e}" for e in errors]
    ctx.close()
    assert not problems, "\n".join(problems)
    assert not outside, f"the site asked the network for {sorted(set(outside))[:5]}"


def test_the_site_shows_the_version_and_the_generated_pages(site):
    from edgeperf import __version__

    home = (site / "index.html").read_text()
    assert f"edgeperf {__version__}" in home, "the footer names the version"
    assert f"documents edgeperf {__version__}" in home
    assert '<a href="export/"><code>export</code></a>' in (site / "reference" / "cli" / "index.html").read_text()
    assert "edgeperf export" in (site / "reference" / "cli" / "export" / "index.html").read_text()
    import edgeperf

    api = (site / "reference" / "api" / "index.html").read_text()
    public = [n for n in edgeperf.__all__ if n[0] != "_" and not n.endswith(("Error", "Missing", "Input", "Failed"))]
    missing = [n for n in public if f"edgeperf.{n}</code>" not in api]
    assert not missing, f"the API page lacks {missing}"
    assert (site / "reference" / "schemas" / "edgeperf.profile-1.json").is_file()
    assert (site / "images" / "demo-report.png").is_file()


def test_a_broken_link_fails_the_strict_build(tmp_path):
    """Strict means strict: a copy of the docs with one dead link does not build."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (make setup installs it)")
    pytest.importorskip("material", reason="the docs extra is not installed (make setup installs it)")
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("docs", "edgeperf"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("mkdocs.yml", "CHANGELOG.md", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    page = copy / "docs" / "concepts" / "session.md"
    page.write_text(page.read_text() + "\nSee [a page that is not there](nowhere.md).\n")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=copy,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0 and "nowhere.md" in result.stderr


# --- the README -------------------------------------------------------------------------------------------------


def test_the_readme_fits_on_a_screen_and_keeps_the_two_commands():
    text = README.read_text()
    assert len(text.encode()) < 8 * 1024, f"README.md is {len(text.encode())} bytes: keep it under 8 KB"
    assert re.search(r"^make demo\b", text, re.M) and re.search(r"^make test\b", text, re.M)
    for link in re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#]+)", text):
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"


def tour_commands(text: str) -> list[list[str]]:
    """The `edgeperf ...` lines of the README's shell blocks, comments dropped, as argument lists."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for raw in block.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line.startswith("edgeperf "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_every_command_and_option_of_the_readme_tour_exists():
    from edgeperf.cli.reference import commands

    known = commands()
    tour = tour_commands(README.read_text())
    assert len(tour) >= 5, tour
    for argv in tour:
        name = argv[0]
        assert name in known, f"the README's tour runs `edgeperf {name}`, which is no command"
        options = {o for p in known[name].params for o in (*p.opts, *getattr(p, "secondary_opts", []))}
        for arg in argv[1:]:
            if arg.startswith("-"):
                assert arg.split("=")[0] in options, f"`edgeperf {name}` has no option {arg}"
