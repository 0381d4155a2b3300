"""Train a bundled placement network for a floorplan domain, by imitation (DAgger) or by masked PPO.

imitation: DAgger from the greedy wirelength expert (edgeperf/domains/floorplan/expert.py). Iteration 0 rolls out
the expert choosing a random feasible cell with probability EPSILON (so the data covers states off its path);
iteration i > 0 rolls out a mixture (the expert acts with probability 0.5^i, the network otherwise); every visited
state is labelled with the expert's cell; the network is refit on the aggregate (cross-entropy over the masked
logits), scored on its own deterministic episode, and the best weights are kept.

ppo: sb3-contrib's MaskablePPO on the env's Discrete action space with its feasibility mask; the policy's
logits are the same CNN's (policy.PlacementNet, through an identity action head), the value a 64-unit MLP over
them; --seconds of wall time. --init imitation (the default, what is bundled as `+ppo`) fine-tunes the bundled
imitation network (lr 1e-4, clip 0.1, no entropy bonus); --init scratch starts from random weights (lr 1e-3,
entropy 0.01), which at a budget of minutes does not beat a random placer (README). The deterministic policy
is scored before every rollout and the best weights are kept.

Both end by scoring: the network's proxy cost (its episodes are deterministic), the expert's, and a random
placer's over --eval-seeds seeds, and how many seeds the network beats the random placer on; one JSON line.
Single-threaded torch, everything seeded. Budgets: imitation --iterations 6, ppo --seconds 240.

Run: python scripts/train_floorplan.py --method imitation [--domain floorplan/ariane-like] [--out PATH]
     edgeperf measure --json m.json -- python scripts/train_floorplan.py --method ppo
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from edgeperf.domains.floorplan import expert, make_env
from edgeperf.domains.floorplan.policy import PlacementNet, weights_path

EPSILON = 0.2


def rollout(env, choose) -> tuple[list, list, float]:
    """(observations, expert labels, return) of one episode where choose(env, obs) picks the cell."""
    obs, _ = env.reset()
    seen, labels, total = [], [], 0.0
    while True:
        seen.append(obs)
        labels.append(expert.greedy_action(env))
        obs, reward, done, _, _ = env.step(np.array([choose(env, obs, labels[-1])], dtype=np.float32))
        total += reward
        if done:
            return seen, labels, total


def net_cell(net):
    def choose(env, obs, label):
        with torch.no_grad():
            return int(net(torch.from_numpy(obs)[None])[0, 0])

    return choose


def score(env, net) -> float:
    """The network's proxy cost (-return) on its deterministic episode."""
    return -rollout(env, net_cell(net))[2]


