"""The HTML report's renderer in plain Python: escaping, absent figures, charts drawn from what the data holds.

Real reports come from tests/fixtures/reports (captured from `edgeperf demo` and a validate with a latency
sweep on this machine; profile_orin_fixture.json: a profile here with power read from the captured Orin Nano
sysfs tree, EDGEPERF_SYSFS_ROOT=tests/fixtures/sysfs/jetson-orin-nano-jp6)."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from edgeperf.results import html

REPORTS = Path(__file__).parents[1] / "fixtures" / "reports"


@pytest.fixture(autouse=True)
def _own_store(monkeypatch, tmp_path):
    """Each test its own (absent) run store: `report` of a file then opens none. The suite's shared store may have
    connections open in this process, and Store.open's header check (open, read, close) would drop their POSIX
    locks (SQLite's "how to corrupt" 2.2; reported)."""
    monkeypatch.setenv("EDGEPERF_DB", str(tmp_path / "own-runs.db"))


def load(name: str) -> dict:
    return json.loads((REPORTS / f"{name}.json").read_text())


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser's parser would see them."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def by(self, **attrs) -> list[tuple[str, dict]]:
        return [(t, a) for t, a in self.tags if all(a.get(k) == v for k, v in attrs.items())]


def figure_text(page: str, figure_id: str) -> str:
    """The text inside the element with data-figure=figure_id."""
    m = re.search(rf'data-figure="{re.escape(figure_id)}">(.*?)</div>', page, re.S)
    assert m, f"no figure {figure_id}"
    return m.group(1)


HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def test_hostile_strings_are_escaped_everywhere():
    rep = copy.deepcopy(load("profile"))
    rep["warnings"].append(HOSTILE)
    rep["model"]["path"] = f'/models/"><svg onload=alert(2)>{HOSTILE}.onnx'
    rep["unmeasured"]["thermal"] = HOSTILE
    rep["host"]["cpu"] = HOSTILE
    rep["results"]["backend"]["name"] = HOSTILE
    page = html.render([html.Run(rep, None, source=HOSTILE)], title=HOSTILE)
    parsed = Elements(page)
    tags = {t for t, _ in parsed.tags}
    assert "script" not in tags and "img" not in tags
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a), "an event handler attribute got through"
    assert "pwned" in "".join(parsed.text)  # shown as text, not run
    assert page.count("&lt;script&gt;") >= 6


def test_no_network_reference_in_the_page():
    page = html.render([html.Run(r) for r in (load(k) for k in ("export", "profile", "validate", "hil"))])
    assert "default-src 'none'" in page  # the CSP: nothing may load, whatever the page holds
    for tag, attrs in Elements(page).tags:
        for k, v in attrs.items():
            if k in ("src", "href") and v:
                assert v.startswith("#"), (tag, k, v)
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)", page)


def test_an_unmeasured_figure_shows_its_reason_not_zero():
    rep = load("profile")
    assert "power" not in rep["results"] and rep["unmeasured"]["energy_per_inference"]
    page = html.render([(rep, None)])
    energy = figure_text(page, "mj_per_inference")
    assert energy == "not measured" and "0" not in energy
    card = page[page.index('data-figure="mj_per_inference"') :][:1500]
    assert html.esc(rep["unmeasured"]["energy_per_inference"]) in card
    assert 'data-unmeasured="thermal"' in page  # every unmeasured figure is listed with its reason


def test_without_samples_the_distribution_says_it_is_drawn_from_percentiles():
    rep = load("profile")
    page = html.render([(rep, None)])
    assert 'data-chart="latency-histogram" data-source="percentiles"' in page
    assert html.esc("drawn from the report's percentiles") in page
    assert 'data-absent="latency-timeline"' in page and 'data-chart="latency-timeline"' not in page


def _bar_counts(page: str, chart: str) -> list[int]:
    section = page[page.index(f'data-chart="{chart}"') :]
    section = section[: section.index("</figure>")]
    return [int(n) for n in re.findall(r"us: (\d+) inferences</title>", section)]


def test_the_histogram_counts_every_sample_once():
    rep = load("profile")
    rng = np.random.default_rng(0)
    ns = np.concatenate([rng.lognormal(np.log(200e3), 0.2, 4997), [5e6] * 3])  # 3 far outliers, beyond p99.9
    page = html.render([(rep, ns)])
    counts = _bar_counts(page, "latency-histogram")
    assert sum(counts) == len(ns)  # the slow tail is clipped into the last bar, not dropped
    assert counts[-1] >= 3 and "3 slowest inferences" in page
    assert 'data-chart="latency-timeline" data-source="samples"' in page


