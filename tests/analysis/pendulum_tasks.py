"""Test tasks for generalization: Pendulum at another gravity, registered as a third-party module would."""

from __future__ import annotations

import dataclasses

from edgeperf.domains.base import register

GRAVITY = {"pendulum-g12": 12.0}


def task(domain_id: str):
    from edgeperf.domains.gym import gym_domain

    return dataclasses.replace(gym_domain("Pendulum-v1"), id=domain_id, options={"g": GRAVITY[domain_id]})


for _name in GRAVITY:
    register(_name, "tests.analysis.pendulum_tasks:task")
