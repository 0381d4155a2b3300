"""`vision/pendulum`: gymnasium's Pendulum-v1 seen through a camera. The observation is a Dict:

    "image": uint8 48x48x3 (HWC), the pendulum rendered headless by pybullet's TinyRenderer (no display)
    "state": float32 [1], the angular velocity (rad/s)

The angle is in the image only, so a policy must read the picture to swing up and balance: the domain of
the bundled vision reference policy (reference:vision/pendulum, a small CNN; scripts/train_vision.py) and of
Dict-observation exports (images and vectors, exporter/multi.py). Success as for gym:Pendulum-v1: upright
(cos theta > 0.95) over the last 50 steps.
"""

from __future__ import annotations

import numpy as np

from edgeperf.domains.base import Domain
from edgeperf.domains.gym import KNOWN, _Outcome
from edgeperf.errors import require

SIZE = 48  # pixels per side: NatureCNN (SB3's image extractor) takes 36 and up
ROD = 1.0  # metres, as gymnasium's pendulum


class Camera:
    """A pendulum (a capsule on a pivot) in its own pybullet DIRECT client, photographed from the front."""

    def __init__(self, size: int = SIZE):
        self.p = require("pybullet", "sim", "for the vision/pendulum domain")
        p, self.size = self.p, size
        self.client = p.connect(p.DIRECT)
        c = self.client
        rod = p.createVisualShape(
            p.GEOM_CAPSULE, radius=0.09, length=ROD, rgbaColor=[0.85, 0.3, 0.1, 1], physicsClientId=c
        )
        tip = p.createVisualShape(p.GEOM_SPHERE, radius=0.16, rgbaColor=[0.1, 0.3, 0.85, 1], physicsClientId=c)
        hub = p.createVisualShape(p.GEOM_SPHERE, radius=0.1, rgbaColor=[0.1, 0.1, 0.1, 1], physicsClientId=c)
        self.rod = p.createMultiBody(0, -1, rod, [0, 0, ROD / 2], physicsClientId=c)
        self.tip = p.createMultiBody(0, -1, tip, [0, 0, ROD], physicsClientId=c)
        p.createMultiBody(0, -1, hub, [0, -0.1, 0], physicsClientId=c)
        self.view = p.computeViewMatrix([0, -2.6, 0], [0, 0, 0], [0, 0, 1], physicsClientId=c)
        self.proj = p.computeProjectionMatrixFOV(50, 1.0, 0.1, 10, physicsClientId=c)

    def render(self, theta: float) -> np.ndarray:
        """uint8 HxWx3 of the pendulum at angle theta (0: upright, as gymnasium's)."""
        p, c = self.p, self.client
        x, z = -np.sin(theta), np.cos(theta)
        quat = p.getQuaternionFromEuler([0, -theta, 0])
        p.resetBasePositionAndOrientation(self.rod, [x * ROD / 2, 0, z * ROD / 2], quat, physicsClientId=c)
        p.resetBasePositionAndOrientation(self.tip, [x * ROD, 0, z * ROD], [0, 0, 0, 1], physicsClientId=c)
        _, _, rgba, _, _ = p.getCameraImage(
            self.size, self.size, self.view, self.proj, renderer=p.ER_TINY_RENDERER, physicsClientId=c
        )
        return np.asarray(rgba, np.uint8).reshape(self.size, self.size, 4)[:, :, :3].copy()

    def close(self) -> None:
        if self.client is not None:
            self.p.disconnect(self.client)
            self.client = None


def make_env(seed: int, **options):
    gym = require("gymnasium", "sim", "for the vision/pendulum domain")

    size = int(options.pop("size", SIZE))
    inner = _Outcome(gym.make("Pendulum-v1", **options), "pendulum", None).wrap()

    class CameraObservation(gym.ObservationWrapper):
        def __init__(self, env):
            super().__init__(env)
            self.camera = Camera(size)
            self.observation_space = gym.spaces.Dict(
                {
                    "image": gym.spaces.Box(0, 255, (size, size, 3), np.uint8),
                    "state": gym.spaces.Box(-8.0, 8.0, (1,), np.float32),
                }
            )

        def observation(self, obs):
            c, s, w = (float(v) for v in obs)
            return {"image": self.camera.render(float(np.arctan2(s, c))), "state": np.array([w], np.float32)}

        def close(self):
            self.camera.close()
            super().close()

    env = CameraObservation(inner)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def domain(domain_id: str) -> Domain:
    margin, rule = KNOWN["Pendulum-v1"]
    return Domain(
        id=domain_id,
        description="Pendulum-v1 from a camera: a 48x48 RGB image (pybullet TinyRenderer) and the angular velocity",
        make_env=make_env,
        control_hz=20.0,
        equivalence_margin=margin,
        reference="reference:vision/pendulum",
        success_rule=rule,
        episode_s=10.0,
    )