def test_inferences_over_the_deadline_are_marked_on_the_timeline():
    rep = load("profile")
    deadline_ns = rep["results"]["deadline"]["deadline_us"] * 1e3
    ns = np.full(300, deadline_ns / 10)
    ns[[7, 100, 250]] = deadline_ns * 2
    page = html.render([(rep, ns)])
    assert "3 inferences longer than the deadline" in page


def test_a_long_run_is_binned_and_stays_small():
    rep = load("profile")
    ns = np.random.default_rng(1).lognormal(np.log(50e3), 0.3, 1_000_000)
    page = html.render([(rep, ns)])
    assert f"1,000,000 inferences in {html.TIMELINE_BINS} bins" in page
    assert len(page.encode()) < 2 * 2**20


def test_export_parity_per_dimension():
    rep = copy.deepcopy(load("export"))
    par = rep["results"]["parity"]
    par["max_abs_error_per_dim"] = [1e-6, 3e-5, 2e-7]
    par["p99_abs_error_per_dim"] = [5e-7, 1e-5, 1e-7]
    par["tolerance"]["scale_per_dim"] = [1, 2, 1]
    page = html.render([(rep, None)])
    chart = page[page.index('data-chart="parity-per-dim"') :]
    chart = chart[: chart.index("</figure>")]
    assert "dim 1: max 3.000e-05" in chart and "dim 2: p99 1.000e-07" in chart
    assert "passed" in figure_text(page, "parity_verdict")


def test_validate_paired_returns_episode_by_episode():
    rep = load("validate")
    per = rep["results"]["per_episode"]
    page = html.render([(rep, None)])
    assert 'data-chart="paired-returns" data-source="episodes"' in page
    for seed, a, b in zip(per["seeds"], per["reference"], per["deployed"], strict=True):
        assert f"seed {seed}: reference {html.num(a)}, deployed {html.num(b)}" in page
    assert rep["results"]["paired"]["verdict"] in figure_text(page, "verdict")


def test_validate_without_per_episode_returns_says_so():
    rep = copy.deepcopy(load("validate"))
    del rep["results"]["per_episode"]
    page = html.render([(rep, None)])
    assert 'data-chart="paired-returns" data-source="summary"' in page and "not the return of every episode" in page


def test_latency_sweep_curve():
    rep = load("validate")
    sweep = rep["results"]["latency_sweep"]
    page = html.render([(rep, None)])
    assert 'data-chart="latency-sweep"' in page
    for p in sweep["points"]:
        assert f"{html.num(p['latency_ms'])} ms: success {html.num(100 * p['success_rate'])}%" in page
    if sweep["fails_from_ms"] is not None:
        assert f"the task fails from {html.num(sweep['fails_from_ms'])} ms" in page


def test_hil_figures():
    rep = load("hil")
    link = rep["results"]["link"]
    page = html.render([(rep, None)])
    assert figure_text(page, "rtt_p99_us") == f"{html.num(link['round_trip_us']['p99'])} us"
    assert figure_text(page, "hil_misses") == f"{link['misses']} / {link['steps']}"
    assert 'data-chart="hil-link"' in page and 'data-chart="paired-returns"' in page
    assert "stale_round_trip_us" in link and "<th>stale round trip</th>" in page


def test_power_per_rail_estimate_is_labelled():
    rep = copy.deepcopy(load("profile"))
    rep["results"]["power"] = {
        "source": "estimate",
        "estimate": True,
        "total_rails": ["cpu"],
        "total_how": "the only rail",
        "rails": {"cpu": {"idle_W": 0.5, "active_W": 3.25, "per_inference_above_idle_mJ": 0.0123}},
        "total": {"idle_W": 0.5, "active_W": 3.25, "per_inference_above_idle_mJ": 0.0123},
    }
    page = html.render([(rep, None)])
    assert figure_text(page, "mj_per_inference") == "0.0123 mJ (ESTIMATE)"
    assert "ESTIMATE, not a measurement" in page and "cpu: active 3.25 W" in page


