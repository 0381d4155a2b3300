"""Policy sources: whatever the user trained -> a torch module that maps raw observations to the action the
robot applies (normalization and action post-processing inside), plus the original's own forward path as
the parity reference.

Kinds: the built-in `example:NAME` policies, TorchScript files (torch.jit.save; how legged_gym / rsl_rl users
ship policy_1.pt), a Python factory plus a state_dict (`--factory pkg.mod:make_policy --weights policy.pt`),
Stable-Baselines3 .zip files (see sb3.py) and existing ONNX models (re-targeted to another precision or format).
torch is imported lazily, inside the loaders. `open_policy`: a Session for any of them, or for an artifact.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import os
import sys
import zipfile
from pathlib import Path

from edgeperf import artifact, spaces
from edgeperf.domains import base, references
from edgeperf.errors import BadInput, require
from edgeperf.exporter import examples, multi, recurrent, sb3, sb3_safe
from edgeperf.exporter.policy import PolicySource, existing_file, first_line
from edgeperf.exporter.quantize import QUANT_OPS
from edgeperf.results.report import sha256_file
from edgeperf.runtime import state as runtime_state
from edgeperf.runtime.session import IOSpec, Session, TensorSpec
from edgeperf.runtime.torch import TorchSession, infer_obs_shape, load_torchscript


def open_policy(source: str | Path, backend: str = "auto", device: str = "auto", **options) -> Session:
    """A Session for anything `export` reads: an artifact (onnx, openvino, tensorrt, TorchScript) opens on its
    backend; a policy source that must be built first (example:, reference:, an SB3 .zip, read pickle-free
    unless `trust_pickle`) is built by the exporter's loader and runs on torch. `vecnormalize` and `trust_pickle`
    concern SB3 sources only.

    Args:
        source: An artifact path, or a policy source (`example:mlp`, `reference:quadruped/trot`, a .pt, a .zip).
        backend: auto (by the file type), onnxruntime, openvino, tensorrt or torch.
        device: auto (the backend's accelerator when there is one here, else cpu), cpu, cuda, GPU, ...
        **options (Any): obs_shape (a source whose observation shape cannot be read), vecnormalize and trust_pickle
            (SB3 .zip sources), state (a recurrent artifact's state inputs), and the backend's own options
            (threads, ...).

    Returns:
        An open Session: `run(obs)` gives the action, `reset()` at an episode start, `close()` at the end.

    Raises:
        BadInput: A source or option that cannot be used (exit code 2).
        DependencyMissing: The backend's package (or torch) is not installed (exit code 3).

    Examples:
        >>> import numpy as np
        >>> import edgeperf
        >>> with edgeperf.open_policy("reference:quadruped/trot") as policy:
        ...     policy.backend, policy.run(np.zeros(47, dtype=np.float32)).shape
        ('torch', (12,))
    """
    vecnormalize, trust_pickle = options.pop("vecnormalize", None), bool(options.pop("trust_pickle", False))
    fmt = None if artifact.is_pseudo(source) else artifact.format_of(source)
    if fmt is not None and not fmt.pickle:
        if vecnormalize:
            raise BadInput(f"--vecnormalize applies to Stable-Baselines3 .zip sources, not to {source}")
        return Session.open(source, backend=backend, device=device, **options)
    if backend not in ("auto", "torch"):
        raise BadInput(f"{source} is a torch policy; it runs on --backend torch (or export it first)")

    src = load(
        str(source),
        options.pop("obs_shape", None),
        vecnormalize=vecnormalize,
        trust_pickle=trust_pickle,
    )
    if src.input_specs:  # several named inputs (a Dict observation)
        return TorchSession.from_module(
            src.module, None, name=str(source), device=device, inputs=src.input_specs, **options
        )
    # A recurrent policy runs as the original carrying its own memory (reset() zeroes it per episode).
    module = src.recurrent.stateful if src.recurrent is not None else src.module
    return TorchSession.from_module(module, src.obs_shape, name=str(source), device=device, **options)


def _sb3(path: Path, obs_shape, vecnormalize, raw_obs_space, trust_pickle: bool) -> PolicySource:
    if not trust_pickle:  # the network rebuilt from the zip's JSON and state_dict: no pickle runs
        return sb3_safe.load(path, obs_shape, vecnormalize, raw_obs_space)

    return sb3.load(path, obs_shape, vecnormalize, raw_obs_space)


def load(  # noqa: PLR0913 - one keyword-only option per way a source is given (ExportConfig's)
    spec: str | None,
    obs_shape: tuple[int, ...] | None = None,
    *,
    factory: str | None = None,
    weights: str | None = None,
    factory_args: dict | None = None,
    vecnormalize: str | None = None,
    unpickle: bool = True,
    state: str | dict | None = None,
    raw_obs_space: spaces.DictSpace | None = None,
    trust_pickle: bool = False,
) -> PolicySource:
    """The policy `spec` names. Pickle-based formats (an SB3 .zip, a VecNormalize .pkl) are unpickled only
    when named by their suffix, and never with unpickle=False; nothing read from a file's content leads to it.
    raw_obs_space: the observation space of the env the policy will run in (a dict space from --domain), which
    says the raw layout of images and the shapes of a factory's named inputs (exporter/multi.py)."""
    if state and (factory or not spec or not str(spec).lower().endswith(".onnx")):
        raise BadInput("--state names the state inputs of an ONNX source; torch sources say their state themselves")
    if factory:
        if spec and weights:
            raise BadInput(f"give the weights once: either SOURCE ({spec}) or --weights ({weights}), not both")
        if vecnormalize:
            raise BadInput("--vecnormalize applies to Stable-Baselines3 .zip sources, not to --factory")
        return _factory(factory, weights or spec, obs_shape, factory_args or {}, raw_obs_space)
    if weights or factory_args:
        raise BadInput("--weights and --factory-args go with --factory module:function (the code that builds the net)")
    if not spec:
        raise BadInput("give the policy: a SOURCE file (or example:mlp), or --factory module:function --weights FILE")
    if spec.startswith("example:"):
        if vecnormalize:
            raise BadInput("--vecnormalize applies to Stable-Baselines3 .zip sources only")
        module, info = examples.build(spec.split(":", 1)[1])
        shape = (info["obs_dim"],)
        if obs_shape and tuple(obs_shape) != shape:
            raise BadInput(f"{spec} takes observations of shape {list(shape)}, not --obs-shape {list(obs_shape)}")

        return PolicySource(
            module,
            "example",
            spec,
            shape,
            action_space=spaces.box(-1.0, 1.0, (info["act_dim"],)),
            action_shape=(info["act_dim"],),
            description=info["description"],
        )
    if spec.startswith("reference:"):
        if vecnormalize:
            raise BadInput("--vecnormalize applies to Stable-Baselines3 .zip sources only")
        return _reference(spec, obs_shape)
    path = existing_file(spec, "policy source")
    suffix = path.suffix.lower()
    if vecnormalize:
        # Both files are pickles: check their names before anything is read, let alone unpickled.
        if suffix != ".zip":
            raise BadInput("--vecnormalize applies to Stable-Baselines3 .zip sources only")
        vn = existing_file(vecnormalize, "--vecnormalize", VECNORMALIZE_HINT)
        if vn.suffix.lower() != ".pkl":
            raise BadInput(
                f"--vecnormalize {vecnormalize}: VecNormalize statistics are a Python pickle saved as .pkl, and "
                "loading one runs code from the file; edgeperf unpickles only a file named .pkl: rename it if "
                "you trust it"
            )
    if suffix == ".onnx":
        if zipfile.is_zipfile(path):
            raise BadInput(f"{spec} is not an ONNX model: it {_describe_zip(path)}")
        return _onnx(path, obs_shape, state)
    if not zipfile.is_zipfile(path):
        if suffix == ".zip":
            raise BadInput(f"{spec} is not a zip file (truncated or damaged?): not a Stable-Baselines3 model")
        raise BadInput(f"{spec} is not a TorchScript archive (not a zip file: truncated or not a torch file?)")
    names = _zip_names(path)
    if any(n.endswith("constants.pkl") for n in names):
        return _torchscript(path, obs_shape)  # torch.jit.load runs no pickled Python code
    if _sb3_names(names):
        # Unpickling runs code from the file: only when the user named the file as a pickle-based format.
        if suffix != ".zip" or not unpickle:
            raise BadInput(
                f"{spec} is not TorchScript: it {_describe_zip(path, names)}"
                if suffix != ".zip"
                else f"{spec} is a Stable-Baselines3 model, which is unpickled to load (that runs code from the "
                f"file); export it to ONNX first: edgeperf export {spec} -o policy.onnx"
            )
        return _sb3(path, obs_shape, vecnormalize, raw_obs_space, trust_pickle)
    if any(n.endswith("data.pkl") for n in names):
        raise BadInput(
            f"{spec} is a torch.save() file (a state_dict or a pickled module), not a TorchScript module: pass "
            "--factory module:function --weights FILE to rebuild the network, or save it with torch.jit.save"
        )
    shown = ", ".join(sorted(names)[:4]) + (", ..." if len(names) > 4 else "")
    raise BadInput(
        f"{spec} is a zip file but neither a TorchScript archive nor a Stable-Baselines3 model (it holds {shown}); "
        "give a torch.jit.save() file or an SB3 model.save() .zip"
    )


VECNORMALIZE_HINT = "the statistics saved with vec_env.save('vecnormalize.pkl')"


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInput(f"{path} is a damaged zip file ({exc}); re-save or re-download it") from None


def _sb3_names(names: list[str]) -> bool:
    return "data" in names and "policy.pth" in names


def _describe_zip(path: Path, names: list[str] | None = None) -> str:
    """What a zip archive given under the wrong name looks like, and what to do (never loading it)."""
    names = _zip_names(path) if names is None else names
    if _sb3_names(names):
        return (
            "looks like a Stable-Baselines3 model (a zip with 'data' and 'policy.pth'); loading one unpickles "
            f"it, which runs code from the file: rename it {path.with_suffix('.zip').name} if you trust it"
        )
    if any(n.endswith("constants.pkl") for n in names):
        return f"looks like a TorchScript archive: rename it {path.with_suffix('.pt').name}"
    return "is a zip archive; give a TorchScript .pt, an SB3 .zip or an .onnx file"


# -- bundled reference policies of domains (reference:quadruped/trot, reference:gym:Pendulum-v1) ------------


def _reference(spec: str, obs_shape) -> PolicySource:
    module, shape = references.load(spec)
    if shape is None:  # several named inputs: their spaces come from the domain's Dict space
        if obs_shape:
            raise BadInput(f"{spec} takes a Dict observation; drop --obs-shape")
        src = PolicySource(module.eval(), "reference", spec, (), description=f"bundled reference policy ({spec})")
        _domain_spaces(src, spec[len("reference:") :])
        if not src.input_specs:
            raise BadInput(f"{spec}: its domain's observation space could not be read ({'; '.join(src.notes)})")
        _check_forward(src)
        return src
    shape = tuple(shape)
    if obs_shape and tuple(obs_shape) != shape:
        raise BadInput(f"{spec} takes observations of shape {list(shape)}, not --obs-shape {list(obs_shape)}")
    src = PolicySource(module.eval(), "reference", spec, shape, description=f"bundled reference policy ({spec})")

    found = recurrent.from_factory(src.module, shape, spec)
    if found is not None:
        src.module, src.recurrent, src.action_shape = found
    else:
        _check_forward(src)
    _domain_spaces(src, references.domain_of(spec))
    return src


def _domain_spaces(src: PolicySource, domain_id: str) -> None:
    """Observation/action spaces from the domain's own env, when it can be built here."""

    try:
        domain = base.make(domain_id)
        env = domain.env(0)
        try:
            obs_space = spaces.from_gym(env.observation_space, "observation")
            act_space = spaces.from_gym(env.action_space, "action")
        finally:
            env.close()
    except Exception as exc:  # a domain that cannot be built here (no pybullet, ...) only costs the spaces
        src.notes.append(f"no observation/action spaces: domain {domain_id} could not be built ({first_line(exc)})")
        return
    if spaces.is_dict(obs_space) or (isinstance(obs_space, spaces.Box) and obs_space.shape == src.obs_shape):
        src.obs_space, src.action_space = obs_space, act_space
        src.details["domain"] = domain_id
        src.control_hz = float(domain.control_hz) if domain.control_hz else None


# -- TorchScript ----------------------------------------------------------------------------------------------


def _torchscript(path: Path, obs_shape) -> PolicySource:
    src = PolicySource(load_torchscript(path), "torchscript", str(path), (), sha256=sha256_file(path))
    _set_obs_shape(src, obs_shape)

    if recurrent.has_memory_buffers(src.module):
        src.module, src.recurrent, src.action_shape = recurrent.from_buffers(src.module, src.obs_shape, src.name)
        return src
    _check_forward(src)
    return src


# -- factory + state_dict -------------------------------------------------------------------------------------


def _factory(factory: str, weights: str | None, obs_shape, args: dict, raw_obs_space=None) -> PolicySource:
    torch = require("torch", "export", "to build the policy from --factory")
    fn = _import_factory(factory)
    try:
        module = fn(**args)
    except Exception as exc:
        raise BadInput(f"--factory {factory}(**{args}) raised {type(exc).__name__}: {first_line(exc)}") from None
    if not isinstance(module, torch.nn.Module):
        raise BadInput(f"--factory {factory} returned a {type(module).__name__}; it must return a torch.nn.Module")
    name = factory
    src_sha = None
    notes = []
    if weights:
        wpath = existing_file(weights, "--weights", "the state_dict saved with torch.save(model.state_dict(), ...)")
        state, where = _load_state_dict(torch, wpath)
        if where:
            notes.append(f"the weights are the state_dict under key '{where}' of {wpath.name}")
        _apply_state_dict(module, state, wpath, factory)
        name, src_sha = f"{factory} + {wpath}", sha256_file(wpath)
    else:
        notes.append("no --weights given: the network is exported with the weights the factory gave it")
    module.eval()
    src = PolicySource(module, "factory", name, (), sha256=src_sha, notes=notes, details={"factory": factory})
    if args:
        src.details["factory_args"] = args

    src.obs_space = multi.named_inputs(module, raw_obs_space, obs_shape)  # several named inputs, or None
    if src.obs_space is None:
        _set_obs_shape(src, obs_shape)

        found = recurrent.from_factory(module, src.obs_shape, name)
        if found is not None:
            src.module, src.recurrent, src.action_shape = found
            return src
    _check_forward(src)
    return src


def _import_factory(factory: str):
    mod_name, _, fn_name = factory.rpartition(":")
    if not mod_name or not fn_name:
        raise BadInput(f"--factory {factory!r}: write module:function, e.g. my_pkg.nets:make_policy or nets.py:make")
    try:
        if mod_name.endswith(".py"):
            file = Path(mod_name)
            if not file.is_file():
                raise BadInput(f"--factory {factory}: file {mod_name} does not exist")
            spec = importlib.util.spec_from_file_location(f"edgeperf_factory_{file.stem}", file)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        else:
            # Like `python -m`, find modules in the current folder too (console scripts do not put it on the path).
            added = os.getcwd() not in sys.path
            if added:
                sys.path.insert(0, os.getcwd())
            try:
                mod = importlib.import_module(mod_name)
            finally:
                if added:
                    with contextlib.suppress(ValueError):
                        sys.path.remove(os.getcwd())
    except BadInput:
        raise
    except ModuleNotFoundError as exc:
        raise BadInput(
            f"--factory {factory}: cannot import {exc.name or mod_name}; run from the folder that holds it, "
            "install its package, or give a file: path/to/nets.py:make_policy"
        ) from None
    except Exception as exc:
        raise BadInput(
            f"--factory {factory}: importing {mod_name} failed: {type(exc).__name__}: {first_line(exc)}"
        ) from None
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise BadInput(f"--factory {factory}: {mod_name} has no function {fn_name}")
    return fn


def _load_state_dict(torch, path: Path) -> tuple[dict, str | None]:
    """torch.load(weights_only=True): tensors and plain containers only, never arbitrary pickled code."""
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        msg = str(exc)
        if "Unsupported global" in msg:
            glob = msg.split("Unsupported global:", 1)[1].split()[1] if "GLOBAL " in msg else "a Python object"
            raise BadInput(
                f"--weights {path}: torch.load(weights_only=True) refused it: the file holds pickled Python objects "
                f"({glob}), not only tensors; save model.state_dict() instead"
            ) from None
        raise BadInput(f"--weights {path} is not a file torch.load can read: {first_line(exc)}") from None

    def is_state(d) -> bool:
        return isinstance(d, dict) and bool(d) and all(isinstance(v, torch.Tensor) for v in d.values())

    if is_state(obj):
        return obj, None
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model", "policy", "actor"):
            if is_state(obj.get(key)):
                return obj[key], key
    what = type(obj).__name__ + (f" with keys {sorted(map(str, obj))[:5]}" if isinstance(obj, dict) else "")
    raise BadInput(f"--weights {path} holds a {what}, not a state_dict (a dict of tensors from model.state_dict())")


def _apply_state_dict(module, state: dict, path: Path, factory: str) -> None:
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k} is {list(state[k].shape)} in the file, {list(own[k].shape)} in the network"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if mismatched:
        problems.append("size mismatch: " + _few(mismatched))
    if missing:
        problems.append("missing from the file: " + _few(missing))
    if unexpected:
        problems.append("not in the network: " + _few(unexpected))
    if problems:
        raise BadInput(
            f"the state_dict in {path} does not fit the network --factory {factory} builds ("
            + "; ".join(problems)
            + "); check that the factory and its --factory-args match the training code"
        )
    module.load_state_dict(state)


def _few(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" (+{len(items) - n} more)" if len(items) > n else "")


# -- ONNX (re-targeting) --------------------------------------------------------------------------------------


def _onnx(path: Path, obs_shape, state=None) -> PolicySource:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=True)
        onnx.checker.check_model(model)
    except Exception as exc:
        raise BadInput(f"{path} is not a valid ONNX model: {first_line(exc)}") from None
    init = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in init]
    meta = artifact.decode({p.key: p.value for p in model.metadata_props}, str(path))
    states = _onnx_states(model, inputs, meta, state, path)
    inputs = [i for i in inputs if i.name not in {s.input for s in states}]
    multi_space = _several_inputs(model, inputs, states, path)
    elem = inputs[0].type.tensor_type.elem_type
    half = onnx.TensorProto.FLOAT16
    quantized = {n.op_type for n in model.graph.node} & (QUANT_OPS | {"DequantizeLinear"})
    halfs = (
        elem == half
        or any(t.data_type == half for t in model.graph.initializer)
        or any(
            n.op_type == "Cast" and any(a.name == "to" and a.i == half for a in n.attribute) for n in model.graph.node
        )
    )
    if quantized or halfs:
        raise BadInput(
            f"{path} is already {'int8-quantized' if quantized else 'fp16'}; re-target from the fp32 model "
            "(converting a converted model compounds the error)"
        )
    if multi_space is not None:
        return _onnx_multi(path, model, multi_space, obs_shape)
    if elem != onnx.TensorProto.FLOAT:
        raise BadInput(f"{path}: input '{inputs[0].name}' is {onnx.TensorProto.DataType.Name(elem)}; expected FLOAT")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims[1:])
    if obs_shape:
        if any(d is not None and d != o for d, o in zip(shape, obs_shape, strict=False)) or len(shape) != len(
            obs_shape
        ):
            raise BadInput(f"{path} takes observations of shape {list(shape)}, not --obs-shape {list(obs_shape)}")
        shape = tuple(obs_shape)
    if any(d is None or d <= 0 for d in shape):
        raise BadInput(f"{path} has a dynamic observation shape {list(shape)}; pass --obs-shape to fix it")
    outs = [o.name for o in model.graph.output]
    discrete = outs[:2] == ["action", "logits"]
    out_dims = model.graph.output[0].type.tensor_type.shape.dim[1:]
    action_shape = tuple(d.dim_value for d in out_dims) if all(d.HasField("dim_value") for d in out_dims) else None
    bad = _metadata_problem(meta, shape, None if discrete else action_shape)
    if bad:
        raise BadInput(
            f"{path} has malformed edgeperf metadata: {bad}; re-export it with edgeperf export (or strip the "
            "edgeperf.* metadata to re-target it as a plain ONNX model)"
        )
    if meta.get("precision") not in (None, "fp32"):
        raise BadInput(f"{path} is a {meta['precision']} artifact; re-target from the fp32 model")
    if states:
        rec = recurrent.from_onnx(path, inputs[0].name, states)
    src = PolicySource(
        None,
        "onnx",
        str(path),
        shape,
        sha256=sha256_file(path),
        obs_space=spaces.from_dict(meta.get("obs_space")),
        action_space=spaces.from_dict(meta.get("action_space")),
        control_hz=meta.get("control_hz"),
        normalization=meta.get("normalization"),
        discrete=discrete,
        action_shape=action_shape,
        onnx_path=path,
        details={"input_name": inputs[0].name, "output_names": outs},
        recurrent=rec if states else None,
    )
    for key in ("source", "source_kind", "source_sha256"):
        if meta.get(key):
            src.details[f"original_{key}"] = meta[key]
    if dims and dims[0].HasField("dim_value"):
        src.notes.append(
            f"{path.name} has a fixed batch size {dims[0].dim_value}; the artifact keeps it (export from the torch "
            "policy for a dynamic batch axis)"
        )
    return src


