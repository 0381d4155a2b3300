"""`edgeperf demo`: the main job end to end on the built-in example policy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the artifact and reports.")] = Path("out/demo"),
    duration: Annotated[float, typer.Option("--duration", help="Seconds of profiling.")] = 3.0,
) -> None:
    """Run the main job end to end on the built-in example policy.

    Exports example:mlp to ONNX with a parity check, then profiles it on this machine; writes policy.onnx,
    export.json and profile.json under --out.
    """
    from edgeperf.cli.common import console
    from edgeperf.errors import VerdictFailed
    from edgeperf.exporter.onnx import export
    from edgeperf.results import render

    con = console()
    out.mkdir(parents=True, exist_ok=True)
    artifact = out / "policy.onnx"
    con.rule("1/2 export example:mlp -> ONNX fp32")
    exported = export("example:mlp", artifact)
    render.export(exported, con)
    exported.write(out / "export.json")
    if not exported.results["parity"]["passed"]:
        raise VerdictFailed("the exported example policy failed parity; see export.json")
    con.rule("2/2 profile on this machine (onnxruntime, stream)")
    # In a fresh process, as on a robot: the exporter's torch must not inflate the memory being measured.
    cmd = [
        sys.executable,
        "-m",
        "edgeperf",
        "profile",
        str(artifact),
        "--duration",
        str(duration),
        "--json",
        str(out / "profile.json"),
    ]
    code = subprocess.call(cmd)
    if code:
        raise SystemExit(code)
    con.print(f"reports: {out / 'export.json'}, {out / 'profile.json'}")
