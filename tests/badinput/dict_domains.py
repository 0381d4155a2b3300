"""Deliberately wrong Dict-observation domains (a plugin module for --domain tests.badinput.dict_domains:ID):
vision/pendulum with its image transposed to CHW, scaled to float, or its 'state' key dropped."""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeperf.domains import base

CHANGES = {
    "vision-chw": lambda o: {"image": o["image"].transpose(2, 0, 1), "state": o["state"]},
    "vision-float": lambda o: {"image": o["image"] / 255.0, "state": o["state"]},
    "vision-nostate": lambda o: {"image": o["image"]},
}


def domain(domain_id: str) -> base.Domain:
    import gymnasium as gym

    real = base.make("vision/pendulum")
    change = CHANGES[domain_id]

    def make_env(seed: int, **options):
        env = real.make_env(seed, **options)

        class Changed(gym.ObservationWrapper):
            def __init__(self, inner):
                super().__init__(inner)
                probe = change({k: np.asarray(s.sample()) for k, s in inner.observation_space.spaces.items()})
                self.observation_space = gym.spaces.Dict(
                    {k: gym.spaces.Box(-np.inf, np.inf, np.shape(v), np.float32) for k, v in probe.items()}
                )

            def observation(self, obs):
                return change(obs)

        return Changed(env)

    return dataclasses.replace(real, id=domain_id, make_env=make_env, reference=None)


for _id in CHANGES:
    base.register(_id, "tests.badinput.dict_domains:domain")
