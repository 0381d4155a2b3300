"""`edgeperf export`: a trained policy -> a deployable artifact, with parity proven."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import (
    DbOpt,
    JsonOut,
    NoStoreOpt,
    console,
    store_target,
    write_report,
)


def export(
    out: Annotated[
        Path,
        typer.Option(
            "-o",
            "--out",
            help="The artifact to write: policy.onnx, policy.xml (OpenVINO IR), policy.engine (TensorRT).",
        ),
    ],
    source: Annotated[
        str | None,
        typer.Argument(
            help="The policy: a TorchScript file (.pt), a Stable-Baselines3 model (.zip), an ONNX model to "
            "re-target (.onnx), or example:mlp. With --factory: the weights file.",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="onnx | openvino | tensorrt. Default: from the -o suffix.", show_default=False),
    ] = None,
    precision: Annotated[str, typer.Option("--precision", help="fp32 | fp16 | int8.")] = "fp32",
    quantization: Annotated[
        str,
        typer.Option(
            "--quantization",
            help="int8 only: dynamic (no calibration; ONNX) or static (calibrated); auto: dynamic for ONNX, "
            "static for OpenVINO and TensorRT.",
        ),
    ] = "auto",
    calibration_samples: Annotated[
        int,
        typer.Option(
            "--calibration-samples",
            help="Observations for static int8 calibration, random in the observation space.",
        ),
    ] = 512,
    factory: Annotated[
        str | None,
        typer.Option(
            "--factory",
            metavar="MODULE:FUNCTION",
            help="Build the network with this function (e.g. my_pkg.nets:make_policy or nets.py:make_policy) "
            "and load --weights into it. Imports and runs that code.",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="With --factory: the state_dict file (torch.load with weights_only=True)."),
    ] = None,
    factory_args: Annotated[
        str | None,
        typer.Option(
            "--factory-args", metavar="JSON", help="With --factory: keyword arguments, e.g. '{\"obs_dim\": 48}'."
        ),
    ] = None,
    vecnormalize: Annotated[
        str | None,
        typer.Option(
            "--vecnormalize",
            help="SB3 VecNormalize statistics (.pkl) to bake into the graph, so the artifact takes raw observations "
            "(read through an allowlist: numpy arrays and VecNormalize's plain attributes, nothing else runs).",
        ),
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="Load an SB3 .zip through SB3 itself, which unpickles it and runs code from the file (only for "
            "what the pickle-free reader cannot rebuild: custom policies, Dict or image observations).",
        ),
    ] = False,
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (13..21).")] = 18,
    obs_shape: Annotated[
        str | None,
        typer.Option("--obs-shape", help="Observation shape without batch, e.g. 48 (TorchScript, --factory)."),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="Parity and int8 calibration on observations from the policy's own rollouts "
            "in this domain (e.g. quadruped/trot), instead of random points of its input space.",
        ),
    ] = None,
    calibration_episodes: Annotated[
        int, typer.Option("--calibration-episodes", help="With --domain: episodes rolled out per observation set.")
    ] = 4,
    check: Annotated[bool, typer.Option("--check/--no-check", help="Prove parity with the original.")] = True,
    parity_samples: Annotated[int, typer.Option("--parity-samples", help="Observations for the parity check.")] = 512,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the parity (and calibration) observations.")] = 0,
    max_batch: Annotated[int, typer.Option("--max-batch", help="TensorRT: largest batch the engine accepts.")] = 64,
    timing_cache: Annotated[
        Path | None,
        typer.Option(
            "--timing-cache",
            help="TensorRT: timing cache file, reused and updated "
            "(default: ~/.cache/edgeperf/tensorrt-VERSION.timing-cache).",
            show_default=False,
        ),
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="An ONNX source's recurrent state: IN:OUT pairs, e.g. h_in:h_out,c_in:c_out (each state input "
            "and the output that feeds it back at the next step; zeros at an episode start).",
            show_default=False,
        ),
    ] = None,
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Export a policy to ONNX, OpenVINO or TensorRT, with parity.

    Export a policy to ONNX, OpenVINO IR or a TensorRT engine, and prove it computes the same actions.

    The artifact takes raw observations and returns the action the robot applies: observation normalization
    (SB3 VecNormalize) and action clipping/unscaling are inside the graph; a discrete policy returns the
    chosen action and its logits. Spaces, normalization and precision travel as metadata (ONNX metadata_props;
    a .edgeperf.json sidecar for OpenVINO and TensorRT). Parity: the original and the artifact run on the same
    observations, compared in action units with a tolerance per precision. Exit codes: 1 parity failed
    (the artifact is kept for inspection), 2 bad input, 3 a missing dependency (e.g. tensorrt).

    Trust: SB3 .zip and VecNormalize .pkl files are Python pickles and --factory imports your code; loading
    them runs code, so only export files you trust.
    """
    from edgeperf import verdict
    from edgeperf.artifact import sidecar
    from edgeperf.config import ExportConfig
    from edgeperf.exporter.onnx import export as run_export
    from edgeperf.exporter.sources import parse_factory_args
    from edgeperf.results import render
    from edgeperf.results.io import check_paths
    from edgeperf.runtime.session import parse_shape

    suffix = out.suffix.lower()
    store = store_target(db, no_store)
    check_paths(
        {"--json": json_path, "--db": store and store.path, "--timing-cache": timing_cache},
        {
            "the source": source,
            "--weights": weights,
            "--vecnormalize": vecnormalize,
            "--factory": factory.rsplit(":", 1)[0] if factory and ":" in factory else None,
        },
        artifacts={
            "-o": out,
            # OpenVINO and TensorRT carry a metadata sidecar; OpenVINO its weights beside the .xml.
            "-o's sidecar": sidecar(out) if suffix != ".onnx" else None,
            "-o's weights": out.with_suffix(".bin") if suffix == ".xml" else None,
        },
    )
    cfg = ExportConfig(
        source=source, format=format, precision=precision, quantization=quantization, opset=opset,
        obs_shape=parse_shape(obs_shape, option="--obs-shape"), factory=factory, weights=weights,
        factory_args=parse_factory_args(factory_args), vecnormalize=vecnormalize, check_parity=check,
        parity_samples=parity_samples, calibration_samples=calibration_samples, seed=seed, max_batch=max_batch,
        timing_cache=timing_cache, domain=domain, calibration_episodes=calibration_episodes, state=state,
        trust_pickle=trust_pickle,
    )  # fmt: skip
    report = run_export(cfg.source, out, config=cfg)
    con = console(json_path)
    render.export(report, con)
    _details(report, con)
    write_report(report, json_path, con, store=store)
    verdict.check(report)  # parity failed: exit 1, the artifact kept for inspection


def _details(report, con) -> None:
    """What render.export does not show: quantization, discrete agreement, where metadata went."""
    from rich.markup import escape

    from edgeperf.results.kinds import ExportResults

    r = ExportResults.from_dict(report.results)
    q = r.quantization
    if q:
        line = f"int8 {q.mode}: {q.quantized_nodes} quantized nodes"
        if c := q.calibration:
            line += f"; calibrated on {c.observations} observations, {c.source} ({c.method})"
        con.print(escape(line))
    par = r.parity
    if par and par.action_kind == "discrete":
        con.print(
            f"discrete action agreement {par.agreement_rate:.1%} ({par.disagreements} disagreements, "
            f"{par.disagreements_on_near_ties} on near-ties); errors above are of the logits"
        )
    if report.model.format in ("openvino", "tensorrt"):
        con.print(escape(f"metadata in {report.model.path}.edgeperf.json; files: {', '.join(r.files)}"))