def _onnx_states(model, inputs, meta: dict, state, path: Path) -> list:
    """The state inputs of an ONNX file: named by --state, else by edgeperf's metadata; a file with inputs that
    look like state but are named by neither is refused with the names to give."""

    def spec(v):
        dims = v.type.tensor_type.shape.dim
        return TensorSpec(v.name, tuple(d.dim_value if d.HasField("dim_value") else None for d in dims), "float32")

    io = IOSpec(tuple(spec(i) for i in inputs), tuple(spec(o) for o in model.graph.output), meta)
    pairs = runtime_state.parse_pairs(state)
    if pairs:
        states = runtime_state.states_for(io.inputs, io.outputs, pairs, path.name)
    elif meta.get("state"):
        states = [runtime_state.State.from_meta(d) for d in meta["state"]]
    else:
        states = []
    runtime_state.refuse_unnamed(io, path.name, states)
    return states


def _several_inputs(model, inputs, states, path: Path) -> dict | None:
    """The dict space of an ONNX model of several observation inputs (exporter/multi.py); None for one."""
    if not inputs:
        raise BadInput(f"{path} has no inputs; a policy takes an observation")
    if len(inputs) == 1:
        return None
    if states:
        raise BadInput(f"{path} has state inputs beside several observation inputs; export one or the other")

    return multi.onnx_input_space(model, inputs, path)


