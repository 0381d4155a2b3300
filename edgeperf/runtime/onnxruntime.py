"""onnxruntime backend. Defaults are tuned for single-observation control-loop latency: one intra-op thread
(a thread pool only adds hand-off cost on a policy-sized graph), sequential execution, all graph optimisations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeperf import artifact
from edgeperf.errors import BadInput, HardwareMissing, require
from edgeperf.runtime.session import IOSpec, Session, TensorSpec

# ONNX tensor type strings -> numpy dtypes
_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}
DEVICE_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def _ort():
    # On a Jetson the right build is NVIDIA's onnxruntime-gpu wheel, never PyPI's CPU one beside it.
    return require("onnxruntime", "ort", "to run ONNX models")


class OnnxRuntimeSession(Session):
    backend = "onnxruntime"

    def __init__(
        self,
        path: Path,
        device: str = "auto",
        threads: int | None = 1,
        spinning: bool = True,
        optimization: str = "all",
    ):
        ort = _ort()
        self.path = Path(path)
        auto = device == "auto"
        if auto:
            # CUDA when this onnxruntime build has it; the TensorRT EP is opt-in (its engine build makes the
            # cold start minutes long).
            device = "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"
        if device not in DEVICE_PROVIDERS:
            raise BadInput(f"unknown onnxruntime device '{device}'; choose one of {', '.join(DEVICE_PROVIDERS)}")
        wanted = DEVICE_PROVIDERS[device]
        if wanted[0] not in ort.get_available_providers():
            raise HardwareMissing(
                f"onnxruntime here has no {wanted[0]} (it offers {', '.join(ort.get_available_providers())}); "
                "install onnxruntime-gpu on a machine with an NVIDIA GPU, or use --accelerator cpu"
            )
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        so.graph_optimization_level = {
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        }[optimization]
        try:
            self._sess = ort.InferenceSession(str(self.path), so, providers=wanted)
        except Exception as exc:  # InvalidProtobuf, Fail, NoSuchFile, InvalidGraph: all mean "not a usable model"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BadInput(f"{self.path} is not a valid ONNX model onnxruntime can load: {first}") from None
        if self._sess.get_providers()[0] != wanted[0]:
            # onnxruntime falls back to CPU silently when CUDA/cuDNN/TensorRT fail to load.
            if not auto:
                raise HardwareMissing(
                    f"onnxruntime could not start {wanted[0]} here (it fell back to "
                    f"{self._sess.get_providers()[0]}): check the CUDA/cuDNN libraries, or use --accelerator cpu"
                )
            device = "cpu"
        self.on_gpu = device != "cpu"
        meta = self._sess.get_modelmeta()
        self.io = IOSpec(
            inputs=tuple(_spec(i) for i in self._sess.get_inputs()),
            outputs=tuple(_spec(o) for o in self._sess.get_outputs()),
            metadata=artifact.decode(dict(meta.custom_metadata_map or {}), str(self.path)),
        )
        self._out_names = [o.name for o in self.io.outputs]
        self._action = self._out_names[:1]
        batch = self.io.inputs[0].shape[0] if self.io.inputs else None
        self.max_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.options = {
            "device": device,
            "threads": threads,
            "spinning": spinning,
            "optimization": optimization,
            "providers": self._sess.get_providers(),
        }
        # The binding under InferenceSession.run (a private attribute: the public run where it is absent).
        self._run = getattr(self._sess, "_sess", self._sess).run

    def infer(self, prepared) -> np.ndarray:
        # The binding under InferenceSession.run, the lean path on CPU (IO binding and run_with_ort_values
        # cost ~4x more per call on a policy-sized graph): the wrapper only re-checks the input names, which
        # prepare() did, and on a CUDA/TensorRT failure silently retries on CPU, which edgeperf refuses
        # anyway. 0.4 us per call of a 9 us policy (scripts/bench_backends.py).
        return self._run(self._action, prepared, None)[0]

    def infer_all(self, prepared) -> list[np.ndarray]:
        # The binding too (see infer): a recurrent policy's every step fetches all outputs (its state).
        return self._run(self._out_names, prepared, None)

    def close(self) -> None:
        self._sess = self._run = None


def _spec(node) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) else (d or None) for d in node.shape)
    return TensorSpec(node.name, shape, _DTYPES.get(node.type, "float32"))
