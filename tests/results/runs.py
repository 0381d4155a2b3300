"""Reports for the store, compare and budget tests: real profiles of a session with a known latency, and minimal
report documents of the other kinds (only the fields the figures read)."""

from __future__ import annotations

import uuid

from edgeperf.profilers.run import run_profile
from tests.injected import InjectedLatency


def profiled(us: float = 40.0, n: int = 3000, **kw):
    """A real profile (report and run) of a session that busy-waits `us` per inference."""
    return run_profile(InjectedLatency(us), iterations=n, duration=0, warmup=20, power="off", **kw)


def doc(kind: str, results: dict, *, model: str = "policy.onnx", sha: str = "ab" * 32, device: str = "generic-x86_64",
        created_at: str = "2026-11-30T10:00:00+00:00", config: dict | None = None, **extra) -> dict:  # fmt: skip
    return {
        "schema": f"edgeperf.{kind}/1",
        "run_id": uuid.uuid4().hex,
        "created_at": created_at,
        "edgeperf_version": "0.1.0",
        "host": {"device": device, "cpu": "test CPU"},
        "model": {"path": f"/models/{model}", "sha256": sha, "format": "onnx", "precision": "fp32"},
        "config": config or {},
        "results": results,
        "unmeasured": {},
        "warnings": [],
        **extra,
    }


def validate_doc(success: float = 1.0, episodes: int = 20, verdict: str = "equivalent", ret: float = -100.0, **kw):
    def side(rate):
        return {"episodes": episodes, "success_rate": rate, "return": {"mean": ret, "ci95": [ret - 5, ret + 5]}}

    return doc(
        "validate",
        {
            "episodes": episodes,
            "reference": side(1.0),
            "deployed": side(success),
            "paired": {"verdict": verdict, "mean_return_difference": 0.0},
            "domain": {"id": "gym:Pendulum-v1"},
        },
        **kw,
    )


def export_doc(max_err: float = 1e-6, per_dim=(1e-6, 5e-7), passed: bool = True, size: int = 300_000, **kw):
    return doc(
        "export",
        {
            "size_bytes": size,
            "parity": {
                "passed": passed,
                "max_abs_error": max_err,
                "p99_abs_error": max_err / 2,
                "max_abs_error_per_dim": list(per_dim),
            },
        },
        **kw,
    )
