"""Export a policy source to a deployable artifact (ONNX, OpenVINO IR or a TensorRT engine; fp32, fp16 or int8),
with metadata embedded and parity checked.

Every export goes through one fp32 ONNX graph (torch's exporter, or the user's own ONNX file), then converts
it. All work happens in a private folder beside the output; the artifact (and its .bin / sidecar) appears
only at the end, by os.replace, so a failure never leaves a partial artifact.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import math
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf import artifact, spaces
from edgeperf._version import __version__
from edgeperf.config import ExportConfig
from edgeperf.devices.detect import host_summary
from edgeperf.domains import base
from edgeperf.domains.mujoco import load_id
from edgeperf.errors import BadInput, EdgeperfError, HardwareMissing, require
from edgeperf.exporter import calibration, multi, openvino_ir, quantize, sources, tensorrt_engine
from edgeperf.exporter.calibration import SEED_OFFSET
from edgeperf.exporter.parity import parity
from edgeperf.quiet import native_output_silenced, verbose
from edgeperf.results.io import check_paths, check_writable, install, real_parent
from edgeperf.results.report import ModelInfo, Report, sha256_file
from edgeperf.validation.rollout import collect_observations

# Bytes per observation or action value while parity runs: float32 observations, float64 draws and errors.
BYTES_PER_VALUE = 48


@dataclass
class Built:
    """What building an artifact gave: the files to install and what the report and the artifact carry."""

    staged: list[tuple[Path, Path]]  # (temp file, destination), the artifact itself last
    meta: dict  # the artifact's metadata (ONNX metadata_props, else the sidecar)
    calibration: object | None = None  # static int8 calibration data, for TensorRT's int8 graph
    results: dict = field(default_factory=dict)  # the report's fp16 / quantization / openvino / tensorrt blocks


def export(source: str | None, out: str | Path, *, config: ExportConfig | None = None, **options) -> Report:
    """Export `source` to `out`; the report's results hold the export time, size and parity verdict.

    As `config` says, or as `options` say: ExportConfig's fields (format, precision, quantization, opset,
    obs_shape, factory, weights, factory_args, vecnormalize, parity_samples, calibration_samples, seed,
    max_batch, timing_cache, domain, calibration_episodes, state, trust_pickle) and `check` (prove parity).
    The format follows `out`'s suffix (.onnx, .xml for OpenVINO IR, .engine/.plan for TensorRT) unless given.

    Args:
        source: The policy: `example:mlp`, `reference:quadruped/trot`, a TorchScript .pt, an SB3 .zip, an ONNX
            file (re-targeted), or None with `factory` and `weights` in `options`.
        out: The artifact to write; it appears only when the export succeeded (nothing partial is left).
        config: The whole export configuration as one `edgeperf.config.ExportConfig` (its `source` must be
            `source`); `options` then replace some of its fields.
        **options (Any): ExportConfig's fields by name (as listed above), and `check=False` to skip the parity check.

    Returns:
        The export report (`edgeperf.export/1`): `results` holds export_s, size_bytes and `parity`.

    Raises:
        BadInput: A source, output or option that cannot be used (exit code 2).
        DependencyMissing: torch, or the target format's package, is not installed (exit code 3).

    Examples:
        >>> import edgeperf
        >>> report = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> report.model.format, report.results["parity"]["passed"]
        ('onnx', True)
        >>> from edgeperf.config import ExportConfig
        >>> cfg = ExportConfig(source="reference:quadruped/trot", precision="fp16", parity_samples=64)
        >>> edgeperf.export(cfg.source, "policy_fp16.onnx", config=cfg).model.precision
        'fp16'
    """
    cfg, out = _checked(source, Path(out), config, options)
    t_load = time.perf_counter()
    src = _load(cfg)
    load_s = time.perf_counter() - t_load
    mode, check, parity_samples = cfg.quantization, cfg.check_parity, cfg.parity_samples
    _check_recurrent(src, cfg.format, mode, cfg.domain)
    calibration_samples = cfg.calibration_samples if mode == "static" else 0
    _check_memory(src, parity_samples if check else 0, calibration_samples)
    if cfg.domain:
        _domain_observations(
            src, cfg.domain, parity_samples if check else 0, calibration_samples, cfg.seed, cfg.calibration_episodes
        )
    # The config as it ran: the source's kind and shape too (with --factory, the source is the network built).
    ran = cfg.replace(
        obs_shape=tuple(src.obs_shape),
        source_kind=src.kind,
        source=cfg.source if not cfg.factory else src.name,
        weights=(cfg.weights or cfg.source) if cfg.factory else cfg.weights,
    )
    try:
        # Beside the file the artifact will replace (a symlink's target), so the final rename stays on one disk.
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".edgeperf-tmp", dir=real_parent(out)))
    except OSError as exc:
        raise BadInput(f"cannot write {out}: {out.parent} is not writable ({exc.strerror or exc})") from None
    try:
        t0 = time.perf_counter()
        built = _build(src, ran, out, work)
        export_s = time.perf_counter() - t0
        for tmp, dst in built.staged:
            install(tmp, dst)
    except OSError as exc:
        raise BadInput(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report = _report(src, ran, out, built)
    report.results = {"export_s": export_s, "load_s": load_s, **report.results}
    report.results.update(_source_results(src, cfg.vecnormalize))
    if (q := built.results.get("quantization")) and q.get("quantized_nodes") == 0:
        report.warn("int8 quantization changed no node of this graph: the artifact computes in float")
    if check:
        try:
            with quiet_onnxruntime():
                report.results["parity"] = parity(src, out, cfg.precision, n=parity_samples, seed=cfg.seed)
            _warn_non_finite(report, report.results["parity"])
        except HardwareMissing as exc:
            report.unmeasured["parity"] = f"cannot run the artifact here: {exc}"
            report.warn("parity was not checked: run the artifact on its target to check it")
    else:
        report.unmeasured["parity"] = "skipped with --no-check"
    return report


def _checked(source, out: Path, config: ExportConfig | None, options: dict) -> tuple[ExportConfig, Path]:
    """The config export runs, checked before anything loads, with its format and int8 mode resolved."""
    if config is None:
        cfg = ExportConfig.from_options(source, options)
    else:
        cfg = ExportConfig.of(config, options)
        if source != cfg.source:
            raise TypeError(f"source {source!r} is not the config's ({cfg.source!r})")
    out = _check_output(out, cfg.source, cfg.weights, cfg.vecnormalize)
    cfg = cfg.replace(format=resolve_format(cfg.format, out))
    return cfg.replace(quantization=_check_arguments(out, cfg)), out


def _report(src: sources.PolicySource, ran: ExportConfig, out: Path, built: Built) -> Report:
    """The export report's envelope, and the results the build gave (the caller adds timings and parity)."""
    files = {dst.name: dst.stat().st_size for _, dst in built.staged}
    size = sum(size for name, size in files.items() if not name.endswith(".edgeperf.json"))
    report = Report.new(
        "export",
        host_summary(),
        model=ModelInfo(
            path=str(out),
            sha256=sha256_file(out),
            format=ran.format,
            precision=ran.precision,
            inputs=multi.report_inputs(src)
            or [
                {"name": src.details.get("input_name", "obs"), "shape": ["batch", *src.obs_shape], "dtype": "float32"},
                *(
                    {"name": st.input, "shape": ["batch", *st.shape], "dtype": st.dtype, "state_of": st.output}
                    for st in (src.recurrent.states if src.recurrent is not None else ())
                ),
            ],
            outputs=_outputs(src),
            size_bytes=size,
        ),
        config=ran.to_dict(),
        warnings=list(src.notes),
    )
    report.results = {
        "size_bytes": size,
        "files": files,
        "source_sha256": src.sha256,
        "spaces": {"observation": spaces.to_dict(src.obs_space), "action": spaces.to_dict(src.action_space)},
        **built.results,
    }
    return report