def test_an_odd_report_costs_its_section_not_the_page():
    rep = copy.deepcopy(load("profile"))
    rep["results"]["latency_us"] = "not a dict"
    page = html.render([(rep, None), (load("export"), None)])
    assert "could not be drawn" in page and 'data-chart="parity-per-dim"' in page


def test_numbers_are_never_invented():
    assert html.num(None) == "—" and html.num(float("nan")) == "—"
    assert html.num(0) == "0" and html.num(861.2338) == "861.2" and html.num(12345.6) == "12,346"


@pytest.mark.parametrize(
    "kind", ["export", "profile", "validate", "hil", "profile_orin_fixture", "profile_chunks", "export_recurrent"]
)
def test_every_fixture_renders_cleanly(kind):
    page = html.render([(load(kind), None)])
    assert "could not be drawn" not in page
    for w in load(kind)["warnings"]:
        assert html.esc(w) in page


def test_power_trace_per_rail():
    rep = load("profile_orin_fixture")
    page = html.render([(rep, None)])
    chart = page[page.index('data-chart="power-trace" data-source="trace"') :]
    chart = chart[: chart.index("</figure>")]
    for rail in rep["results"]["power"]["trace"]["rails"]:
        assert f"</i>{rail}</span>" in chart
    assert chart.count("<polyline") == len(rep["results"]["power"]["trace"]["rails"])
    assert "measured window" in chart and "idle baseline" in chart


def test_a_devices_document_shows_its_figures(cli, tmp_path):
    r = cli("devices", "--json")
    assert r.code == 0, r.err
    (tmp_path / "d.json").write_text(r.out)
    r = cli("report", tmp_path / "d.json", "-o", tmp_path / "d.html")
    assert r.code == 0, r.err
    page = (tmp_path / "d.html").read_text()
    assert "<th>backends.onnxruntime.available</th><td>true</td>" in page
    assert html.esc(json.loads((tmp_path / "d.json").read_text())["cpu"]["model"]) in page


def test_the_timeline_judges_the_deadline_by_the_response_from_the_csv():
    """A `profile --csv` of a control loop has each response (release to action): misses are judged on it."""
    from edgeperf.results.timings import read_timings

    rep = load("profile")
    t = read_timings(REPORTS / "profile_timings.csv")
    assert len(t.latency_ns) == rep["results"]["latency_us"]["count"] and t.response_ns is not None
    deadline_ns = rep["results"]["deadline"]["deadline_us"] * 1e3
    resp = t.response_ns.copy()
    resp[[3, 9]] = deadline_ns * 1.5  # late responses although each inference was fast
    page = html.render([html.Run(rep, t.latency_ns, start_ns=t.start_ns, response_ns=resp)])
    chart = page[page.index('data-chart="latency-timeline"') :]
    chart = chart[: chart.index("</figure>")]
    assert "2 missed the deadline (response)" in chart and "response (release to action) of each inference" in chart
    assert "time since the first inference started (s)" in chart


def test_the_host_is_on_the_page_in_one_line():
    rep = load("profile")
    page = html.render([(rep, None)])
    line = figure_text_span(page, "host")
    h = rep["host"]
    assert h["device"] in line and h["cpu"] in line and f"{h['physical_cores']} cores" in line and h["os"] in line


def figure_text_span(page: str, figure_id: str) -> str:
    m = re.search(rf'<span data-figure="{re.escape(figure_id)}">(.*?)</span>', page, re.S)
    assert m, f"no figure {figure_id}"
    return m.group(1)


# Dicts whose keys are names from the data (rails, figures, hosts), not the schema's own field names.
NAMED = {"rails", "unmeasured", "config", "host", "versions", "unavailable_sources", "other_sources", "metrics"}


def _poison(obj, keys: bool, named: bool = False):
    """Every string in a report replaced by a hostile one; with keys, every name in NAMED dicts too."""
    if isinstance(obj, dict):
        return {(f"{HOSTILE}{k}" if keys and named else k): _poison(v, keys, named=k in NAMED) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_poison(v, keys) for v in obj]
    return f"{HOSTILE}{obj}" if isinstance(obj, str) else obj


