"""Recurrent state across calls: a policy with memory (an LSTM/GRU) as an artifact whose state is explicit
tensors, `h_in`/`c_in` fed with what `h_out`/`c_out` returned one step before, zeros at an episode start.

The artifact's metadata (`edgeperf.state`, see edgeperf/artifact.py) says which inputs are state and which
output feeds each back. session.bind wraps any backend's Session in a `StatefulSession` that keeps the state
between calls and zeroes it on `reset()`, so profilers and domains drive a recurrent policy exactly like a stateless
one: `run(obs) -> action`. An ONNX file from elsewhere (rsl_rl's `export_policy_as_onnx`) carries no such
metadata: name its state with `state={"h_in": "h_out", ...}` (CLI: `--state h_in:h_out,c_in:c_out`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from edgeperf.errors import BadInput
from edgeperf.runtime.obsdict import ACTION_MASK
from edgeperf.runtime.spec import IOSpec, TensorSpec

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
