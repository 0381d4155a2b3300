"""Sweeps on a real Ray cluster started here (a head and a second node on 127.0.0.1), not a mock: the same
reports as the process pool, and profile jobs only on the node whose resources name the device."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray")
pytest.importorskip("gymnasium")

DEVICE = "generic-x86_64"  # the catalog id of this machine: profile accepts it as --device


@pytest.fixture(scope="module")
def cluster():
    from edgeperf.sweep.ray_cluster import LocalCluster

    # The head offers CPUs; the second node offers only the device (no CPU): it can run profile jobs alone.
    with LocalCluster(head_cpus=2, nodes=[(0, {DEVICE: 1})]) as c:
        yield c


def _config(tmp_path, seeds, profile=True):
    text = (
        '[validate]\nmodels = ["reference:gym:Pendulum-v1"]\ndomains = ["gym:Pendulum-v1"]\n'
        f"seeds = {list(seeds)}\nepisodes = 2\n"
    )
    if profile:
        text += (
            f'[profile]\nmodels = ["reference:gym:Pendulum-v1"]\ndevices = ["{DEVICE}", "jetson-orin-nano"]\n'
            'iterations = 50\nwarmup = 5\npower = "off"\nidle_s = 0\n'
        )
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def _outcome(doc: dict) -> dict:
    r = doc["results"]
    return {"paired": r["paired"], "reference": r["reference"], "deployed": r["deployed"]}


@pytest.mark.slow
def test_ray_runs_the_pools_jobs_with_the_same_results_and_profiles_on_the_device_node(tmp_path, cluster, cli):
    config = _config(tmp_path, [0, 10, 20])
    r = cli("sweep", config, "--executor", "ray", "--address", cluster.address, "-o", tmp_path / "ray")
    # The Jetson's profile job has no node to run on: it fails at once, saying so (exit 1 after the others).
    assert r.code == 1, r.err
    index = json.loads((tmp_path / "ray" / "sweep.json").read_text())
    assert index["executor"]["nodes"] == 2 and index["executor"]["resources"][DEVICE] == 1
    by_kind = {}
    for j in index["jobs"]:
        by_kind.setdefault((j["kind"], j["params"].get("device")), []).append(j)
    [jetson] = by_kind[("profile", "jetson-orin-nano")]
    assert jetson["status"] == "failed" and "no node of the Ray cluster offers the resource" in jetson["error"]
    [prof] = by_kind[("profile", DEVICE)]
    validations = by_kind[("validate", None)]
    assert prof["status"] == "done" and all(v["status"] == "done" for v in validations)
    # The device's job ran on the device node, the validations on the head (the only node with CPUs).
    assert prof["ray_node"] not in {v["ray_node"] for v in validations}
    assert len({v["ray_node"] for v in validations}) == 1

    r = cli("sweep", _config(tmp_path, [0, 10, 20], profile=False), "-o", tmp_path / "pool", "--workers", "2")
    assert r.code == 0, r.err
    pool = json.loads((tmp_path / "pool" / "sweep.json").read_text())
    ray_reports = {j["id"]: j for j in index["jobs"] if j["kind"] == "validate"}
    assert set(ray_reports) == {j["id"] for j in pool["jobs"]}  # the same jobs, by id
    for j in pool["jobs"]:
        a = json.loads((tmp_path / "pool" / j["report"]).read_text())
        b = json.loads((tmp_path / "ray" / ray_reports[j["id"]]["report"]).read_text())
        assert _outcome(a) == _outcome(b)  # pair for pair: the same seeds give the same episodes
