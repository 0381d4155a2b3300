"""Parity: the original torch policy and the exported artifact on the same observations, compared in
action units. An element passes when |artifact - original| <= atol + rtol * |original|."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeperf.errors import require
from edgeperf.exporter.sources import PolicySource
from edgeperf.runtime.session import Session

# Per precision: (atol, rtol). fp32 differs from torch only by kernel ordering.
TOLERANCES = {"fp32": (1e-5, 1e-4)}


def observations(src: PolicySource, n: int, seed: int) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(seed)
    space = src.obs_space or {}
    if space.get("low") is not None and space.get("high") is not None:
        low, high = (
            np.broadcast_to(space["low"], src.obs_shape),
            np.broadcast_to(space["high"], src.obs_shape),
        )
        return rng.uniform(low, high, (n, *src.obs_shape)).astype(np.float32), "uniform in the observation space"
    return rng.standard_normal((n, *src.obs_shape)).astype(np.float32), "standard normal (no observation space known)"


def parity(src: PolicySource, artifact: Path, precision: str, *, n: int = 512, seed: int = 0) -> dict:
    torch = require("torch", "export")
    obs, how = observations(src, n, seed)
    with torch.no_grad():
        ref = src.module(torch.from_numpy(obs)).numpy().astype(np.float64)
    with Session.open(artifact) as session:
        got = session.run(obs).astype(np.float64)
    atol, rtol = TOLERANCES[precision]
    err = np.abs(got - ref).reshape(n, -1)
    bound = (atol + rtol * np.abs(ref)).reshape(n, -1)
    scale = np.abs(ref).reshape(n, -1).max(axis=0)
    ok = err <= bound
    return {
        "passed": bool(ok.all()),
        "observations": n,
        "observation_source": how,
        "seed": seed,
        "tolerance": {
            "atol": atol,
            "rtol": rtol,
            "rule": "|artifact - original| <= atol + rtol * |original|",
        },
        "max_abs_error": float(err.max()),
        "p99_abs_error": float(np.percentile(err, 99)),
        "max_abs_error_per_dim": err.max(axis=0).tolist(),
        "p99_abs_error_per_dim": np.percentile(err, 99, axis=0).tolist(),
        "max_rel_error_per_dim": (err.max(axis=0) / np.where(scale > 0, scale, 1.0)).tolist(),
        "elements_out_of_tolerance": int((~ok).sum()),
    }
