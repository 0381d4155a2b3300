"""The bundled neural reference policies (torch): an MLP, raw observation in, the env's action out.

The observation normalisation (mean, std of the training data) and the action clip live inside the module, so
the exported artifact takes the env's raw observation. Weights are state_dicts beside this file, loaded with
torch.load(weights_only=True); scripts/train_quadruped.py reproduces them.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from edgeperf.domains.quadruped import _task
from edgeperf.domains.quadruped.task import ACTION_LIMIT, OBS_SIZE
from edgeperf.errors import BadInput, require

torch = require("torch", "export", "to load the quadruped reference policies")

HERE = Path(__file__).parent
HIDDEN = (256, 256)
# task -> weights file: one network, conditioned on the command, walks trot, spin and trot-push.
WEIGHTS = {"trot": "reference.pt", "spin": "reference.pt", "trot-push": "reference.pt", "pace": "reference_pace.pt"}


class QuadrupedPolicy(torch.nn.Module):
    """obs (..., 47) -> action (..., 12): (obs - mean) / std -> 256 ELU -> 256 ELU -> 12, clipped to +-2."""

    def __init__(self, obs_size: int = OBS_SIZE, hidden: tuple[int, ...] = HIDDEN, act_size: int = 12):
        super().__init__()
        sizes = [obs_size, *hidden]
        layers: list = []
        for a, b in itertools.pairwise(sizes):
            layers += [torch.nn.Linear(a, b), torch.nn.ELU()]
        layers.append(torch.nn.Linear(sizes[-1], act_size))
        self.net = torch.nn.Sequential(*layers)
        self.register_buffer("obs_mean", torch.zeros(obs_size))
        self.register_buffer("obs_std", torch.ones(obs_size))

    def forward(self, obs):
        return torch.clamp(self.net((obs - self.obs_mean) / self.obs_std), -ACTION_LIMIT, ACTION_LIMIT)


def weights_path(domain_id: str) -> Path:
    return HERE / WEIGHTS[_task(domain_id)]


def load_reference(domain_id: str):
    path = weights_path(domain_id)
    if not path.is_file():
        raise BadInput(
            f"there is no bundled neural policy for {domain_id} ({path.name} is missing); "
            "train it with scripts/train_quadruped.py or pass --reference SOURCE"
        )
    module = QuadrupedPolicy()
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return module.eval()
