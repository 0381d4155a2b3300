"""Pendulum variants for the policy shapes beyond one observation -> one action, each with a reference policy
whose shape matters.

`pendulum/chunks`: gymnasium's Pendulum-v1 as it is, with a reference that returns a chunk of H=16 future
actions, as ACT-style policies do: a trained MLP (3 -> 128 -> 128 -> 16, ELU, tanh * 2; bundled weights,
edgeperf.domains.references.chunk_mlp). Its teacher is hand-built here (chunk_teacher): it rolls Pendulum's own
dynamics forward, applying a swing-up expert at each predicted state, so its chunk is the plan the expert
would follow; scripts/train_chunks.py fits the network to those plans (DAgger on its own open-loop states).
The teacher's switches are smooth (tanh and sigmoid, not the bang-bang sign), and the network is trained with
its layers' outputs kept within +-3, so that it survives half precision: the bang-bang plan itself flips sign
under fp16. Executed open loop the network's chunks swing up; executed in the wrong order (reversed) they do not.

`pendulum/no-velocity`: gymnasium's Pendulum-v1 with the angular velocity taken out of the observation
(cos theta, sin theta only), the classic partially observed task: a policy must remember the last
observation to know how fast the pendulum swings. A policy whose memory is lost (its recurrent state not
carried from step to step) sees velocity 0 forever and cannot swing up.

The bundled reference of pendulum/no-velocity is hand-built, not trained: a GRU whose weights make its state
hold the current and the previous observation (tanh-squashed, inverted exactly by the head), and a head that
takes the velocity from their difference and applies the Pendulum expert (energy pumping, PD catch at the top).
It is written in the rsl_rl exporter's form (memory buffers, reset_memory()), so it also exercises that source.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeperf.domains.base import Domain
from edgeperf.domains.gym import gym_domain
from edgeperf.errors import require

DT = 0.05  # Pendulum-v1's step
G, MAX_SPEED, MAX_TORQUE = 10.0, 8.0, 2.0  # Pendulum-v1's defaults (g, max_speed, max_torque; m = l = 1)
HORIZON = 16
SQUASH = 0.5  # the GRU stores tanh(SQUASH * x); the head inverts it
SATURATE = 30.0  # a gate bias that makes sigmoid exactly 0 or 1 in float32
# The chunk teacher's smooth switches: the pump's torque is 2 tanh((w + PUMP_START) (15 - energy) / PUMP_SOFT)
# (PUMP_START: a push from rest, where w = 0 would pump nothing); the catch takes over around cos theta = 0.8,
# over about +-2 CATCH_SOFT.
PUMP_SOFT, PUMP_START, CATCH_SOFT = 40.0, 0.05, 0.05


def chunks(name: str = "pendulum/chunks") -> Domain:
    return dataclasses.replace(
        gym_domain("Pendulum-v1"),
        id=name,
        description=f"gymnasium Pendulum-v1 with a reference that returns chunks of {HORIZON} actions",
        reference=f"reference:{name}",
    )


def chunk_teacher(horizon: int = HORIZON):
    """The hand-built expert plan that teaches the chunk reference: obs [batch, 3] -> [batch, horizon, 1],
    Pendulum's dynamics rolled forward under the swing-up expert (edgeperf.domains.gym.pendulum_expert's rule:
    energy pumping, PD catch near the top) with its switches made smooth."""
    torch = require("torch", "export", "to load reference policies")

    def expert(th, w):
        # The Pendulum expert's rule (energy pumping, PD catch near the top) with its switches made smooth: tanh
        # for the pump's sign and the torque limit, a sigmoid for the hand-over to the catch.
        c = torch.cos(th)
        catch = MAX_TORQUE * torch.tanh(-(10.0 * torch.atan2(torch.sin(th), c) + 2.0 * w) / MAX_TORQUE)
        energy = 0.5 * w * w + 15.0 * c
        pump = MAX_TORQUE * torch.tanh((w + PUMP_START) * (15.0 - energy) / PUMP_SOFT)
        near_top = torch.sigmoid((c - 0.8) / CATCH_SOFT)
        return near_top * catch + (1.0 - near_top) * pump

    class ChunkTeacher(torch.nn.Module):
        def forward(self, obs):
            th = torch.atan2(obs[:, 1:2], obs[:, 0:1])
            w = obs[:, 2:3]
            actions = []
            for _ in range(horizon):
                u = expert(th, w)
                actions.append(u)
                w = torch.clamp(w + (3.0 * G / 2.0 * torch.sin(th) + 3.0 * u) * DT, -MAX_SPEED, MAX_SPEED)
                th = th + w * DT
            return torch.stack(actions, dim=1)

    return ChunkTeacher().eval()


def no_velocity(name: str = "pendulum/no-velocity") -> Domain:
    gym = require("gymnasium", "sim", "for gym domains")
    base = gym_domain("Pendulum-v1")

    class NoVelocity(gym.ObservationWrapper):
        def __init__(self, env):
            super().__init__(env)
            self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

        def observation(self, obs):
            return np.asarray(obs[:2], dtype=np.float32)

    def make_env(seed: int, **options):
        env = NoVelocity(base.make_env(seed, **options))
        env.reset(seed=seed)
        return env

    return dataclasses.replace(
        base,
        id=name,
        description="gymnasium Pendulum-v1 observed without its angular velocity (cos, sin only): memory needed",
        make_env=make_env,
        reference=f"reference:{name}",
    )


def no_velocity_policy():
    """The hand-built recurrent swing-up policy (eval mode), rsl_rl's exported form."""
    torch = require("torch", "export", "to load reference policies")
    s, big = SQUASH, SATURATE

    gru = torch.nn.GRU(2, 4)
    with torch.no_grad():
        for p in gru.parameters():
            p.zero_()
        # gate order in weight_ih/hh and biases: reset r, update z, new n (4 units each)
        gru.bias_ih_l0[0:4] = big  # r = 1: the new gate sees the old state
        gru.bias_ih_l0[4:8] = -big  # z = 0: the state is replaced by n each step
        gru.weight_ih_l0[8:10, 0:2] = s * torch.eye(2)  # units 0,1: tanh(s * x_t)
        gru.weight_hh_l0[10:12, 0:2] = torch.eye(2)  # units 2,3: tanh(h_{t-1}[0:2]) = tanh(tanh(s * x_{t-1}))

    def atanh(x):  # ONNX's TorchScript exporter has no aten::atanh
        return 0.5 * torch.log((1.0 + x) / (1.0 - x))

    class Head(torch.nn.Module):
        def forward(self, y):
            now = atanh(y[:, 0:2]) / s
            before = atanh(atanh(y[:, 2:4])) / s
            c, sn, cp, sp = now[:, 0:1], now[:, 1:2], before[:, 0:1], before[:, 1:2]
            w = torch.asin(torch.clamp(sn * cp - c * sp, -1.0, 1.0)) / DT
            catch = -(10.0 * torch.asin(torch.clamp(sn, -1.0, 1.0)) + 2.0 * w)
            energy = 0.5 * w * w + 15.0 * c
            pump = torch.where(w.abs() > 1e-3, 2.0 * torch.sign(w * (15.0 - energy)), torch.full_like(w, 2.0))
            return torch.clamp(torch.where(c > 0.8, catch, pump), -2.0, 2.0)

    class Policy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = gru
            self.actor = Head()
            self.register_buffer("hidden_state", torch.zeros(1, 1, 4))

        def forward(self, obs):
            y, h = self.rnn(obs.unsqueeze(0), self.hidden_state)
            self.hidden_state[:] = h
            return self.actor(y.squeeze(0))

        def reset_memory(self):
            self.hidden_state[:] = 0.0

        def reset(self):
            self.reset_memory()

    return Policy().eval()
