"""Pickles read without running code: a restricted unpickler for the statistics files edgeperf reads.

Python's pickle calls whatever callable the file names; this one resolves names only from an allowlist:
numpy's array and scalar reconstructors (numpy's own functions, which build arrays from bytes), and plain
stand-ins for the classes whose *attributes* we want (SB3's VecNormalize and RunningMeanStd, and the gym or
gymnasium spaces and numpy random generators a VecNormalize pickle carries along): a stand-in records the state
pickle hands it and runs nothing. Anything else is refused with the name it asked for.
"""

from __future__ import annotations

import collections
import copyreg
import io
import pickle

from edgeperf.errors import BadInput

MAX_BYTES = 256 * 2**20
NUMPY = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}
# Classes whose instances become inert stand-ins: (module prefix, class name or None for any)
STAND_INS = (
    ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"),
    ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
    ("gymnasium.spaces.", None),
    ("gym.spaces.", None),
    ("numpy.random.", None),
)


class StandIn:
    """An object pickle built from an allowlisted class: its state, and nothing else."""

    def __init__(self, *args, **kwargs):
        self._args = args

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}  # (dict, slots)
        self.__dict__.update(state if isinstance(state, dict) else {"_state": state})

    def __call__(self, *args, **kwargs):  # numpy's random-generator constructors are called: build a stand-in
        return StandIn(*args)


def _stand_in(module: str, name: str) -> type:
    return type(name, (StandIn,), {"__module__": f"edgeperf.standin.{module}"})


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, what: str):
        super().__init__(f)
        self.what = what

    def find_class(self, module: str, name: str):
        if (module, name) in NUMPY:
            return super().find_class(module, name)
        if (module, name) in (("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor")):
            return copyreg._reconstructor
        if (module, name) in (("builtins", "object"), ("__builtin__", "object")):
            return object
        if (module, name) == ("collections", "OrderedDict"):  # a Dict space's subspaces: a plain mapping
            return collections.OrderedDict
        for prefix, cls in STAND_INS:
            if module.startswith(prefix) and (cls is None or cls == name):
                return _stand_in(module, name)
        raise BadInput(f"{self.what} asks for {module}.{name}, which edgeperf does not unpickle (only numpy arrays "
                       "and the plain attributes of SB3's VecNormalize and RunningMeanStd)")  # fmt: skip


def load(data: bytes, what: str):
    """The object in `data`, built from the allowlist only; BadInput naming what else it asked for."""
    if len(data) > MAX_BYTES:
        raise BadInput(f"{what} is {len(data) / 2**20:.0f} MiB: too large for the statistics edgeperf reads")
    try:
        return _Unpickler(io.BytesIO(data), what).load()
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(f"{what} is not a pickle edgeperf can read: {type(exc).__name__}: {exc}") from None
