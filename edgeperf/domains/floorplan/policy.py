"""The bundled placement networks (torch): a small CNN over the canvas maps, the feasibility mask applied inside.

obs (B, 7, rows, cols) -> conv 3x3 (32) -> ReLU -> conv 3x3 (32) -> ReLU -> conv 5x5 (32) -> ReLU, plus a global
context (the spatial mean through a linear layer, added back everywhere) -> conv 1x1 -> one logit per cell.
Cells the observation's mask channel marks infeasible get MASKED_LOGIT, so the exported artifact itself only
ever picks feasible cells; forward returns the argmax cell index as one float32 (the env's action), `logits`
the masked logits (what imitation and PPO train).
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.errors import BadInput, require

torch = require("torch", "export", "to load the floorplan reference policies")

HERE = Path(__file__).parent
WIDTH = 32
MASKED_LOGIT = -1e9
MASK_CHANNEL = 1
# domain id -> weights file (scripts/train_floorplan.py writes them)
WEIGHTS = {"floorplan/toy": "toy.pt", "floorplan/ariane-like": "ariane-like.pt"}


class PlacementNet(torch.nn.Module):
    def __init__(self, channels: int = 7, width: int = WIDTH):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(channels, width, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(width, width, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(width, width, 5, padding=2),
            torch.nn.ReLU(),
        )
        self.context = torch.nn.Linear(width, width)
        self.head = torch.nn.Conv2d(width, 1, 1)

    def raw_logits(self, obs):
        x = self.body(obs)
        x = torch.relu(x + self.context(x.mean(dim=(2, 3)))[:, :, None, None])
        return self.head(x).flatten(1)

    def logits(self, obs):
        raw = self.raw_logits(obs)
        mask = obs[:, MASK_CHANNEL].flatten(1)
        return torch.where(mask > 0.5, raw, torch.full_like(raw, MASKED_LOGIT))

    def forward(self, obs):
        return torch.argmax(self.logits(obs), dim=1, keepdim=True).to(torch.float32)


def weights_path(domain_id: str, method: str = "imitation") -> Path:
    name = WEIGHTS.get(domain_id)
    if name is None:
        raise BadInput(f"there is no bundled placement network for {domain_id}; known: {', '.join(WEIGHTS)}")
    return HERE / (name if method == "imitation" else name.replace(".pt", f"-{method}.pt"))


def load_reference(domain_id: str, method: str = "imitation"):
    path = weights_path(domain_id, method)
    if not path.is_file():
        raise BadInput(
            f"there is no bundled {method} network for {domain_id} ({path.name} is missing); "
            "train it with scripts/train_floorplan.py or pass --reference SOURCE"
        )
    module = PlacementNet()
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return module.eval()
