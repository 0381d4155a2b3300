"""The built-in example policy (`example:mlp`): an untrained MLP with seeded weights, shaped like a
quadruped locomotion policy (48 observations -> 12 joint position targets, ELU, legged_gym-sized).

It exists so that `edgeperf demo` and the tests have a real network to export and profile without any
download; it does not walk. Trained reference policies live with their domains.
"""

from __future__ import annotations

import itertools

from edgeperf.errors import BadInput, require

EXAMPLES = {
    "mlp": {
        "obs_dim": 48,
        "act_dim": 12,
        "hidden": (256, 256),
        "description": "untrained MLP 48->256->256->12 with seeded weights (quadruped-policy sized)",
    },
}
OBS_LIMIT = 10.0  # observations are clipped to +-10 inside the graph, as rsl_rl/legged_gym policies do


def build(name: str):
    """The example as a torch module with observation clipping and action clamping inside the graph."""
    if name not in EXAMPLES:
        raise BadInput(
            f"unknown example policy 'example:{name}'; available: " + ", ".join(f"example:{k}" for k in EXAMPLES)
        )
    torch = require("torch", "export", "to build the example policy")
    spec = EXAMPLES[name]
    gen = torch.Generator().manual_seed(0)
    dims = [spec["obs_dim"], *spec["hidden"], spec["act_dim"]]
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        lin = torch.nn.Linear(a, b)
        with torch.no_grad():
            bound = (6 / (a + b)) ** 0.5  # Glorot-uniform, drawn from our own generator: reproducible everywhere
            lin.weight.copy_(torch.rand(b, a, generator=gen) * 2 * bound - bound)
            lin.bias.zero_()
        layers.append(lin)
        if i < len(dims) - 2:
            layers.append(torch.nn.ELU())

    class ExamplePolicy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(*layers)

        def forward(self, obs):
            return torch.clamp(self.net(torch.clamp(obs, -OBS_LIMIT, OBS_LIMIT)), -1.0, 1.0)

    return ExamplePolicy().eval(), spec
