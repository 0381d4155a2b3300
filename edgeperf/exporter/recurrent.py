"""Recurrent policies (an LSTM or GRU memory) -> one explicit-state step the artifact computes:

    (obs, h_in[, c_in]) -> (action, h_out[, c_out])      state batch-first: [batch, layers, hidden]

Sources, each with the original's own stateful path kept as the parity reference (`Stepper`):

- TorchScript with memory buffers (the rsl_rl / legged_gym / Isaac Lab form: buffers `hidden_state` [and
  `cell_state`] of shape [layers, 1, hidden], submodules `rnn` (or `memory`), `actor` and optionally
  `normalizer`, `reset_memory()`/`reset()`): the step is rebuilt from those submodules, and checked against the
  module itself before export.
- A --factory module holding an nn.LSTM / nn.GRU whose forward is `forward(obs, state) -> (action, state)`,
  state in torch's own layout ([layers, batch, hidden]; (h, c) for an LSTM), zeros at an episode start.
- An ONNX file with state inputs and outputs (edgeperf's metadata names them, or --state IN:OUT,...).

torch is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeperf.errors import BadInput, require
from edgeperf.runtime.state import State

NAMES = {"lstm": (("h_in", "h_out"), ("c_in", "c_out")), "gru": (("h_in", "h_out"),)}
CHECK_STEPS = 16  # steps of the rebuilt step against the TorchScript module itself, before export
CHECK_TOL = 1e-5


@dataclass
class Recurrent:
    kind: str  # lstm | gru | onnx
    states: tuple[State, ...]
    form: str  # how the source carried its state, in words (for the report)
    stepper: Callable[[], Stepper]  # a fresh stateful runner of the original, zero state
    stateful: Any = None  # the original as a torch module forward(obs) -> action with reset() (the torch backend)

    @property
    def input_names(self) -> list[str]:
        return [s.input for s in self.states]

    @property
    def output_names(self) -> list[str]:
        return [s.output for s in self.states]

    def describe(self) -> dict:
        return {"kind": self.kind, "form": self.form, "state": [s.to_meta() for s in self.states]}


class Stepper:
    """The original policy, one observation batch a call, carrying its own state; reset() zeroes it."""

    def reset(self) -> None:
        raise NotImplementedError

    def step(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _rnn_info(torch, rnn) -> tuple[str, int, int, int]:
    """(kind, input size, hidden size, layers) of an nn.LSTM/GRU, eager or scripted (from its weights)."""
    name = getattr(rnn, "original_name", type(rnn).__name__).lower()
    if name not in NAMES:
        raise BadInput(f"the recurrent layer is a {name}; edgeperf exports LSTM and GRU memories")
    sd = rnn.state_dict()
    layers = sum(k.startswith("weight_hh_l") and not k.endswith("_reverse") for k in sd)
    if any(k.endswith("_reverse") for k in sd) or any("weight_hr" in k for k in sd):
        raise BadInput("bidirectional or projected LSTMs are not a control policy's memory; export supports plain ones")
    return name, int(sd["weight_ih_l0"].shape[1]), int(sd["weight_hh_l0"].shape[1]), layers


def _eager_rnn(torch, rnn):
    kind, n_in, hidden, layers = _rnn_info(torch, rnn)
    sd = rnn.state_dict()
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    out = cls(
        n_in, hidden, num_layers=layers, bias="bias_ih_l0" in sd, batch_first=bool(getattr(rnn, "batch_first", False))
    )
    out.load_state_dict(sd)
    return out.eval(), kind, hidden, layers


def _states(kind: str, layers: int, hidden: int) -> tuple[State, ...]:
    return tuple(State(i, o, (layers, hidden)) for i, o in NAMES[kind])


def _step_module(torch, kind: str, pre, rnn, head):
    """The explicit step over (normalizer, rnn, actor), batch-first state. from_buffers scripts it when the source
    is TorchScript: the submodules of a loaded TorchScript file can only be called from script."""

    class LSTMStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pre, self.rnn, self.head = pre, rnn, head

        def forward(self, obs, h_in, c_in):
            y, (h, c) = self.rnn(self.pre(obs).unsqueeze(0), (h_in.transpose(0, 1), c_in.transpose(0, 1)))
            return self.head(y.squeeze(0)), h.transpose(0, 1), c.transpose(0, 1)

    class GRUStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pre, self.rnn, self.head = pre, rnn, head

        def forward(self, obs, h_in):
            y, h = self.rnn(self.pre(obs).unsqueeze(0), h_in.transpose(0, 1))
            return self.head(y.squeeze(0)), h.transpose(0, 1)

    return (LSTMStep if kind == "lstm" else GRUStep)().eval()


# -- TorchScript with memory buffers (rsl_rl) ---------------------------------------------------------------


def has_memory_buffers(module) -> bool:
    buffers = dict(module.named_buffers(recurse=False))
    return "hidden_state" in buffers and (hasattr(module, "reset_memory") or hasattr(module, "reset"))


def _reset_buffers(module) -> None:
    if hasattr(module, "reset_memory"):
        module.reset_memory()
    else:
        module.reset()


class _BufferStepper(Stepper):
    def __init__(self, module):
        self.torch = require("torch", "export")
        self.module = module

    def reset(self) -> None:
        _reset_buffers(self.module)

    def step(self, obs):
        with self.torch.no_grad():
            return self.module(self.torch.from_numpy(np.ascontiguousarray(obs, np.float32))).numpy()


def from_buffers(module, obs_shape: tuple[int, ...], name: str):
    """(explicit step module, Recurrent, action shape) for an rsl_rl-form module; BadInput when it is not one."""
    torch = require("torch", "export")
    rnn = next((getattr(module, n) for n in ("rnn", "memory") if hasattr(module, n)), None)
    head = getattr(module, "actor", None)
    if rnn is None or head is None:
        raise BadInput(
            f"{name} keeps a recurrent memory in buffers (hidden_state), but has no 'rnn'/'memory' and 'actor' "
            "submodules (the rsl_rl exporter's form); export it from its Python code with --factory instead"
        )
    eager, kind, hidden, layers = _eager_rnn(torch, rnn)
    pre = getattr(module, "normalizer", None) or torch.nn.Identity()
    step = _step_module(torch, kind, pre, eager, head)
    if isinstance(module, torch.jit.ScriptModule):
        try:
            step = torch.jit.script(step)
        except Exception as exc:
            last = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BadInput(
                f"{name}: its memory could not be rebuilt as an explicit step in TorchScript: {last}"
            ) from None
    states = _states(kind, layers, hidden)
    rec = Recurrent(
        kind,
        states,
        "TorchScript memory buffers (hidden_state/cell_state, reset_memory(): the rsl_rl exporter's form)",
        lambda: _BufferStepper(module),
        module,
    )
    action_shape = _check_against(step, _BufferStepper(module), states, obs_shape, name)
    return step, rec, action_shape


def _check_against(step, original: Stepper, states, obs_shape, name) -> tuple[int, ...]:
    """The rebuilt step must act as the original over a few steps of carried state: else the module's forward
    is not normalizer -> rnn -> actor and exporting the rebuilt one would be a different policy."""
    torch = require("torch", "export")
    rng = np.random.default_rng(0)
    original.reset()
    state = [torch.zeros(1, *s.shape) for s in states]
    worst = 0.0
    try:
        for _ in range(CHECK_STEPS):
            x = rng.standard_normal((1, *obs_shape)).astype(np.float32)
            want = original.step(x)
            with torch.no_grad():
                out = step(torch.from_numpy(x), *state)
            got, state = out[0].numpy(), list(out[1:])
            worst = max(worst, float(np.abs(got - want).max()))
    except BadInput:
        raise
    except Exception as exc:
        last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise BadInput(
            f"{name}: its memory could not be stepped on observations of shape {list(obs_shape)}: {last}"
        ) from None
    finally:
        original.reset()
    if not worst <= CHECK_TOL:
        raise BadInput(
            f"{name}: rebuilt as normalizer -> rnn -> actor with explicit state it differs from the module itself by "
            f"{worst:.3g} over {CHECK_STEPS} steps, so its forward does more; export it from its Python code with "
            "--factory (forward(obs, state) -> (action, state))"
        )
    return tuple(got.shape[1:])


# -- a factory module with an nn.LSTM / nn.GRU ---------------------------------------------------------------


def rnn_of(module):
    """The one nn.LSTM/nn.GRU inside an eager module, or None; BadInput for several."""
    torch = require("torch", "export")
    found = [m for m in module.modules() if isinstance(m, (torch.nn.LSTM, torch.nn.GRU))]
    if len(found) > 1:
        raise BadInput(f"the policy holds {len(found)} recurrent layers; edgeperf exports policies with one memory")
    return found[0] if found else None


class _FactoryStep:
    """forward(obs, h_in[, c_in]) over a user module's forward(obs, state) -> (action, state)."""

    @staticmethod
    def build(torch, module, kind: str):
        class LSTMWrap(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.policy = module

            def forward(self, obs, h_in, c_in):
                action, (h, c) = self.policy(obs, (h_in.transpose(0, 1), c_in.transpose(0, 1)))
                return action, h.transpose(0, 1), c.transpose(0, 1)

        class GRUWrap(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.policy = module

            def forward(self, obs, h_in):
                action, h = self.policy(obs, h_in.transpose(0, 1))
                return action, h.transpose(0, 1)

        return (LSTMWrap if kind == "lstm" else GRUWrap)().eval()


class _ExplicitStepper(Stepper):
    """The explicit step module itself, state carried here (batch-first)."""

    def __init__(self, step, states):
        self.torch = require("torch", "export")
        self.step_module, self.states = step, states
        self.state = None

    def reset(self) -> None:
        self.state = None

    def step(self, obs):
        torch = self.torch
        x = torch.from_numpy(np.ascontiguousarray(obs, np.float32))
        if self.state is None:
            self.state = [torch.zeros(x.shape[0], *s.shape) for s in self.states]
        with torch.no_grad():
            out = self.step_module(x, *self.state)
        self.state = list(out[1:])
        return out[0].numpy()


def _carrying(torch, step, states):
    """The explicit step as a module that carries its own state (forward(obs) -> action, reset())."""

    class Carry(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.step = step
            self.memory = None

        def forward(self, obs):
            if self.memory is None or self.memory[0].shape[0] != obs.shape[0]:
                self.memory = [torch.zeros(obs.shape[0], *s.shape, device=obs.device) for s in states]
            out = self.step(obs, *self.memory)
            self.memory = list(out[1:])
            return out[0]

        def reset(self):
            self.memory = None

    return Carry().eval()


def from_factory(module, obs_shape: tuple[int, ...], name: str):
    """(explicit step module, Recurrent, action shape) for an eager module with one LSTM/GRU; None when it has
    none. A module in the rsl_rl buffer form goes through from_buffers."""
    torch = require("torch", "export")
    if has_memory_buffers(module):
        return from_buffers(module, obs_shape, name)
    rnn = rnn_of(module)
    if rnn is None:
        return None
    kind, _, hidden, layers = _rnn_info(torch, rnn)
    step = _FactoryStep.build(torch, module, kind)
    states = _states(kind, layers, hidden)
    try:
        with torch.no_grad():
            out = step(torch.zeros(1, *obs_shape), *(torch.zeros(1, *s.shape) for s in states))
    except Exception as exc:
        last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        state = "(h, c)" if kind == "lstm" else "h"
        raise BadInput(
            f"{name} holds an nn.{kind.upper()}, so edgeperf calls it as forward(obs, state) -> (action, state) "
            f"with state {state} of shape [layers, batch, hidden] (zeros at an episode start); that failed: {last}"
        ) from None
    rec = Recurrent(
        kind,
        states,
        f"factory module with an nn.{kind.upper()}: forward(obs, state) -> (action, state)",
        lambda: _ExplicitStepper(step, states),
        _carrying(torch, step, states),
    )
    return step, rec, tuple(out[0].shape[1:])


# -- an ONNX file with state inputs --------------------------------------------------------------------------


class _OnnxStepper(Stepper):
    def __init__(self, path, obs_name: str, states):
        ort = require("onnxruntime", "ort", "to run ONNX models")
        self.sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.obs_name, self.states = obs_name, states
        self.outs = [o.name for o in self.sess.get_outputs()]
        self.state = None

    def reset(self) -> None:
        self.state = None

    def step(self, obs):
        x = np.ascontiguousarray(obs, np.float32)
        if self.state is None:
            self.state = {s.input: s.zeros(x.shape[0]) for s in self.states}
        got = dict(zip(self.outs, self.sess.run(None, {self.obs_name: x, **self.state}), strict=True))
        self.state = {s.input: got[s.output] for s in self.states}
        return got[self.outs[0]]


def from_onnx(path, obs_name: str, states: list[State]) -> Recurrent:
    return Recurrent(
        "onnx", tuple(states), "ONNX state inputs and outputs", lambda: _OnnxStepper(path, obs_name, states)
    )


# -- parity over sequences ------------------------------------------------------------------------------------
