"""`check --budget`: every applicable line with its measured value; absent figures and estimates fail."""

from __future__ import annotations

import json

import pytest

from edgeperf.errors import BadInput
from edgeperf.results.budget import Budget
from tests.results.runs import doc, export_doc, profiled, validate_doc

BUDGET = """
[profile]
rate_hz = 500
p99_us = 2000
miss_rate = 0.01
peak_rss_mb = 500
[device.jetson-orin-nano.profile]
p99_us = 900
mj_per_inference = 5
[model."policy.onnx".profile]
peak_rss_mb = 100
[validate]
verdict = "equivalent"
success_min = 0.9
[export]
parity_passed = true
parity_max_abs_error = 1e-4
size_mb = 1
"""


def _budget(text=BUDGET) -> Budget:
    import tomllib

    return Budget.from_dict(tomllib.loads(text))


def _profile(p99=1000.0, rate=500, misses=0, rss_mb=80, device="generic-x86_64", model="policy.onnx", power=None):
    results = {"latency_us": {"p50": p99 / 2, "p99": p99}, "memory": {"peak_rss_bytes": rss_mb * 2**20}}
    if rate:
        results["deadline"] = {"misses": misses, "periods": 1000, "miss_rate": misses / 1000}
    if power:
        results["power"] = power
    return doc("profile", results, device=device, model=model, config={"rate_hz": rate})


def _by_key(results):
    return {(r.section, r.key): r for r in results}


def test_lines_pass_and_fail_with_the_measured_value():
    got = _by_key(_budget().check(_profile(p99=1000, misses=20, model="other.onnx")))
    assert got[("[profile]", "p99_us")].passed and got[("[profile]", "p99_us")].value == 1000
    assert not got[("[profile]", "miss_rate")].passed and got[("[profile]", "miss_rate")].value == 0.02
    assert got[("[profile]", "peak_rss_mb")].passed


def test_a_narrower_section_replaces_the_same_key_and_adds_its_own():
    got = _by_key(_budget().check(_profile(p99=1000, device="jetson-orin-nano")))
    assert ("[profile]", "p99_us") not in got
    p99 = got[("[device.jetson-orin-nano.profile]", "p99_us")]
    assert not p99.passed and p99.limit == 900
    # a budget line whose figure the report lacks fails, with the reason: never a pass
    mj = got[("[device.jetson-orin-nano.profile]", "mj_per_inference")]
    assert not mj.passed and mj.value is None and "not measured" in mj.reason
    rss = got[("[model.policy.onnx.profile]", "peak_rss_mb")]  # the model's own limit replaces the 500 MiB
    assert rss.limit == 100 and rss.passed
    assert not _by_key(_budget().check(_profile(rss_mb=150)))[("[model.policy.onnx.profile]", "peak_rss_mb")].passed


def test_a_profile_at_another_rate_fails_the_rate_bound_lines():
    got = _by_key(_budget().check(_profile(p99=10, rate=100)))
    p99 = got[("[profile]", "p99_us")]
    assert not p99.passed and "profiled at 100 Hz, the budget is for 500 Hz" in p99.reason
    assert got[("[model.policy.onnx.profile]", "peak_rss_mb")].passed  # memory does not depend on the rate
    stream = _by_key(_budget().check(_profile(p99=10, rate=None)))[("[profile]", "p99_us")]
    assert not stream.passed and "stream profile" in stream.reason


def test_an_energy_estimate_fails_unless_allowed():
    power = {"source": "estimate", "estimate": True, "total": {"per_inference_above_idle_mJ": 1.0}}
    text = "[profile]\nmj_per_inference = 5\n"
    line = _budget(text).check(_profile(power=power))[0]
    assert not line.passed and "estimate" in line.reason
    assert _budget(text + "allow_estimate = true\n").check(_profile(power=power))[0].passed
    measured = {"source": "ina3221", "total": {"per_inference_above_idle_mJ": 1.0}}
    assert _budget(text).check(_profile(power=measured))[0].passed


