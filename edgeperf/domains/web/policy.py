"""The bundled web policy (torch): a set network over the page's elements, flat observation in, action scores out.

Per element: its features and an embedding of the utterance (its hashed tokens and field mask) go through a
shared MLP; a context vector (mean and max of the element embeddings over the real elements) joins each
element's embedding, and a second shared MLP scores the element's action types. Padded elements and fields
the utterance lacks score MASKED (-1e4). One network serves all six tasks (the utterance says which);
scripts/train_web.py trains it by imitation of the DOM expert (behaviour cloning, then DAgger rounds).
Weights: domains/references/web.pt, loaded with torch.load(weights_only=True).
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.domains.web.encoding import (
    ELEMENT_FEATURES,
    MASKED,
    N_ACTION_TYPES,
    N_ELEMENTS,
    N_FIELDS,
    UTTERANCE_BUCKETS,
)
from edgeperf.errors import BadInput, require

torch = require("torch", "export", "to load the web reference policy")
nn = torch.nn

WEIGHTS = Path(__file__).parent.parent / "references" / "web.pt"
HIDDEN = 64


class WebPolicy(nn.Module):
    """obs (B, OBS_SIZE) -> scores (B, N_ELEMENTS * N_ACTION_TYPES); see the module docstring."""

    def __init__(self, hidden: int = HIDDEN):
        super().__init__()
        self.utt = nn.Linear(UTTERANCE_BUCKETS + N_FIELDS, hidden)
        self.elem = nn.Sequential(
            nn.Linear(ELEMENT_FEATURES + hidden, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU()
        )
        self.head = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.ELU(), nn.Linear(hidden, N_ACTION_TYPES))

    def forward(self, obs):
        n, f = N_ELEMENTS, ELEMENT_FEATURES
        at = n * f
        elements = obs[:, :at].reshape(-1, n, f)
        mask = obs[:, at : at + n]
        utt = obs[:, at + n :]  # utterance buckets, then the field mask
        field_mask = obs[:, at + n + UTTERANCE_BUCKETS :]
        u = nn.functional.elu(self.utt(utt))
        h = self.elem(torch.cat([elements, u[:, None, :].expand(-1, n, -1)], dim=-1))
        m = mask[:, :, None]
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        top = (h + (m - 1.0) * 1e4).max(1).values
        ctx = torch.cat([mean, top], dim=-1)[:, None, :].expand(-1, n, -1)
        scores = self.head(torch.cat([h, ctx], dim=-1))
        allowed = m * torch.cat([torch.ones_like(field_mask[:, :1]), field_mask], dim=-1)[:, None, :]
        scores = scores * allowed + (1.0 - allowed) * MASKED
        return scores.reshape(-1, n * N_ACTION_TYPES)


def load_reference():
    if not WEIGHTS.is_file():
        raise BadInput(
            f"there is no bundled web policy ({WEIGHTS.name} is missing); train it with scripts/train_web.py "
            "or pass --reference SOURCE"
        )
    module = WebPolicy()
    module.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    return module.eval()
