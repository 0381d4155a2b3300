"""Export a policy source to one self-contained ONNX file, with metadata embedded and parity checked."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

from edgeperf._version import __version__
from edgeperf.errors import BadInput, require
from edgeperf.exporter import metadata, sources
from edgeperf.exporter.parity import parity
from edgeperf.results.report import ModelInfo, Report, sha256_file

DEFAULT_OPSET = 18
FORMATS = ("onnx",)
PRECISIONS = ("fp32",)


def export(
    source: str,
    out: str | Path,
    *,
    format: str = "onnx",
    precision: str = "fp32",
    opset: int = DEFAULT_OPSET,
    obs_shape: tuple[int, ...] | None = None,
    check: bool = True,
    parity_samples: int = 512,
    seed: int = 0,
) -> Report:
    """Export `source` to `out`; the report's results hold the export time, size and parity verdict."""
    if format not in FORMATS:
        raise BadInput(f"--format {format}: this version exports {', '.join(FORMATS)}")
    if precision not in PRECISIONS:
        raise BadInput(f"--precision {precision}: this version exports {', '.join(PRECISIONS)}")
    if not 13 <= opset <= 21:
        raise BadInput(f"--opset {opset} is outside the supported range 13..21")
    out = Path(out)
    if out.is_dir():
        raise BadInput(f"-o {out} is a directory; give the file to write, e.g. {out / 'policy.onnx'}")
    if not out.parent.exists():
        raise BadInput(f"cannot write {out}: directory {out.parent} does not exist")
    src = sources.load(source, obs_shape)
    torch = require("torch", "export", "to export policies")

    t0 = time.perf_counter()
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".onnx", dir=out.parent)
    os.close(fd)
    try:
        _torch_to_onnx(torch, src, tmp, opset)
        _embed_metadata(tmp, src, precision)
        export_s = time.perf_counter() - t0
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)

    report = Report.new(
        "export",
        model=ModelInfo(
            path=str(out),
            sha256=sha256_file(out),
            format="onnx",
            precision=precision,
            inputs=[{"name": "obs", "shape": ["batch", *src.obs_shape], "dtype": "float32"}],
            outputs=[{"name": "action", "dtype": "float32"}],
            size_bytes=out.stat().st_size,
        ),
        config={
            "source": source,
            "source_kind": src.kind,
            "format": format,
            "precision": precision,
            "opset": opset,
            "obs_shape": list(src.obs_shape),
            "check": check,
        },
        warnings=list(src.notes[1:] if src.kind == "example" else src.notes),
    )
    report.results = {"export_s": export_s, "size_bytes": out.stat().st_size, "source_sha256": src.sha256}
    if src.kind == "example":
        report.results["source_description"] = src.notes[0]
    if check:
        report.results["parity"] = parity(src, out, precision, n=parity_samples, seed=seed)
    else:
        report.unmeasured["parity"] = "skipped with --no-check"
    return report


def _torch_to_onnx(torch, src: sources.PolicySource, path: str, opset: int) -> None:
    example = torch.zeros(2, *src.obs_shape)
    names = {"input_names": ["obs"], "output_names": ["action"]}
    # torch's exporters are chatty (progress lines, warnings about optional packages): keep the CLI's output ours.
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if isinstance(src.module, torch.jit.ScriptModule):
            # TorchScript goes through the TorchScript-based exporter; torch.export cannot trace it.
            torch.onnx.export(
                src.module,
                (example,),
                path,
                dynamo=False,
                opset_version=min(opset, 20),
                dynamic_axes={"obs": {0: "batch"}, "action": {0: "batch"}},
                **names,
            )
        else:
            program = torch.onnx.export(
                src.module,
                (example,),
                dynamo=True,
                opset_version=opset,
                verbose=False,
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                **names,
            )
            program.save(path, external_data=False)
    logger.setLevel(level)


def _embed_metadata(path: str, src: sources.PolicySource, precision: str) -> None:
    import onnx

    model = onnx.load(path)
    props = metadata.encode(
        {
            "version": __version__,
            "source": src.name,
            "source_sha256": src.sha256,
            "source_kind": src.kind,
            "obs_shape": list(src.obs_shape),
            "obs_space": src.obs_space,
            "precision": precision,
        }
    )
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    model.producer_name, model.producer_version = "edgeperf", __version__
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