def _onnx_multi(path: Path, model, space: spaces.DictSpace, obs_shape) -> PolicySource:
    """An ONNX model of several named inputs: its spaces from edgeperf metadata when it has them, else from the
    graph's inputs (uint8 inputs as 0..255 images, float ones unbounded)."""

    if obs_shape:
        raise BadInput(f"{path} has several inputs {list(space.spaces)}; --obs-shape applies to one input")
    meta = artifact.decode({p.key: p.value for p in model.metadata_props}, str(path))
    if meta.get("precision") not in (None, "fp32"):
        raise BadInput(f"{path} is a {meta['precision']} artifact; re-target from the fp32 model")
    outs = [o.name for o in model.graph.output]
    discrete = outs[:2] == ["action", "logits"]
    out_dims = model.graph.output[0].type.tensor_type.shape.dim[1:]
    action_shape = tuple(d.dim_value for d in out_dims) if all(d.HasField("dim_value") for d in out_dims) else None
    src = PolicySource(
        None,
        "onnx",
        str(path),
        (),
        sha256=sha256_file(path),
        obs_space=space,
        action_space=spaces.from_dict(meta.get("action_space")),
        control_hz=meta.get("control_hz"),
        normalization=meta.get("normalization"),
        discrete=discrete,
        action_shape=action_shape,
        onnx_path=path,
        details={"input_names": list(space.spaces), "output_names": outs},
    )
    for key in ("source", "source_kind", "source_sha256"):
        if meta.get(key):
            src.details[f"original_{key}"] = meta[key]
    return src