def test_validate_and_export_lines():
    b = _budget()
    ok = _by_key(b.check(validate_doc(success=0.95)))
    assert ok[("[validate]", "verdict")].passed and ok[("[validate]", "success_min")].passed
    bad = _by_key(b.check(validate_doc(success=0.5, verdict="different")))
    assert not bad[("[validate]", "verdict")].passed and not bad[("[validate]", "success_min")].passed
    e = _by_key(b.check(export_doc(max_err=1e-3, size=2 * 2**20)))
    assert not e[("[export]", "parity_max_abs_error")].passed and not e[("[export]", "size_mb")].passed
    assert e[("[export]", "parity_passed")].passed
    assert not _by_key(b.check(export_doc(passed=False)))[("[export]", "parity_passed")].passed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profile]\np99 = 1\n", "unknown key 'p99' in [profile]; did you mean 'p99_us'?"),
        ("[profle]\np99_us = 1\n", "unknown key 'profle' at the top level; did you mean 'profile'?"),
        ("[device.x.profil]\np99_us = 1\n", "unknown report kind 'profil' in [device.x.profil]"),
        ("[validate]\nverdict = 'same'\n", "verdict must be one of"),
        ("[profile]\np99_us = 'fast'\n", "p99_us must be a number"),
        ("[profile]\nrate_hz = 0\n", "rate_hz must be a positive"),
        ("[profile]\nrate_hz = inf\np99_us = 5\n", "rate_hz is inf; a limit is a finite number"),
        ("[profile]\np99_us = nan\n", "p99_us is nan; a limit is a finite number"),
        ("", "the budget has no limits"),
    ],
)
def test_bad_budgets_are_refused_naming_the_key(text, message):
    with pytest.raises(BadInput, match=message.replace("[", r"\[").replace("]", r"\]").replace("?", r"\?")):
        _budget(text)


def test_check_cli_with_real_reports_and_run_ids(cli, tmp_path):
    from edgeperf.results.store import Store

    db = tmp_path / "runs.db"
    done = profiled(40, n=500, rate=500)
    path = tmp_path / "p.json"
    done.report.write(path)
    v = validate_doc(success=0.5)
    with Store.open(db) as s:
        vid = s.record(v)
    budget = tmp_path / "edgeperf.toml"
    budget.write_text("[profile]\nrate_hz = 500\np99_us = 5000\nmiss_rate = 0.5\n[validate]\nsuccess_min = 0.9\n")
    r = cli("check", "--budget", budget, path, "--db", db, "--json", tmp_path / "c.json")
    assert r.code == 0, r.err + r.out
    assert "all 2 budget lines passed" in r.out
    r = cli("check", "--budget", budget, path, vid[:8], "--db", db)
    assert r.code == 1 and "1 of 3 budget lines failed (success_min)" in r.err
    assert "FAIL" in r.out and "below the limit" in r.out
    doc_ = json.loads((tmp_path / "c.json").read_text())
    assert doc_["passed"] is True and len(doc_["lines"]) == 2
    # no line applies to an export report: nothing was checked is not a pass
    e = tmp_path / "e.json"
    e.write_text(json.dumps(export_doc()))
    r = cli("check", "--budget", budget, e, "--db", db)
    assert r.code == 2 and "nothing was checked" in r.err


@pytest.mark.parametrize(("p99", "says"), [(-5.0, "is -5.0"), (float("nan"), "is nan")])
def test_a_report_with_an_impossible_latency_is_bad_input_for_check_and_compare(cli, tmp_path, example_onnx, p99, says):
    """p99 = NaN was scored as over the limit (exit 1), negative latencies as improved: both are exit 2 now."""
    import json

    good = tmp_path / "good.json"
    assert cli("profile", example_onnx, "-n", "50", "--duration", "0", "--json", good, "--no-store").code == 0
    doc = json.loads(good.read_text())
    doc["results"]["latency_us"]["p99"] = p99
    bad_report = tmp_path / "bad.json"
    bad_report.write_text(json.dumps(doc))
    budget = tmp_path / "b.toml"
    budget.write_text("[profile]\np99_us = 1e6\n")
    for args in (["check", "--budget", budget, bad_report], ["compare", good, bad_report]):
        r = cli(*args, "--db", tmp_path / "none.db")
        assert r.code == 2 and "results.latency_us.p99" in r.err and says in r.err, r.err
