"""torch backend: eager modules and TorchScript, from any policy source the exporter understands
(a TorchScript file, example:NAME, ...). The only backend that imports torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput, HardwareMissing, require
from edgeperf.runtime.session import IOSpec, Session, TensorSpec


class TorchSession(Session):
    backend = "torch"

    def __init__(self, path, device: str = "auto", threads: int | None = 1, obs_shape=None, module=None, **_):
        torch = require("torch", "export", "to run torch policies")
        from edgeperf.exporter import sources

        self._torch = torch
        if module is None:
            src = sources.load(str(path), obs_shape)
            module, obs_shape = src.module, src.obs_shape
        elif obs_shape is None:
            raise BadInput("a torch module needs obs_shape")
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
            out = self._module(torch.zeros(1, *obs_shape, device=self._device))
        self.io = IOSpec(
            inputs=(TensorSpec("obs", (None, *obs_shape), "float32"),),
            outputs=(TensorSpec("action", (None, *out.shape[1:]), str(out.dtype).replace("torch.", "")),),
            metadata={},
        )

    @classmethod
    def from_module(cls, module, obs_shape, name: str = "module", **options) -> TorchSession:
        return cls(name, module=module, obs_shape=tuple(obs_shape), **options)

    def prepare(self, obs):
        (x,) = super().prepare(obs).values()
        x = self._torch.from_numpy(x)
        # .to()/.cpu() are no-ops on the CPU that still cost ~0.8 us per control step together.
        return x.to(self._device) if self.on_gpu else x

    def infer(self, prepared) -> np.ndarray:
        with self._torch.inference_mode():
            out = self._module(prepared)
        return (out.cpu() if self.on_gpu else out).numpy()

    def close(self) -> None:
        self._module = None
