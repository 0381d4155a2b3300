"""Recurrent state across calls: a policy with memory (an LSTM/GRU) as an artifact whose state is explicit
tensors, `h_in`/`c_in` fed with what `h_out`/`c_out` returned one step before, zeros at an episode start.

The artifact's metadata (`edgeperf.state`, see edgeperf/artifact.py) says which inputs are state and which
output feeds each back. `bind` wraps any backend's Session in a `StatefulSession` that keeps the state between
calls and zeroes it on `reset()`, so profilers and domains drive a recurrent policy exactly like a stateless
one: `run(obs) -> action`. An ONNX file from elsewhere (rsl_rl's `export_policy_as_onnx`) carries no such
metadata: name its state with `state={"h_in": "h_out", ...}` (CLI: `--state h_in:h_out,c_in:c_out`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput
from edgeperf.runtime.obsdict import ACTION_MASK
from edgeperf.runtime.session import IOSpec, Session, TensorSpec

STATE_HINT = "--state h_in:h_out,c_in:c_out (each state input and the output that feeds it back)"
# Input names that say "recurrent state" in the exporters people use (rsl_rl, Isaac Lab, hand-written ones).
# Not a bare "state": LeRobot and many robot stacks call the proprioceptive observation that.
_STATE_NAME = re.compile(
    r"(^|[_.])((h|c|hx|cx|h0|c0|hidden|cell|memory|mem|rnn|lstm|gru)([_.]?(in|state|states|\d+))?|states?[_.]in)$",
    re.I,
)


@dataclass(frozen=True)
class State:
    input: str
    output: str
    shape: tuple[int, ...]  # without the batch axis; the whole fixed shape when batch_axis is None
    dtype: str = "float32"
    batch_axis: int | None = 0

    def zeros(self, batch: int) -> np.ndarray:
        if self.batch_axis is None:
            return np.zeros(self.shape, self.dtype)
        shape = list(self.shape)
        shape.insert(self.batch_axis, batch)
        return np.zeros(shape, self.dtype)

    def to_meta(self) -> dict:
        return {
            "input": self.input,
            "output": self.output,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "batch_axis": self.batch_axis,
            "initial": "zeros",
        }

    @classmethod
    def from_meta(cls, d: dict) -> State:
        return cls(d["input"], d["output"], tuple(d["shape"]), d.get("dtype", "float32"), d.get("batch_axis", 0))


def parse_pairs(text) -> dict[str, str] | None:
    """`h_in:h_out,c_in:c_out` (or a dict) -> {state input: state output}; None for none."""
    if text is None or text == "":
        return None
    if isinstance(text, dict):
        return {str(k): str(v) for k, v in text.items()}
    pairs = {}
    for item in str(text).split(","):
        inp, sep, out = item.strip().partition(":")
        if not sep or not inp.strip() or not out.strip():
            raise BadInput(f"--state {text!r}: write each state input and its output as IN:OUT, e.g. {STATE_HINT}")
        pairs[inp.strip()] = out.strip()
    return pairs


def states_for(inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...], pairs: dict, model: str) -> list[State]:
    """The State of each named pair, checked against the model's own inputs and outputs."""
    ins, outs = {s.name: s for s in inputs}, {s.name: s for s in outputs}
    found = []
    for i, o in pairs.items():
        if i not in ins:
            raise BadInput(f"--state names input '{i}', but {model} has inputs {list(ins)}")
        if o not in outs:
            raise BadInput(f"--state names output '{o}' for '{i}', but {model} has outputs {list(outs)}")
        shape_in, shape_out = ins[i].shape, outs[o].shape
        if len(shape_in) != len(shape_out) or any(
            isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(shape_in, shape_out, strict=True)
        ):
            raise BadInput(
                f"{model}: state input '{i}' has shape {list(shape_in)} but output '{o}' has {list(shape_out)}; "
                "an output that feeds a state back has the state's shape"
            )
        dynamic = [k for k, d in enumerate(shape_in) if not isinstance(d, int) or d < 0]
        if len(dynamic) > 1:
            raise BadInput(f"{model}: state input '{i}' has several dynamic axes {list(shape_in)}; at most the batch")
        if dynamic:
            axis = dynamic[0]
            shape = tuple(d for k, d in enumerate(shape_in) if k != axis)
            found.append(State(i, o, shape, ins[i].dtype, axis))
        else:
            found.append(State(i, o, tuple(shape_in), ins[i].dtype, None))
    if len(found) == len(inputs):
        raise BadInput(f"{model}: --state names every input as state; the observation input must be left")
    return found


def guess(io: IOSpec) -> list[str]:
    """Inputs that look like recurrent state: a recurrent name (h_in, c_in, hidden_state, memory, ...) or the
    shape of an output other than the first (the action). A model with one output returns no state, so none of its
    inputs is (several inputs are then observations: an image beside a vector). Used to refuse a model whose state
    nobody named."""
    if len(io.inputs) < 2 or len(io.outputs) < 2:
        return []
    shapes = {tuple(o.shape) for o in io.outputs[1:]}
    # Inputs the metadata names as observation keys (a Dict observation), and an action mask (the logits' shape,
    # read from the env), are never fed back.
    space = io.metadata.get("obs_space")
    observed = {ACTION_MASK, *((space.get("spaces") or {}) if isinstance(space, dict) else {})}
    return [
        s.name
        for s in io.inputs[1:]
        if s.name not in observed and (_STATE_NAME.search(s.name) or tuple(s.shape) in shapes)
    ]