def _check_recurrent(src: sources.PolicySource, format: str, mode: str | None, domain: str | None) -> None:
    """What a recurrent export does not do yet, said before any work."""
    if src.recurrent is None:
        return
    if mode == "static" and (format == "tensorrt" or any(s.batch_axis != 0 for s in src.recurrent.states)):
        raise BadInput(
            f"{src.name} is recurrent: static int8 calibration carries a batch-first state through ONNX Runtime "
            f"or OpenVINO only (this is {format}"
            + ("" if format == "tensorrt" else ", with a state of fixed layout")
            + "); use --quantization dynamic (weights int8) or fp16"
        )
    if domain:
        raise BadInput(
            f"{src.name} is recurrent: --domain rollouts for parity and calibration are for stateless policies "
            "here; parity runs on sequences in the observation space (drop --domain)"
        )


def _check_output(out: Path, source, weights, vecnormalize) -> Path:
    """The library refuses what the CLI refuses: a directory, an output onto its own source (export('m.onnx',
    'm.onnx'))."""

    if out.is_dir():
        raise BadInput(f"-o {out} is a directory; give the file to write, e.g. {out / 'policy.onnx'}")
    check_paths({}, {"the source": source, "--weights": weights, "--vecnormalize": vecnormalize}, artifacts={"-o": out})
    return out


