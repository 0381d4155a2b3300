"""torch backend: TorchScript files, or a module built elsewhere (`TorchSession.from_module`: the pipeline builds
example:, reference:, factory and SB3 policies through the exporter's loaders). The only backend that imports
torch; it never unpickles: torch.jit.load reads TorchScript archives with its own restricted unpickler."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput, HardwareMissing, require
from edgeperf.runtime.session import IOSpec, Session, TensorSpec
from edgeperf.runtime.state import State


def load_torchscript(path: Path):
    torch = require("torch", "export", "to run TorchScript policies")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.9+ deprecates TorchScript; users ship it
            return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BadInput(
            f"{path} is not a loadable TorchScript module ({first[:200]}); a .pt here must be a torch.jit.save() "
            "file: export a state_dict with --factory, or a Stable-Baselines3 model as a .zip"
        ) from None


def infer_obs_shape(module) -> tuple[int, ...]:
    """The observation size from the first 2-D weight (an MLP's first Linear)."""
    first = next((p for p in module.parameters() if p.dim() == 2), None)
    if first is None:
        raise BadInput("cannot tell this policy's observation shape; pass --obs-shape N")
    return (int(first.shape[1]),)


class TorchSession(Session):
    backend = "torch"

    def __init__(
        self, path, device: str = "auto", threads: int | None = 1, obs_shape=None, module=None, inputs=None, **_
    ):
        """inputs: [(name, shape, dtype)] of a module of several named inputs (a Dict observation), taken as
        positional arguments in that order; else one float32 input of obs_shape."""
        torch = require("torch", "export", "to run torch policies")
        self._torch = torch
        if module is None:
            module = load_torchscript(Path(path))
            obs_shape = tuple(obs_shape) if obs_shape else infer_obs_shape(module)
        elif obs_shape is None and not inputs:
            raise BadInput("a torch module needs obs_shape")
        specs = [(n, tuple(s), d) for n, s, d in inputs] if inputs else [("obs", tuple(obs_shape), "float32")]
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise HardwareMissing(
                "torch here has no CUDA device; use --accelerator cpu or install a CUDA build of torch"
            )
        if threads:
            torch.set_num_threads(threads)
        self.path = Path(str(path))
        self._device = torch.device(device)
        self.on_gpu = device != "cpu"
        self._module = module.to(self._device).eval()
        self.mode = "torchscript" if isinstance(module, torch.jit.ScriptModule) else "eager"
        self.options = {"threads": threads, "mode": self.mode, "device": device}
        with torch.inference_mode():
            zeros = [torch.zeros(1, *s, dtype=getattr(torch, d), device=self._device) for _, s, d in specs]
            try:
                raw = self._module(*zeros)
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
                shapes = {n: [1, *s] for n, s, _ in specs} if inputs else [1, *obs_shape]
                raise BadInput(
                    f"{self.path.name} does not run on observations of shape {shapes}: {first[:200]}"
                ) from None
        self.reset()  # the probe above advanced a stateful module's memory: start from zeros
        outs = self._as_list(raw)
        odd = next((o for o in outs if not isinstance(o, torch.Tensor)), None)
        if odd is not None or not outs:
            raise BadInput(
                f"{self.path.name} returns {type(odd).__name__ if outs else 'nothing'} among its outputs; a policy "
                "returns tensors: one, a tuple of them, or a dict of them by name"
            )
        names = self._names(raw, len(outs))
        self.io = IOSpec(
            inputs=tuple(TensorSpec(n, (None, *s), d) for n, s, d in specs),
            outputs=tuple(
                TensorSpec(n, (None, *o.shape[1:]), str(o.dtype).replace("torch.", ""))
                for n, o in zip(names, outs, strict=True)
            ),
            metadata={},
            state=self._buffer_state(module),
        )

    @staticmethod
    def _buffer_state(module) -> tuple:
        """The memory a module keeps in buffers (hidden_state/cell_state), described like an artifact's state;
        this backend carries it inside the module."""

        if not (hasattr(module, "reset_memory") or hasattr(module, "reset")):
            return ()
        buffers = dict(module.named_buffers(recurse=False))
        return tuple(
            State(name, name, tuple(buffers[name].shape), "float32", None)
            for name in ("hidden_state", "cell_state")
            if name in buffers
        )

    @classmethod
    def from_module(cls, module, obs_shape, name: str = "module", **options) -> TorchSession:
        return cls(name, module=module, obs_shape=tuple(obs_shape) if obs_shape is not None else None, **options)

    @staticmethod
    def _as_list(out) -> list:
        if isinstance(out, dict):  # outputs by name: in the module's order
            return list(out.values())
        return list(out) if isinstance(out, (tuple, list)) else [out]

    @staticmethod
    def _names(out, n: int) -> list[str]:
        """The module's own names for its outputs (a dict's keys, a namedtuple's fields); for bare tensors the
        exporter's convention: the action first (and a discrete policy's logits)."""
        if isinstance(out, dict):
            return [str(k) for k in out]
        if isinstance(out, tuple) and hasattr(out, "_fields"):
            return list(out._fields)
        return ["action", "logits"] if n == 2 else [f"output{i}" if i else "action" for i in range(n)]

    def prepare(self, obs):
        xs = [self._torch.from_numpy(x) for x in super().prepare(obs).values()]
        # .to()/.cpu() are no-ops on the CPU that still cost ~0.8 us per control step together.
        if self.on_gpu:
            xs = [x.to(self._device) for x in xs]
        return xs[0] if len(xs) == 1 else tuple(xs)  # a tuple: several inputs, positional in io.inputs order

    def _call(self, prepared):
        return self._module(*prepared) if isinstance(prepared, tuple) else self._module(prepared)

    def infer(self, prepared) -> np.ndarray:
        with self._torch.inference_mode():
            out = self._call(prepared)
        out = self._as_list(out)[0]
        return (out.cpu() if self.on_gpu else out).numpy()

    def infer_all(self, prepared) -> list[np.ndarray]:
        with self._torch.inference_mode():
            return [o.cpu().numpy() for o in self._as_list(self._call(prepared))]

    def reset(self) -> None:
        """A module that keeps its memory in buffers (rsl_rl's exported form) zeroes it per episode."""
        for name in ("reset_memory", "reset"):
            if hasattr(self._module, name):
                getattr(self._module, name)()
                return

    def close(self) -> None:
        self._module = None
