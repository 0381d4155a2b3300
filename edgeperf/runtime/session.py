"""The Session contract: every backend looks the same from outside, so profilers and domains never
special-case one.

    with Session.open("policy.onnx", backend="auto") as s:
        action = s.run(obs)          # one observation (no batch axis) or a batch; numpy in, numpy out
        outputs = s.run_all(obs)     # every output by name: {"action": ..., "logits": ...}
        s.reset()                    # at an episode start (stateful policies drop their state)

`prepare(obs)` validates and converts an observation once; `infer(prepared)` is the lean hot path that the
profiler times (the action only); `infer_all(prepared)` returns every output in `io.outputs` order. A backend
implements `infer_all`, and `infer` where fetching only the action is cheaper.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from edgeperf import artifact
from edgeperf.errors import BadInput, EdgeperfError
from edgeperf.runtime import obsdict
from edgeperf.runtime.spec import IOSpec, TensorSpec
from edgeperf.runtime.state import State, parse_pairs, refuse_unnamed, states_for

# backend name -> "module:Class"; a backend's stack is imported only when it is opened.
BACKENDS = {
    "onnxruntime": "edgeperf.runtime.onnxruntime:OnnxRuntimeSession",
    "openvino": "edgeperf.runtime.openvino:OpenVinoSession",
    "torch": "edgeperf.runtime.torch:TorchSession",
    "tensorrt": "edgeperf.runtime.tensorrt:TensorRTSession",
}


class Session:
    """One policy loaded on one backend, the same from outside whatever the backend (the contract above).

    Examples:
        >>> import numpy as np
        >>> import edgeperf
        >>> _ = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> with edgeperf.Session.open("policy.onnx", backend="onnxruntime", device="cpu") as s:
        ...     action = s.run(np.zeros(47, dtype=np.float32))
        ...     batch = s.run(np.zeros((4, 47), dtype=np.float32))
        ...     s.reset()
        >>> s.backend, action.shape, batch.shape
        ('onnxruntime', (12,), (4, 12))
    """

    backend = ""
    on_gpu = False
    max_batch: int | None = None  # the most observations one call takes (a fixed batch, an engine profile)
    io: IOSpec
    path: Path

    @staticmethod
    def open(artifact_path: str | Path, backend: str = "auto", device: str = "auto", **options) -> Session:
        """Open an artifact on `backend` (auto: by its file type, see edgeperf.artifact) and `device` (auto:
        the backend's accelerator when it has one here, else cpu). Nothing is unpickled: a torch file must be
        TorchScript; policies that need unpickling (SB3 .zip) open through edgeperf.pipeline.open_policy.

        Args:
            artifact_path: The artifact: .onnx, OpenVINO .xml, TensorRT .engine/.plan or TorchScript .pt.
            backend: auto, onnxruntime, openvino, tensorrt or torch.
            device: auto, cpu, or the backend's accelerator (cuda, GPU, NPU, ...).
            **options (Any): `state` (a recurrent artifact's state input/output pairs, `in=out,...`) and the
                backend's own options (threads, ...).

        Returns:
            The open Session; use it as a context manager, or call `close()`.

        Raises:
            BadInput: An unknown backend, a policy source instead of an artifact, or a file that is not a model.
            DependencyMissing: The backend's package is not installed (exit code 3).
        """
        if backend != "auto" and backend not in BACKENDS:
            raise BadInput(f"unknown backend '{backend}'; available: auto, {', '.join(BACKENDS)}")
        if artifact.is_pseudo(artifact_path):
            raise BadInput(
                f"{artifact_path} is a policy source, not an artifact: export it first, or open it with "
                "edgeperf.pipeline.open_policy"
            )
        path = Path(artifact_path)
        check_model_file(path)
        name = artifact.backend_for(path, backend)
        module, _, cls = BACKENDS[name].partition(":")
        pairs = parse_pairs(options.pop("state", None))
        session = getattr(importlib.import_module(module), cls)(path, device=device, **options)
        return bind(session, pairs)

    # -- the contract every backend implements --------------------------------------------------------
    def prepare(self, obs: Any) -> Any:
        """Validate and convert once: {input name: contiguous batch array}. Backends that feed other types
        (torch tensors) convert this further."""
        inputs = self.io.inputs
        if isinstance(obs, dict):
            missing = [s.name for s in inputs if s.name not in obs]
            if missing:
                raise BadInput(missing_keys(missing, [s.name for s in inputs], list(obs), self.path))
            return {s.name: as_batch(obs[s.name], s, self.path) for s in inputs}
        if len(inputs) != 1:
            names = [s.name for s in inputs]
            raise BadInput(f"{Path(str(self.path)).name} has inputs {names}; pass a dict with one array each")
        return {inputs[0].name: as_batch(obs, inputs[0], self.path)}

    def infer_all(self, prepared: Any) -> list[np.ndarray]:
        raise NotImplementedError

    def infer(self, prepared: Any) -> np.ndarray:
        return self.infer_all(prepared)[0]

    def reset(self) -> None:
        """Called at every episode start. Stateless policies have nothing to reset; a recurrent policy zeroes
        its state."""

    def close(self) -> None:
        """Release the backend's resources (a `with` block calls it)."""

    # -- shared behaviour -------------------------------------------------------------------------------
    def run(self, obs: Any) -> np.ndarray:
        """The action for one observation (no batch axis) or a batch.

        Args:
            obs: A numpy array (or array-like) of the input's shape without the batch axis, or with it for a
                batch; for a policy with several named inputs, a dict of such arrays by input name.

        Returns:
            The action, without a batch axis for one observation.

        Raises:
            BadInput: An observation of the wrong shape or keys, or a failure inside the backend, named.
        """
        single = self._is_single(obs)
        out = self.checked(self.infer, self.prepare(obs))
        return out[0] if single else out

    def run_all(self, obs: Any) -> dict[str, np.ndarray]:
        """Every output by name, for one observation or a batch."""
        single = self._is_single(obs)
        outs = self.checked(self.infer_all, self.prepare(obs))
        return {s.name: (o[0] if single else o) for s, o in zip(self.io.outputs, outs, strict=True)}

    def checked(self, fn, prepared):
        """fn(prepared), with a failure inside the backend named as one: the model, the backend's own message
        and the input that caused it (the hot path calls infer directly)."""
        try:
            return fn(prepared)
        except EdgeperfError:
            raise
        except Exception as exc:
            shapes = {k: list(np.shape(v)) for k, v in prepared.items()} if isinstance(prepared, dict) else None
            if isinstance(prepared, tuple):  # torch's several inputs, positional in io.inputs order
                shapes = {s.name: list(v.shape) for s, v in zip(self.io.inputs, prepared, strict=False)}
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BadInput(
                f"{Path(str(self.path)).name} failed inside {self.backend} on an input of shape "
                f"{shapes or list(np.shape(prepared))}: {first[:300]}"
            ) from None

    def _is_single(self, obs: Any) -> bool:
        if isinstance(obs, dict):
            # A dict of single observations or of batches: the first input's rank says which.
            first = obs.get(self.io.inputs[0].name)
            return first is not None and np.ndim(first) == len(self.io.inputs[0].shape) - 1
        # obs.ndim, not np.ndim(obs): np.ndim costs a third of a microsecond per control step.
        ndim = obs.ndim if isinstance(obs, np.ndarray) else np.ndim(obs)
        return ndim == len(self.io.inputs[0].shape) - 1

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_model_file(path: Path) -> None:
    """A model is a regular file: a FIFO would block the loader forever, a directory is a mistake."""
    try:
        is_file, exists = path.is_file(), path.exists()
    except OSError as exc:  # a name too long, a loop of symlinks
        raise BadInput(f"cannot open model {str(path)[:200]}: {exc.strerror or exc}") from None
    if not exists:
        raise BadInput(f"model file {path} does not exist")
    if path.is_dir():
        raise BadInput(f"{path} is a directory; give the model file")
    if not is_file:
        raise BadInput(f"{path} is not a regular file (a FIFO or a device?); give the model file")


def as_batch(obs: Any, spec: TensorSpec, model: str | Path) -> np.ndarray:
    """Validate one observation or a batch against an input spec and return a contiguous batch array.
    `model` (its path or name) only names the model in errors."""
    x = np.asarray(obs)
    if x.ndim == len(spec.shape) - 1:
        x = x[None]
    # The hot path (Session.run in a control loop, 1-2 us per call otherwise): an array that already has
    # the spec's dtype, layout and fixed dims (all but a dynamic batch axis) passes every check below as is.
    if (
        x.dtype == spec.dtype
        and x.flags.c_contiguous
        and (
            x.shape == spec.shape
            or (x.ndim == len(spec.shape) and x.shape[1:] == spec.shape[1:] and not isinstance(spec.shape[0], int))
        )
    ):
        return x
    name = Path(str(model)).name
    if x.dtype.kind not in "fiub":
        raise BadInput(f"observation for input '{spec.name}' has dtype {x.dtype}; expected numbers")
    if spec.dtype == "uint8" and x.dtype.kind == "f":
        # Casting floats to uint8 truncates (an image already scaled to 0..1 becomes all zeros): refuse it.
        raise BadInput(
            f"input '{spec.name}' of {name} takes raw uint8 pixels (0..255), got {x.dtype}: pass the camera image "
            "as the env gives it (the artifact scales it itself), not a float or pre-scaled array"
        )
    layout = _layout_problem(x.shape[1:], spec)
    if layout:
        raise BadInput(f"{layout} ({name})")
    if x.ndim != len(spec.shape):
        raise BadInput(
            f"observation has shape {list(np.shape(obs))}; {name} expects {_shape_str(spec)} "
            f"(input '{spec.name}', with or without the batch axis)"
        )
    for axis, (got, want) in enumerate(zip(x.shape, spec.shape, strict=True)):
        if isinstance(want, int) and want >= 0 and got != want:
            what = "values" if axis == len(spec.shape) - 1 else f"entries on axis {axis}"
            raise BadInput(
                f"observation has {got} {what}, {name} expects {want} (input '{spec.name}', shape "
                f"{_shape_str(spec)}); did you export with the right --domain or --obs-shape?"
            )
    return np.ascontiguousarray(x, dtype=spec.dtype)


def missing_keys(missing: list[str], expected: list[str], got: list[str], model) -> str:
    return (
        f"the observation lacks {'key' if len(missing) == 1 else 'keys'} {', '.join(map(repr, missing))}: "
        f"{Path(str(model)).name} expects keys {expected}, the dict has {sorted(map(str, got))}"
    )


def _layout_problem(got: tuple, spec: TensorSpec) -> str | None:
    """An image given in the other channel order (HWC for CHW or back), said with both layouts."""

    want = tuple(spec.shape[1:])
    if len(got) != 3 or len(want) != 3 or got == want or not all(isinstance(d, int) for d in want):
        return None
    have, need = obsdict.image_layout(got), obsdict.image_layout(want)
    if not have or not need or have == need or sorted(got) != sorted(want):
        return None
    fix = "obs.transpose(2, 0, 1)" if have == "HWC" else "obs.transpose(1, 2, 0)"
    return (
        f"input '{spec.name}': got {have} {obsdict.dims(got)}, the model expects {need} {obsdict.dims(want)}; "
        f"give the image in {need} order ({fix})"
    )


def _shape_str(spec: TensorSpec) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) and d >= 0 else str(d or "?") for d in spec.shape) + "]"


def parse_shape(text: str | None, option: str = "--shape") -> tuple[int, ...] | None:
    """'48' or '3,64,64' (or 3x64x64) -> a tuple of positive ints; None for no text."""
    if not text:
        return None
    try:
        shape = tuple(int(t) for t in text.replace("x", ",").split(",") if t.strip())
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise BadInput(f"{option} {text!r} is not a shape; write e.g. 48 or 3,64,64")
    return shape


# -- recurrent state: a backend's session wrapped to carry it (edgeperf.runtime.state describes it) --------------


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