def _load(cfg: ExportConfig) -> sources.PolicySource:
    domain, obs_shape = cfg.domain, cfg.obs_shape
    # A Dict-observation domain says the raw layout of images and the shapes of named inputs (exporter/multi.py).
    raw = multi.raw_obs_space(domain) if domain else None
    if domain and domain.startswith("mujoco:") and obs_shape is None and not str(cfg.source).endswith(".onnx"):
        # A deploy spec knows its observation size exactly; a recurrent TorchScript policy's first layer cannot say

        obs_shape = (load_id(domain).obs_size,)
    return sources.load(
        cfg.source,
        obs_shape,
        factory=cfg.factory,
        weights=cfg.weights,
        factory_args=cfg.factory_args,
        vecnormalize=cfg.vecnormalize,
        state=cfg.state,
        raw_obs_space=raw,
        trust_pickle=cfg.trust_pickle,
    )


def _check_arguments(out: Path, cfg: ExportConfig) -> str | None:
    """Everything that can be checked before loading anything; returns the int8 quantization mode."""
    mode = cfg.check().quantization_mode()
    check_writable(out, regular=True)
    if cfg.format == "tensorrt":
        tensorrt_engine.require_tensorrt()  # fail before the slow part
    elif cfg.format == "openvino":
        openvino_ir.require_openvino()
    return mode


def _warn_non_finite(report: Report, par: dict) -> None:
    nf = par.get("non_finite_values") or {}
    for side, who in (("original", "the original policy"), ("artifact", "the artifact")):
        if nf.get(side):
            report.warn(
                f"{who} returned NaN or inf for {nf[side]} {par.get('errors_are_of', 'action')} values on the "
                "parity observations (NaN weights, or inputs it cannot handle): their errors are nan and fail parity"
            )