def imitation(domain_id: str, args) -> PlacementNet:
    seed = args.seed
    rng = np.random.default_rng(seed)
    env = make_env(domain_id, seed=seed)
    net = PlacementNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    data_x, data_y = [], []
    best, best_state = np.inf, None
    t0 = time.perf_counter()
    for i in range(args.iterations):
        beta = 0.5**i
        for _ in range(4):

            def choose(env, obs, label, beta=beta, i=i):
                if i == 0:
                    return expert.random_action(env, rng) if rng.random() < EPSILON else label
                if rng.random() < beta:
                    return label
                return net_cell(net)(env, obs, label)

            seen, labels, _ = rollout(env, choose)
            data_x += seen
            data_y += labels
        x = torch.from_numpy(np.asarray(data_x))
        y = torch.from_numpy(np.asarray(data_y, dtype=np.int64))
        net.train()
        for _ in range(3):
            for b in torch.randperm(len(x)).split(64):
                loss = torch.nn.functional.cross_entropy(net.logits(x[b]), y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        c = score(env, net)
        if c < best:
            best, best_state = c, {k: v.clone() for k, v in net.state_dict().items()}
        print(
            f"dagger iteration {i}: {len(x)} states, loss {loss.item():.3f}, proxy {c:.4f} (best {best:.4f}), "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    net.load_state_dict(best_state)
    return net


def ppo(domain_id: str, args) -> PlacementNet:
    seed, seconds = args.seed, args.seconds
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    env = make_env(domain_id, seed=seed, discrete=True)
    n_cells = env.n_cells
    lr = 1e-3 if args.init == "scratch" else 1e-4

    class Logits(BaseFeaturesExtractor):
        def __init__(self, space):
            super().__init__(space, features_dim=n_cells)
            self.net = PlacementNet()

        def forward(self, obs):
            return self.net.raw_logits(obs)

    best = {"proxy": np.inf, "state": None}
    score_env = make_env(domain_id, seed=seed)

    class Budget(BaseCallback):
        """Stops at the wall-time budget; after every rollout scores the deterministic policy, keeps the best."""

        def _on_step(self) -> bool:
            return time.perf_counter() - t0 < seconds

        def _on_rollout_start(self) -> None:
            net = self.model.policy.features_extractor.net
            c = score(score_env, net.eval())
            net.train()
            if c < best["proxy"]:
                best.update(proxy=c, state={k: v.clone() for k, v in net.state_dict().items()})
            print(
                f"ppo: {self.model.num_timesteps} steps, proxy {c:.4f} (best {best['proxy']:.4f}), "
                f"{time.perf_counter() - t0:.0f} s",
                flush=True,
            )

    model = MaskablePPO(
        "CnnPolicy",
        env,
        n_steps=2 * 133,
        batch_size=133,
        n_epochs=4,
        learning_rate=lr,
        gamma=1.0,
        ent_coef=0.01 if args.init == "scratch" else 0.0,
        clip_range=0.2 if args.init == "scratch" else 0.1,
        seed=seed,
        policy_kwargs={
            "features_extractor_class": Logits,
            "net_arch": {"pi": [], "vf": [64]},
            "normalize_images": False,
            "share_features_extractor": True,
        },
        verbose=0,
    )
    # the action head is the identity: the CNN's per-cell logits are the policy's, as the bundled net computes
    model.policy.action_net = torch.nn.Identity()
    if args.init == "imitation":  # after construction: SB3's orthogonal initialisation would overwrite them
        model.policy.features_extractor.net.load_state_dict(torch.load(weights_path(domain_id), weights_only=True))
    model.policy.optimizer = model.policy.optimizer_class(model.policy.parameters(), lr=lr)
    t0 = time.perf_counter()
    model.learn(total_timesteps=10**9, callback=Budget())
    net = model.policy.features_extractor.net.eval()
    c = score(score_env, net)
    if c < best["proxy"]:
        best.update(proxy=c, state=net.state_dict())
    net.load_state_dict(best["state"])
    print(f"ppo: {model.num_timesteps} steps in {time.perf_counter() - t0:.0f} s, best proxy {best['proxy']:.4f}")
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", choices=["imitation", "ppo"], required=True)
    ap.add_argument("--domain", default="floorplan/ariane-like")
    ap.add_argument("--iterations", type=int, default=6, help="imitation: DAgger iterations")
    ap.add_argument("--seconds", type=float, default=240.0, help="ppo: training budget (wall seconds)")
    ap.add_argument(
        "--init",
        choices=["imitation", "scratch"],
        default="imitation",
        help="ppo: start from the bundled imitation network (fine-tuning) or from random weights",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-seeds", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None, help="weights file (default: the bundled one)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    net = (imitation if args.method == "imitation" else ppo)(args.domain, args)
    train_s = time.perf_counter() - t0
    out = args.out or weights_path(args.domain, args.method if args.init == "imitation" else "ppo-scratch")
    torch.save(net.state_dict(), out)
    env = make_env(args.domain, seed=0)
    learner = score(env, net)
    greedy = -expert.play(env, expert.greedy_action)[0]
    randoms = []
    for s in range(args.eval_seeds):
        rng = np.random.default_rng(s)
        randoms.append(-expert.play(env, lambda e, rng=rng: expert.random_action(e, rng))[0])
    print(
        json.dumps(
            {
                "method": args.method,
                **({"init": args.init} if args.method == "ppo" else {"iterations": args.iterations}),
                "domain": args.domain,
                "train_s": round(train_s, 1),
                "weights": str(out),
                "proxy": {
                    "learner": learner,
                    "expert": greedy,
                    "random_mean": float(np.mean(randoms)),
                    "random_min": float(np.min(randoms)),
                },
                "beats_random_seeds": int(sum(learner < r for r in randoms)),
                "eval_seeds": args.eval_seeds,
            }
        )
    )


if __name__ == "__main__":
    main()