@pytest.mark.parametrize("keys", [False, True])
def test_no_string_of_any_report_gets_out_of_its_text(keys):
    runs = []
    for kind in ("export", "profile", "validate", "hil", "profile_orin_fixture", "profile_chunks", "export_recurrent"):
        rep = _poison(load(kind), keys)
        rep["schema"] = load(kind)["schema"]  # the kind must stay known for its page to be drawn
        runs.append(html.Run(rep, None, source=HOSTILE))
    page = html.render(runs, title=HOSTILE)
    parsed = Elements(page)
    assert {t for t, _ in parsed.tags} & {"script", "img", "iframe", "object", "embed"} == set()
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a)
    assert "could not be drawn" not in page
    if keys:  # the hostile rail names were drawn (as text): the power trace's legend had them
        assert 'data-chart="power-trace"' in page and f"</i>{html.esc(HOSTILE + 'VDD_IN')}</span>" in page


def test_the_public_api_renders_too():
    import edgeperf

    assert edgeperf.render_html is html.render
    assert "<!DOCTYPE html>" in edgeperf.render_html([(load("export"), None)])


def test_several_profiles_are_drawn_side_by_side():
    a, b = load("profile"), load("profile_orin_fixture")
    page = html.render([(a, None), (load("export"), None), (b, None)])
    chart = page[page.index('data-chart="profiles-side-by-side"') :]
    chart = chart[: chart.index("</figure>")]
    assert f"#1 p99: {html.num(a['results']['latency_us']['p99'])} us" in chart
    assert f"#3 p99: {html.num(b['results']['latency_us']['p99'])} us" in chart
    assert 'data-chart="profiles-side-by-side"' not in html.render([(a, None), (load("export"), None)])


def test_a_chunk_profile_shows_its_budget():
    rep = load("profile_chunks")
    c = rep["results"]["chunk"]
    page = html.render([(rep, None)])
    assert figure_text(page, "chunk_p99_ms") == f"{html.num(c['p99_ms'])} ms"
    assert figure_text(page, "chunk_budget_ms") == f"{html.num(c['budget_ms'])} ms"
    assert figure_text(page, "chunk_share") == f"{html.num(100 * c['p99_share_of_budget'])}%"


def test_a_recurrent_export_shows_its_error_at_each_step():
    rep = load("export_recurrent")
    rec = rep["results"]["parity"]["recurrent"]
    page = html.render([(rep, None)])
    chart = page[page.index('data-chart="parity-per-step"') :]
    chart = chart[: chart.index("</figure>")]
    assert chart.count("<polyline") == 1 and f"over {rec['sequences']} sequences" in chart
    assert "max_abs_error_per_step" not in page.split("<details><summary>The whole report")[0]  # not a 200-cell row


def test_a_stored_run_is_drawn_from_its_recorded_timings(cli, example_onnx, tmp_path):
    db, prof = tmp_path / "runs.db", tmp_path / "p.json"
    r = cli(
        "profile",
        example_onnx,
        "-n",
        "300",
        "--duration",
        "0",
        "--warmup",
        "2",
        "--no-power",
        "--db",
        db,
        "--json",
        prof,
    )
    assert r.code == 0, r.err
    doc = json.loads(prof.read_text())
    for ref in (doc["run_id"][:10], prof):  # by run id prefix, and the report file recorded in the store
        out = tmp_path / "r.html"
        r = cli("report", ref, "--db", db, "-o", out)
        assert r.code == 0, r.err
        page = out.read_text()
        assert 'data-chart="latency-timeline" data-source="samples"' in page
        assert sum(_bar_counts(page, "latency-histogram")) == doc["results"]["latency_us"]["count"]


def test_a_kind_without_its_own_page_shows_its_records_as_tables(cli, tmp_path):
    """A reliability report (analysis): its per-run records are a table, one row per training run."""
    for s in range(3):
        rng = np.random.default_rng(s)
        rows = "\n".join(f"{t},{v}" for t, v in zip(range(0, 500, 5), np.cumsum(rng.normal(0, 1, 100)), strict=True))
        (tmp_path / f"s{s}.csv").write_text("step,value\n" + rows + "\n")
    rel = tmp_path / "rel.json"
    assert cli("reliability", *(tmp_path / f"s{s}.csv" for s in range(3)), "--json", rel, "--no-store").code == 0
    assert cli("report", rel, "-o", tmp_path / "r.html").code == 0
    page = (tmp_path / "r.html").read_text()
    table = page[page.index('<table class="grid records">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 1 + 3 and "s1.csv</td>" in table and "could not be drawn" not in page
