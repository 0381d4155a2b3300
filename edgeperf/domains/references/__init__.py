"""Bundled reference policies, as policy sources: `reference:<domain id>`.

Weights ship as small state_dicts beside this file and load with torch.load(weights_only=True).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from edgeperf.errors import BadInput, require

HERE = Path(__file__).parent
PREFIX = "reference:"


def mlp(sizes: list[int], act_limit: float | None = None):
    """The MLP shape reference policies use: ELU hidden layers, optional tanh scaling of the output."""
    torch = require("torch", "export", "to load reference policies")
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ELU())

    class Policy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(*layers)
            self.act_limit = act_limit

        def forward(self, obs):
            out = self.net(obs)
            return torch.tanh(out) * self.act_limit if self.act_limit is not None else out

    return Policy()


PENDULUM_SIZES = [3, 64, 64, 1]
CHUNK_FILE = "pendulum_chunks.pt"
CHUNK_SIZES = [3, 128, 128, 16]  # 16: the teacher's horizon, edgeperf.domains.pendulum.HORIZON


def chunk_mlp():
    """The pendulum/chunks reference: an MLP that returns a chunk of H=16 torques, [batch, 16, 1], trained by
    scripts/train_chunks.py on the chunks of the hand-built expert plan (edgeperf.domains.pendulum.chunk_teacher)."""
    torch = require("torch", "export", "to load reference policies")

    class ChunkPolicy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # the observation scaled to [-1, 1] inside (cos, sin, angular velocity / 8), as rsl_rl's exports
            # carry their normalizer: an int8 input then rounds cos and sin at 1/128, not at 1/16. A division: a
            # Mul by this vector is quantized per channel by onnxruntime's static int8, into a graph it cannot run.
            self.register_buffer("obs_std", torch.tensor([1.0, 1.0, 8.0]))
            self.plan = mlp(CHUNK_SIZES, act_limit=2.0)

        def forward(self, obs):
            return self.plan(obs / self.obs_std).unsqueeze(-1)

    return ChunkPolicy()


VISION_FILE = "vision_pendulum.pt"
VISION_FEATURES = 16 * 5 * 5
VISION_SPEED = 8.0  # Pendulum-v1's top angular speed: the controller reads it scaled to [-1, 1], like (cos, sin)


def vision_cnn(scale: bool = True, channels_last: bool = True):
    """The vision/pendulum reference: a small CNN reads the angle (cos, sin) off the raw uint8 HWC camera image
    (the HWC->CHW transpose and the /255 scaling inside, so the exported artifact takes what the camera gives),
    and an MLP of the gym:Pendulum-v1 reference's shape acts on it beside the angular velocity, the velocity
    divided by its top speed: one range for every feature, which int8 quantizes with one scale (the `Concat`).
    `scale`/`channels_last` False only exist to build deliberately broken exports in tests."""
    torch = require("torch", "export", "to load reference policies")
    nn = torch.nn

    class VisionPolicy(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale, self.channels_last = scale, channels_last
            # 48x48x3 -> 12x12x8 -> 5x5x16: ~85k multiply-adds, cheap to train on a shared laptop CPU.
            self.conv = nn.Sequential(
                nn.Conv2d(3, 8, 4, stride=4),
                nn.ELU(),
                nn.Conv2d(8, 16, 3, stride=2),
                nn.ELU(),
                nn.Flatten(),
            )
            self.angle = nn.Linear(VISION_FEATURES, 2)  # (cos theta, sin theta)
            self.control = mlp(PENDULUM_SIZES, act_limit=2.0)

        def read_angle(self, image):
            x = image.float()
            if self.channels_last:
                x = x.permute(0, 3, 1, 2)
            if self.scale:
                x = x / 255.0
            return self.angle(self.conv(x))

        def forward(self, image, state):
            return self.control(torch.cat([self.read_angle(image), state / VISION_SPEED], dim=1))

    return VisionPolicy()


def domain_of(spec: str) -> str:
    """The domain a reference spec's policy acts in: `+VARIANT` names another bundled policy of the same domain
    (reference:floorplan/ariane-like+ppo)."""
    domain_id = spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec
    return domain_id.split("+", 1)[0]


def load(spec: str):
    """(torch module in eval mode, observation shape or None for a Dict observation) for `reference:<domain id>`."""
    domain_id = spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec
    if domain_id.startswith("gym:"):
        from edgeperf.domains.gym import REFERENCES

        env_id = domain_id[4:]
        if env_id not in REFERENCES:
            raise BadInput(f"there is no bundled reference policy for {domain_id}; pass --reference SOURCE")
        torch = require("torch", "export", "to load reference policies")
        module = mlp(PENDULUM_SIZES, act_limit=2.0)
        module.load_state_dict(torch.load(HERE / REFERENCES[env_id], weights_only=True))
        return module.eval(), (PENDULUM_SIZES[0],)
    if domain_id == "pendulum/no-velocity":
        from edgeperf.domains import pendulum

        return pendulum.no_velocity_policy(), (2,)
    if domain_id == "pendulum/chunks":
        torch = require("torch", "export", "to load reference policies")
        module = chunk_mlp()
        path = HERE / CHUNK_FILE
        if not path.is_file():
            raise BadInput(f"{spec}: the bundled weights {path.name} are missing; run scripts/train_chunks.py")
        module.load_state_dict(torch.load(path, weights_only=True))
        return module.eval(), (CHUNK_SIZES[0],)
    if domain_id == "vision/pendulum":  # several named inputs: shapes from the domain's Dict space
        torch = require("torch", "export", "to load reference policies")
        module = vision_cnn()
        path = HERE / VISION_FILE
        if not path.is_file():
            raise BadInput(f"{spec}: the bundled weights {path.name} are missing; run scripts/train_vision.py")
        module.load_state_dict(torch.load(path, weights_only=True))
        return module.eval(), None
    if domain_id.startswith("quadruped/"):
        from edgeperf.domains import quadruped

        module = quadruped.load_reference(domain_id)
        first = next(p for p in module.parameters() if p.dim() == 2)
        return module.eval(), (int(first.shape[1]),)
    if domain_id.startswith("floorplan/"):
        from edgeperf.domains import floorplan

        return floorplan.load_reference(domain_id), floorplan.obs_shape(domain_id)
    if domain_id.startswith("web/"):
        from edgeperf.domains import web
        from edgeperf.domains.web.encoding import OBS_SIZE

        return web.load_reference(domain_id).eval(), (OBS_SIZE,)
    raise BadInput(
        f"there is no bundled reference policy '{spec}'; known: reference:quadruped/TASK, reference:web/TASK, "
        "reference:gym:Pendulum-v1, reference:pendulum/no-velocity, reference:pendulum/chunks, "
        "reference:floorplan/toy, reference:floorplan/ariane-like, reference:vision/pendulum"
    )