def _metadata_problem(meta: dict, obs_shape, action_shape) -> str | None:
    """What artifact.decode's type checks let through and re-targeting would trip on later: the spaces' contents
    and the normalization's sizes, against the model's own shapes. None when they fit."""

    for key, shape in (("obs_space", obs_shape), ("action_space", action_shape)):
        if meta.get(key) is not None:
            why = spaces.problem(meta[key], shape)
            if why:
                return f"{key}: {why}"
    norm = meta.get("normalization")
    if norm is not None:
        size = math.prod(obs_shape)
        for k in ("mean", "var"):
            v = norm.get(k)
            if not (isinstance(v, list) and len(v) == size and all(spaces.finite_number(x) for x in v)):
                return f"normalization: '{k}' must be {size} finite numbers (one per observation value)"
        if any(x < 0 for x in norm["var"]):
            return "normalization: 'var' has negative variances"
        for k in ("epsilon", "clip_obs"):
            if not (spaces.finite_number(norm.get(k)) and norm[k] >= 0):
                return f"normalization: '{k}' is {norm.get(k)!r}, expected a number >= 0"
    return None


# -- shared ---------------------------------------------------------------------------------------------------


def _set_obs_shape(src: PolicySource, obs_shape) -> None:
    if obs_shape:
        src.obs_shape = tuple(obs_shape)
        return

    src.obs_shape = infer_obs_shape(src.module)
    src.notes.append(
        f"observation shape {list(src.obs_shape)} inferred from the first layer's weights; pass --obs-shape to set it"
    )