def _check_memory(src: sources.PolicySource, *counts: int) -> None:
    """Parity and calibration hold their observations (and float64 copies of the actions) in memory: refuse a
    count this machine cannot hold before the export starts, not with a MemoryError after it."""
    import psutil

    values = multi.obs_values(src) + math.prod(src.action_shape or (1,))
    need = max(counts) * values * BYTES_PER_VALUE
    avail = psutil.virtual_memory().available
    if need > avail // 2:
        fits = max(1, avail // 2 // (values * BYTES_PER_VALUE))
        raise BadInput(
            f"{max(counts):,} parity/calibration observations of {src.name} need about {need / 2**30:.1f} GiB; "
            f"this machine has {avail / 2**30:.1f} GiB available: use at most {fits:,} "
            "(--parity-samples, --calibration-samples)"
        )


def _source_results(src: sources.PolicySource, vecnormalize) -> dict:
    out: dict = {}
    if src.description:
        out["source_description"] = src.description
    details = {k: v for k, v in src.details.items() if not k.startswith("_")}
    if details:
        out["source"] = details
    if src.normalization:
        out["normalization"] = {k: v for k, v in src.normalization.items() if k not in ("mean", "var")}
    if src.kind == "sb3" and src.details.get("loaded") == "pickle-free":
        out["trust"] = "read without unpickling: the network rebuilt from the zip's JSON and state_dict" + (
            ", the VecNormalize statistics through an allowlist of numpy arrays" if vecnormalize else ""
        )
    elif src.kind == "sb3":
        out["trust"] = "--trust-pickle: the SB3 model was unpickled by SB3, which runs code from the file" + (
            "; the VecNormalize statistics read through an allowlist of numpy arrays" if vecnormalize else ""
        )
    return out


def _domain_observations(src, domain_id: str, n_parity: int, n_calib: int, seed: int, episodes: int) -> None:
    """Parity and calibration observations from rollouts of the source policy in the domain (--domain)."""

    env = base.make(domain_id).env(seed)
    try:
        env_space = env.observation_space
        want = tuple(env_space.shape or ())
        if src.input_specs:
            multi.check_domain_fit(src, domain_id, env_space, env)
    finally:
        env.close()
    if not src.input_specs and tuple(src.obs_shape) != want:
        raise BadInput(
            f"{src.name} takes observations of shape {list(src.obs_shape)} but {domain_id} gives "
            f"{list(want)}; is --domain the one the policy was trained on?"
        )
    # One observation per call: torch's thread pool only adds hand-off cost (measured here: 13 ms a step with
    # 2 threads on a busy 2-core machine, 0.08 ms with 1).
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(1)
    try:
        inputs = [n for n, _, _ in src.input_specs or ()]
        if n_parity:
            src.rollouts["parity"] = collect_observations(domain_id, src.act, n_parity, seed, episodes, inputs=inputs)
        if n_calib:
            src.rollouts["calibration"] = collect_observations(
                domain_id, src.act, n_calib, seed + SEED_OFFSET, episodes, inputs=inputs
            )
    finally:
        if torch:
            torch.set_num_threads(threads)


def _build(src: sources.PolicySource, cfg: ExportConfig, out: Path, work: Path) -> Built:
    """Build the artifact `cfg` (as it runs: format and int8 mode resolved) describes in `work`, for `out`."""
    format, precision, mode = cfg.format, cfg.precision, cfg.quantization
    fp32 = work / "fp32.onnx"
    if src.kind == "onnx":
        _copy_onnx(src.onnx_path, fp32)
    else:
        _torch_to_onnx(src, fp32, cfg.opset)
    calib = None
    if mode == "static":
        if src.recurrent is None:
            calib = calibration.for_source(src, cfg.calibration_samples, cfg.seed)
        else:
            calib = calibration.recurrent_sequences(fp32, src, cfg.calibration_samples, cfg.seed)
    built = Built([], _metadata(src, precision, format), calib)
    if format == "onnx":
        final = _convert_onnx(fp32, work, precision, mode, calib, built.results)
        _embed_metadata(final, {**built.meta, "quantization": built.results.get("quantization")})
        built.staged = [(final, out)]
    elif format == "openvino":
        onnx_in = _convert_onnx(fp32, work, precision, mode, calib, built.results) if precision == "int8" else fp32
        xml = work / out.name
        built.results["openvino"] = openvino_ir.convert(onnx_in, xml, precision)
        extra = {"artifact": {"format": "openvino", "xml": out.name, "bin": out.with_suffix(".bin").name}}
        side = _write_sidecar(work, out, built, extra)
        built.staged = [(xml.with_suffix(".bin"), out.with_suffix(".bin")), (side, artifact.sidecar(out)), (xml, out)]
    else:
        _stage_tensorrt(src, cfg, out, work, built)
    return built


def _stage_tensorrt(src, cfg: ExportConfig, out: Path, work: Path, built: Built) -> None:
    fp32 = work / "fp32.onnx"
    onnx_in = fp32
    if cfg.precision == "int8":
        onnx_in = _convert_onnx(fp32, work, "int8", "static", built.calibration, built.results, symmetric=True)
    # Every observation input in the graph's order: a Dict observation's keys, else the one input.
    specs = [(n, s) for n, s, _ in src.input_specs or ()] or [(_input_name(fp32), src.obs_shape)]
    settings = tensorrt_engine.engine_settings(
        cfg.precision,
        *specs[0],
        max_batch=cfg.max_batch,
        fixed_batch=_fixed_batch(fp32),
        inputs=specs[1:],
        state=[(st.input, st.shape) for st in src.recurrent.states] if src.recurrent is not None else (),
    )
    engine = work / out.name
    built.results["tensorrt"] = {
        "settings": settings,
        **tensorrt_engine.build_engine(onnx_in, engine, settings, cfg.timing_cache),
    }
    side = _write_sidecar(work, out, built, {"artifact": {"format": "tensorrt", "engine": out.name}})
    built.staged = [(side, artifact.sidecar(out)), (engine, out)]


def _write_sidecar(work: Path, out: Path, built: Built, extra: dict) -> Path:
    side = work / artifact.sidecar(out).name
    if "tensorrt" in built.results:
        extra = {**extra, "tensorrt": built.results["tensorrt"]}
    side.write_text(artifact.sidecar_text({**built.meta, "quantization": built.results.get("quantization")}, extra))
    return side


def resolve_format(format: str | None, out: Path) -> str:
    return artifact.output_format(out, format).name


def _convert_onnx(fp32: Path, work: Path, precision: str, mode, calib, results: dict, *, symmetric=False) -> Path:
    if precision == "fp32":
        return fp32
    dst = work / f"{precision}.onnx"
    try:
        with quiet_onnxruntime(), native_output_silenced():
            if precision == "fp16":
                results["fp16"] = quantize.to_fp16(fp32, dst)
            else:
                results["quantization"] = quantize.to_int8(fp32, dst, mode, calib, symmetric=symmetric)
    except EdgeperfError:
        raise
    except Exception as exc:
        _raise_if_disk_full(exc, work)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BadInput(f"{precision} conversion failed: {type(exc).__name__}: {first}") from None
    return dst


def _outputs(src: sources.PolicySource) -> list[dict]:
    if src.recurrent is not None:
        return [{"name": n, "dtype": "float32"} for n in src.output_names]
    if src.discrete:
        return [{"name": "action", "dtype": "int64"}, {"name": "logits", "dtype": "float32"}]
    return [{"name": "action", "dtype": "float32"}]


def _input_name(path: Path) -> str:
    import onnx

    return onnx.load(str(path), load_external_data=False).graph.input[0].name


def _fixed_batch(path: Path) -> int | None:
    import onnx

    dim = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim[0]
    return dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else None


def _torch_to_onnx(src: sources.PolicySource, path: Path, opset: int) -> None:
    torch = require("torch", "export", "to export policies")
    example = (torch.zeros(2, *src.obs_shape),)
    if src.recurrent is not None:
        example += tuple(torch.zeros(2, *st.shape) for st in src.recurrent.states)
    in_names = src.input_names
    if src.input_specs:  # several named inputs, in the module's argument order
        example, in_names = multi.example(src, torch), [n for n, _, _ in src.input_specs]
    names = {"input_names": in_names, "output_names": src.output_names}
    batch = torch.export.Dim("batch")
    # torch's exporters are chatty (progress lines, warnings about optional packages): keep the CLI's output ours.
    # A recurrent step goes through the TorchScript-based exporter, whose LSTM/GRU export is the mature one.
    scripted = isinstance(src.module, torch.jit.ScriptModule) or src.recurrent is not None
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        # The TorchScript exporter prints its whole graph to fd 1 from C++ before raising: capture the fds.
        with native_output_silenced(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.no_grad():
                if scripted:
                    # TorchScript goes through the TorchScript-based exporter; torch.export cannot trace it.
                    torch.onnx.export(
                        src.module,
                        example,
                        str(path),
                        dynamo=False,
                        opset_version=min(opset, 20),
                        dynamic_axes={n: {0: "batch"} for n in [*in_names, *src.output_names]},
                        **names,
                    )
                else:
                    program = torch.onnx.export(
                        src.module,
                        example,
                        dynamo=True,
                        opset_version=opset,
                        verbose=False,
                        dynamic_shapes=multi.dynamic_shapes(src.module, example, batch),
                        **names,
                    )
                    program.save(str(path), external_data=False)
    except EdgeperfError:
        raise
    except Exception as exc:
        _raise_if_interrupted(exc)
        _raise_if_disk_full(exc, path.parent)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if "opset" in str(exc).lower():
            hint = "try another --opset (13..21)"
        elif scripted:
            hint = "the TorchScript exporter cannot convert this module; export it from its Python code with --factory"
        else:
            hint = "try another --opset, or export a TorchScript version of the policy"
        raise BadInput(f"torch could not export {src.name} to ONNX: {type(exc).__name__}: {first}; {hint}") from None
    finally:
        logger.setLevel(level)


def _raise_if_interrupted(exc: BaseException) -> None:
    """torch's exporter wraps an interrupt (Ctrl-C, SIGTERM) that landed inside it in its own TorchExportError:
    raise the interrupt itself, which is no export failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if not isinstance(seen, Exception):
            raise seen
        seen = seen.__cause__ or seen.__context__


def _metadata(src: sources.PolicySource, precision: str, format: str) -> dict:
    return {
        "version": __version__,
        "source": src.name,
        "source_sha256": src.sha256,
        "source_kind": src.kind,
        "obs_shape": list(src.obs_shape),
        "action_shape": list(src.action_shape) if src.action_shape is not None else None,
        "obs_space": spaces.to_dict(src.obs_space),
        "action_space": spaces.to_dict(src.action_space),
        "normalization": src.normalization,
        "precision": precision,
        "format": format,
        "control_hz": src.control_hz,
        "state": [st.to_meta() for st in src.recurrent.states] if src.recurrent is not None else None,
    }


def _embed_metadata(path: Path, meta: dict) -> None:
    import onnx

    model = onnx.load(str(path))
    props = artifact.encode(meta)
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    model.producer_name, model.producer_version = "edgeperf", __version__
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BadInput(f"the exported graph fails onnx.checker: {first}") from None
    try:
        onnx.save(model, str(path))
    except Exception as exc:
        _raise_if_disk_full(exc, path.parent)
        raise


def _copy_onnx(src: Path, dst: Path) -> None:
    """The user's model as the fp32 graph, minus initializers listed as graph inputs (old exporters do that):
    onnxruntime warns once per such initializer per session, and fp16 conversion breaks on them."""
    import onnx

    model = onnx.load(str(src))
    init = {i.name for i in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in init]
    try:
        if len(keep) == len(model.graph.input):
            shutil.copyfile(src, dst)
            return
        del model.graph.input[:]
        model.graph.input.extend(keep)
        onnx.save(model, str(dst))
    except Exception as exc:
        _raise_if_disk_full(exc, dst.parent)
        raise


# -- quiet around the one line ------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_onnxruntime():
    """onnxruntime logs warnings per initializer and per session (thousands of lines for one model): errors
    only while the exporter converts and checks, back to onnxruntime's default (warnings) after."""
    ort = None
    if not verbose():
        with contextlib.suppress(ImportError):
            import onnxruntime as ort
    if ort is None:
        yield
        return
    ort.set_default_logger_severity(3)
    try:
        yield
    finally:
        ort.set_default_logger_severity(2)


def _raise_if_disk_full(exc: BaseException, work: Path) -> None:
    """A full disk is said as such, not as an export failure (torch wraps it in a RuntimeError). `work`: the
    private folder beside the output, where everything is written first."""
    seen: BaseException | None = exc
    while seen is not None:
        if (isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT)) or any(
            m in str(seen) for m in ("No space left on device", "Disk quota exceeded")
        ):
            raise BadInput(
                f"the disk is full: no space left in {work.parent} while exporting; free some space there or "
                "write the artifact elsewhere (-o)"
            ) from None
        seen = seen.__cause__ or seen.__context__
