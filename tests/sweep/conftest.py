from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def curves_dir(tmp_path):
    """Training curves of 3 algorithms x 2 seeds, as step,value CSV."""
    root = tmp_path / "runs"
    for a, algo in enumerate(("ppo", "sac", "td3")):
        for s in range(2):
            rng = np.random.default_rng(10 * a + s)
            d = root / algo
            d.mkdir(parents=True, exist_ok=True)
            v = np.cumsum(rng.normal(0.1 * a, 1.0, 50))
            (d / f"s{s}.csv").write_text("step,value\n" + "".join(f"{10 * i},{x}\n" for i, x in enumerate(v)))
    return root


def reliability_config(path, root, extra: str = "") -> str:
    groups = ", ".join(f'{a} = ["{root}/{a}/s0.csv", "{root}/{a}/s1.csv"]' for a in ("ppo", "sac", "td3"))
    path.write_text(f"[sweep]\nworkers = 1\n{extra}\n[reliability]\ngroups = {{ {groups} }}\n")
    return str(path)
