"""Train the bundled vision/pendulum reference policy: a small CNN that reads the pendulum's angle off the
camera image, in front of the gym:Pendulum-v1 reference controller (an MLP of (cos, sin, angular velocity),
see scripts/train_pendulum.py), which is copied in unchanged.

The CNN is fit by regression of (cos theta, sin theta) on images rendered by the domain's own camera at
random angles. Deterministic (seeded numpy and torch); a few minutes on 2 shared cores. Writes
edgeperf/domains/references/vision_pendulum.pt (a state_dict) and prints the angle error and the policy's
success rate on 20 seeded episodes of vision/pendulum.  Run: .venv/bin/python scripts/train_vision.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from edgeperf.domains import base, references, vision

OUT = Path(__file__).resolve().parents[1] / "edgeperf" / "domains" / "references" / references.VISION_FILE
DOMAIN = "vision/pendulum"


def renders(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    cam = vision.Camera()
    try:
        theta = rng.uniform(-np.pi, np.pi, n)
        images = np.stack([cam.render(t) for t in theta])
    finally:
        cam.close()
    return images, np.stack([np.cos(theta), np.sin(theta)], 1).astype(np.float32)


def fit(model, images, target, epochs: int, gen) -> float:
    x, y = torch.from_numpy(images), torch.from_numpy(target)
    opt = torch.optim.Adam([*model.conv.parameters(), *model.angle.parameters()], lr=2e-3)
    loss = torch.tensor(0.0)
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), 64):
            idx = perm[i : i + 64]
            loss = torch.nn.functional.mse_loss(model.read_angle(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return float(loss.detach())


def success_rate(model, episodes: int = 20) -> float:
    domain = base.make(DOMAIN)
    wins = 0
    for k in range(episodes):
        env = domain.env(10_000 + k)
        obs, _ = env.reset(seed=10_000 + k)
        while True:
            with torch.no_grad():
                act = model(torch.from_numpy(obs["image"][None]), torch.from_numpy(obs["state"][None]))[0].numpy()
            obs, _, term, trunc, info = env.step(act)
            if term or trunc:
                wins += info["success"]
                break
        env.close()
    return wins / episodes


def main() -> None:
    t0 = time.perf_counter()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    model = references.vision_cnn()
    controller, _ = references.load("reference:gym:Pendulum-v1")
    model.control.load_state_dict(controller.state_dict())
    images, target = renders(3000, rng)
    loss = fit(model, images, target, epochs=15, gen=gen)
    model.eval()
    test_images, test_target = renders(500, np.random.default_rng(1))
    with torch.no_grad():
        got = model.read_angle(torch.from_numpy(test_images)).numpy()
    err = np.degrees(
        np.abs(np.angle(np.exp(1j * (np.arctan2(got[:, 1], got[:, 0]) - np.arctan2(*test_target.T[::-1])))))
    )
    torch.save(model.state_dict(), OUT)
    print(f"trained in {time.perf_counter() - t0:.1f} s on {len(images)} rendered images (last batch loss {loss:.4f})")
    print(f"angle error on 500 new renders: median {np.median(err):.1f} deg, p99 {np.percentile(err, 99):.1f} deg")
    print(f"success on 20 seeded vision/pendulum episodes: {success_rate(model):.0%} -> {OUT}")


if __name__ == "__main__":
    main()
