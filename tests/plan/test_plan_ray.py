"""Through Ray on a local cluster, a plan's steps run as Ray tasks and reach the decision the local pool reached
(slow: a Ray cluster takes tens of seconds to start)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

SOURCE, DOMAIN = "reference:quadruped/trot", "quadruped/trot"
GRID = "precisions=fp32,int8 backends=onnxruntime,openvino threads=1"


def test_ray_reaches_the_local_pools_decision(tmp_path):
    from edgeperf.planner import plan
    from edgeperf.sweep.ray_cluster import LocalCluster, RayCluster

    out = tmp_path / "plan"
    local = plan(SOURCE, out, domain=DOMAIN, candidates=GRID, episodes=4, duration=2.0, executor="local", workers=2)
    assert local.doc["executor"]["executor"] == "local"
    # The validations (the parallel part) are redone on Ray over the same profiles: the same verdicts, the same choice.
    for p in (out / "steps").glob("*.json"):
        if json.loads(p.read_text())["schema"].startswith("edgeperf.validate"):
            p.unlink()
    with LocalCluster(head_cpus=2) as cluster:
        ex = RayCluster(cluster.address)
        remote = plan(SOURCE, out, domain=DOMAIN, candidates=GRID, episodes=4, duration=2.0, executor=ex)
    assert remote.doc["executor"]["executor"] == "ray"
    assert remote.doc["decision"]["recommendation"] == local.doc["decision"]["recommendation"]

    def verdicts(p):
        return {r["id"]: (r.get("verdict"), r.get("return_diff"), r["status"]) for r in p.doc["decision"]["candidates"]}

    assert verdicts(remote) == verdicts(local)
