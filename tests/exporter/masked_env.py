"""A small gymnasium env with sb3-contrib's action-mask convention, for MaskablePPO agents: Box observations,
Discrete actions, `action_masks()` (True = allowed). Registered on import as `MaskedLine-v0`, so a domain id
`gym:tests.exporter.masked_env:MaskedLine-v0` works in spawned workers too."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

N = 6  # positions on the line, and actions: "go to position k"
STEPS = 40


class MaskedLine(gym.Env):
    """The agent moves along a line of N cells toward a goal; it may only move to a neighbouring cell (the mask),
    and a masked action ends the episode as a failure. Reward: -distance to the goal each step."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Discrete(N)
        self.pos = self.goal = self.t = 0

    def _obs(self):
        return np.array([self.pos / N, self.goal / N, (self.goal - self.pos) / N, self.t / STEPS], np.float32)

    def action_masks(self) -> np.ndarray:
        return np.array([abs(k - self.pos) <= 1 for k in range(N)])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.goal = (int(v) for v in self.np_random.choice(N, 2, replace=False))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        a = int(np.asarray(action).reshape(-1)[0])
        allowed = bool(self.action_masks()[a])
        self.t += 1
        if allowed:
            self.pos = a
        info = {} if allowed else {"success": False, "failure_reason": f"masked action {a} at step {self.t}"}
        done = not allowed or self.t >= STEPS
        if done and allowed:
            info = {"success": self.pos == self.goal}
        return self._obs(), -abs(self.goal - self.pos) / N, not allowed, self.t >= STEPS, info


if "MaskedLine-v0" not in gym.registry:
    gym.register("MaskedLine-v0", entry_point=MaskedLine, max_episode_steps=STEPS)