def refuse_unnamed(io: IOSpec, model: str, named: list[State] = ()) -> None:
    """BadInput when inputs look like recurrent state that neither the metadata nor --state names: which ones,
    and the option that names them."""
    taken_in, taken_out = {s.input for s in named}, {s.output for s in named}
    rest = IOSpec(
        tuple(s for s in io.inputs if s.name not in taken_in),
        tuple(s for s in io.outputs if s.name not in taken_out),
        io.metadata,
    )
    looks = guess(rest)
    if not looks:
        return
    outs = [o.name for o in rest.outputs[1:]]
    pairs = [*(f"{s.input}:{s.output}" for s in named), *(f"{i}:{o}" for i, o in zip(looks, outs, strict=False))]
    raise BadInput(
        f"{model} has inputs {looks} that look like recurrent state (outputs {outs}), but "
        + ("--state does not name them" if named else "no metadata says which output feeds each back")
        + f": name every state input with {STATE_HINT}, e.g. edgeperf export {model} -o policy.onnx --state "
        + ",".join(pairs)
    )


def bind(session: Session, pairs: dict | None) -> Session:
    """`session` as it is (stateless), or wrapped to carry the state the metadata or `pairs` name."""
    meta = session.io.metadata.get("state")
    model = Path(str(session.path)).name
    try:
        if pairs:
            states = states_for(session.io.inputs, session.io.outputs, pairs, model)
        elif meta:
            states = [State.from_meta(d) for d in meta]
            names_in = {s.name for s in session.io.inputs}
            names_out = {s.name for s in session.io.outputs}
            bad = [s.input for s in states if s.input not in names_in] + [
                s.output for s in states if s.output not in names_out
            ]
            if bad:
                raise BadInput(f"{model}: its edgeperf.state metadata names {bad}, which the model lacks; re-export it")
        else:
            refuse_unnamed(session.io, model)
            return session
        refuse_unnamed(session.io, model, states)
    except BaseException:
        session.close()
        raise
    return StatefulSession(session, states)


class StatefulSession(Session):
    """A backend's Session that feeds the state back between calls. `io` lists the observation inputs and the
    non-state outputs (what a stateless caller sees) and the state under `io.state`."""

    def __init__(self, inner: Session, states: list[State]):
        self.inner = inner
        self.backend, self.on_gpu, self.max_batch = inner.backend, inner.on_gpu, inner.max_batch
        self.path = inner.path
        self.options = getattr(inner, "options", {})
        by_in = {s.input: s for s in states}
        by_out = {s.output: s for s in states}
        self._order = [s.name for s in inner.io.inputs]  # the model's input order (OpenVINO feeds by position)
        obs_inputs = tuple(s for s in inner.io.inputs if s.name not in by_in)
        out_names = [s.name for s in inner.io.outputs]
        self._action = next(k for k, n in enumerate(out_names) if n not in by_out)
        # (position in the model's outputs, state input it feeds)
        self._feedback = [(out_names.index(s.output), s.input) for s in states]
        self._kept = [k for k, n in enumerate(out_names) if n not in by_out]
        meta = dict(inner.io.metadata)
        meta.setdefault("state", [s.to_meta() for s in states])
        self.io = IOSpec(obs_inputs, tuple(inner.io.outputs[k] for k in self._kept), meta, tuple(states))
        self._states = states
        self._state: dict[str, np.ndarray] | None = None
        self._batch = 0

    @property
    def state(self) -> dict[str, np.ndarray] | None:
        """The state the next call is fed (None right after reset: zeros then)."""
        return None if self._state is None else {k: v.copy() for k, v in self._state.items()}

    def reset(self) -> None:
        self._state = None
        self.inner.reset()

    def _feed(self, prepared: dict) -> dict:
        state = self._state
        if state is None:
            batch = next(iter(prepared.values())).shape[0]
            state = self._state = {s.input: s.zeros(batch) for s in self._states}
            self._batch = batch
        elif next(iter(prepared.values())).shape[0] != self._batch:
            raise BadInput(
                f"{Path(str(self.path)).name} carries recurrent state for a batch of {self._batch}; call reset() "
                "before feeding another batch size"
            )
        return {n: state[n] if n in state else prepared[n] for n in self._order}

    def infer(self, prepared) -> np.ndarray:
        outs = self.inner.infer_all(self._feed(prepared))
        state = self._state
        for k, name in self._feedback:
            state[name] = outs[k]
        return outs[self._action]

    def infer_all(self, prepared) -> list[np.ndarray]:
        outs = self.inner.infer_all(self._feed(prepared))
        for k, name in self._feedback:
            self._state[name] = outs[k]
        return [outs[k] for k in self._kept]

    def close(self) -> None:
        self.inner.close()