def _check_forward(src: PolicySource) -> None:
    torch = require("torch", "export")
    try:
        with torch.no_grad():
            if src.input_specs:
                out = src.module(*multi.example(src, torch, batch=1))
            else:
                out = src.module(torch.zeros(1, *src.obs_shape))
    except Exception as exc:
        last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        if src.input_specs:
            shapes = {n: [1, *s] for n, s, _ in src.input_specs}
            raise BadInput(f"{src.name} does not run on observations of shapes {shapes}: {last}") from None
        raise BadInput(
            f"{src.name} does not run on observations of shape [1, {', '.join(map(str, src.obs_shape))}]: "
            f"{last}; pass the right --obs-shape"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise BadInput(f"{src.name} returns {type(out).__name__}; edgeperf exports policies that return one tensor")
    if out.dim() < 2 or out.shape[0] != 1:
        raise BadInput(f"{src.name} returns shape {list(out.shape)} for a batch of 1; expected [batch, action...]")
    src.action_shape = tuple(out.shape[1:])


def parse_factory_args(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        args = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"--factory-args is not JSON ({exc.msg}); write e.g. '{{\"obs_dim\": 48}}'") from None
    if not isinstance(args, dict):
        raise BadInput("--factory-args must be a JSON object of keyword arguments, e.g. '{\"obs_dim\": 48}'")
    return args
