"""Train the bundled pendulum/chunks reference: an MLP (3 -> 128 -> 128 -> 16, ELU, tanh * 2) that returns a
chunk of 16 torques, fitted by regression to the chunks of the hand-built expert plan
(edgeperf.domains.pendulum.chunk_teacher: Pendulum's dynamics rolled forward under the swing-up expert).

The states it learns on: random states over the whole state space, the teacher's own episodes, then (DAgger)
the states the network itself visits executing its chunks open loop (k = 8) and ensembled, each labelled with
the teacher's chunk. Every layer's outputs are kept within +-3 (a penalty) and the weights small (AdamW decay
0.1), so that the fp16 and int8 exports stay within their parity tolerances. Deterministic (seeded numpy,
torch and environments; one thread). Writes edgeperf/domains/references/pendulum_chunks.pt (a state_dict) and
prints the training time, the fit error on held-out on-policy states, and the success of the teacher, the
network, and the network's chunks reversed, on 20 seeded episodes open loop (k = 8) and ensembled (k = 1 and
k = 8, m = 0.01).
Run: .venv/bin/python scripts/train_chunks.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from edgeperf.domains import base, pendulum
from edgeperf.domains.references import CHUNK_FILE, HERE, chunk_mlp
from edgeperf.validation.chunks import Chunker, ChunkExecution

DOMAIN = "pendulum/chunks"
OUT = HERE / CHUNK_FILE
PRE_MAX = 3.0  # every Linear's output; 2 tanh(3) = 1.99 N m at the last
EXECUTIONS = {
    "open loop k=8": ChunkExecution("open-loop", 8),
    "ensemble k=1": ChunkExecution("ensemble", 1),
    "ensemble k=8": ChunkExecution("ensemble", 8),
}


def chunk_fn(module):
    def query(obs):
        with torch.no_grad():
            return module(torch.as_tensor(np.asarray(obs, np.float32)[None]))[0].numpy()

    return query


def episode(query, execution: ChunkExecution, seed: int, domain) -> tuple[list[np.ndarray], bool]:
    """The observations of one seeded episode whose actions come from `query`'s chunks, and its success."""
    env = domain.env(seed)
    try:
        obs, _ = env.reset(seed=seed)
        c = Chunker(execution, pendulum.HORIZON, query, 1.0 / domain.control_hz, None, None, np.zeros(1, np.float32))
        seen = []
        while True:
            seen.append(np.asarray(obs, np.float32))
            obs, _, term, trunc, info = env.step(c.act(obs))
            if term or trunc:
                return seen, bool(info["success"])
    finally:
        env.close()


def visited(query, seeds, domain) -> np.ndarray:
    out = []
    for i, seed in enumerate(seeds):
        execution = list(EXECUTIONS.values())[i % len(EXECUTIONS)]
        out += episode(query, execution, seed, domain)[0]
    return np.asarray(out, np.float32)


def random_states(n: int, rng) -> np.ndarray:
    th = rng.uniform(-np.pi, np.pi, n)
    w = rng.uniform(-pendulum.MAX_SPEED, pendulum.MAX_SPEED, n)
    return np.stack([np.cos(th), np.sin(th), w], axis=1).astype(np.float32)


def fit(model, x: np.ndarray, teacher, epochs: int, gen, lr: float, bound: float, decay: float) -> None:
    """MSE to the teacher's chunks, plus what keeps the network deployable at low precision: `bound` weighs every
    layer's outputs beyond +-PRE_MAX (an 8-bit activation then keeps a fine step), `decay` (AdamW) keeps the
    weights small (a 16-bit sum then loses little to cancellation)."""
    xt = torch.from_numpy(x)
    with torch.no_grad():
        yt = teacher(xt)[..., 0]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 512):
            idx = perm[i : i + 512]
            h, beyond = xt[idx] / model.obs_std, 0.0  # the network's own input, in [-1, 1]
            for layer in model.plan.net:
                h = layer(h)
                if isinstance(layer, torch.nn.Linear):
                    beyond = beyond + torch.relu(h.abs() - PRE_MAX).pow(2).mean()
            loss = torch.nn.functional.mse_loss(2.0 * torch.tanh(h), yt[idx]) + bound * beyond
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()


def reversed_chunks(query):
    return lambda obs: query(obs)[::-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dagger", type=int, default=4, help="DAgger rounds")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--episodes", type=int, default=20, help="evaluation episodes per execution")
    ap.add_argument("--bound", type=float, default=1.0, help="weight of the penalty on layer outputs beyond +-3")
    ap.add_argument("--decay", type=float, default=0.1, help="AdamW weight decay")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    domain = base.make(DOMAIN)
    teacher = pendulum.chunk_teacher()
    model = chunk_mlp()
    query = chunk_fn(model)

    data = np.concatenate([random_states(20_000, rng), visited(chunk_fn(teacher), range(30), domain)])
    fit(model, data, teacher, args.epochs, gen, 3e-3, args.bound, args.decay)
    for it in range(1, args.dagger + 1):  # DAgger: the states the network's own chunks lead to
        data = np.concatenate([data, visited(query, range(1000 * it, 1000 * it + 30), domain)])
        fit(model, data, teacher, args.epochs, gen, 1e-3, args.bound, args.decay)
    model.eval()
    train_s = time.perf_counter() - t0
    torch.save(model.state_dict(), args.out)
    print(f"trained in {train_s:.1f} s on {len(data)} labelled states ({args.dagger} DAgger rounds) -> {args.out}")

    held = visited(query, range(5000, 5012), domain)
    with torch.no_grad():
        err = (model(torch.from_numpy(held)) - teacher(torch.from_numpy(held))).abs().numpy()
    print(
        f"fit error on {len(held)} held-out on-policy states (torque units, range +-2): "
        f"mean {err.mean():.3f}, p99 {np.percentile(err, 99):.3f}, max {err.max():.3f}"
    )
    seeds = range(10_000, 10_000 + args.episodes)
    for label, execution in EXECUTIONS.items():
        row = []
        for who, q in (
            ("teacher", chunk_fn(teacher)),
            ("network", query),
            ("network reversed", reversed_chunks(query)),
        ):
            wins = sum(episode(q, execution, s, domain)[1] for s in seeds)
            row.append(f"{who} {wins / len(seeds):.0%}")
        print(f"success on {len(seeds)} seeded episodes, {label}: " + ", ".join(row))


if __name__ == "__main__":
    main()
