"""The report envelope every measuring command writes (DESIGN.md "Report").

One JSON document: `schema` (e.g. `edgeperf.profile/1`), `run_id`, `created_at`, `edgeperf_version`, `host`,
`model`, `config`, `results`, `unmeasured` (figure -> why it could not be measured: never a 0 in its place)
and `warnings`. Writes go through results/io.py: atomic, regular files only (a device or FIFO written through),
so a crash never leaves a half-written report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import sys
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from edgeperf._version import __version__
from edgeperf.errors import BadInput
from edgeperf.results.io import atomic_write_text

# The kinds of report and the newest version of each that this edgeperf reads and writes.
SCHEMAS = {"export": 1, "profile": 1, "devices": 1, "validate": 1, "measure": 1, "hil": 1}
SCHEMAS["reliability"] = 1  # analysis/reliability.py: Chan et al. 2020 metrics over training curves
SCHEMAS["sim2sim"] = 1  # domains/sim2sim.py: one policy in two simulators, a transfer verdict
SCHEMAS["doctor"] = 1  # domains/doctor: why a policy fails in a domain, and the corrected spec
SCHEMAS["generalize"] = 1  # analysis/generalize.py: one policy on several tasks, each against its reference


# The latency percentiles a profile report carries (results.latency_us.p50 ... p99_9): part of the schema.
PERCENTILES = (50, 90, 95, 99, 99.9)


def pct_key(p: float) -> str:
    return f"p{p:g}".replace(".", "_")


def schema_id(kind: str) -> str:
    return f"edgeperf.{kind}/{SCHEMAS[kind]}"


@dataclass
class ModelInfo:
    path: str
    sha256: str
    format: str  # onnx, torchscript, tensorrt, openvino
    precision: str | None = None
    inputs: list[dict] = field(default_factory=list)  # [{"name", "shape", "dtype"}]
    outputs: list[dict] = field(default_factory=list)
    size_bytes: int | None = None

    @classmethod
    def from_dict(cls, d: dict) -> ModelInfo:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass
class Report:
    schema: str
    results: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    model: ModelInfo | None = None
    host: dict = field(default_factory=dict)
    unmeasured: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    edgeperf_version: str = __version__

    @classmethod
    def new(cls, kind: str, host: dict, **kw) -> Report:
        """A report of `kind` measured on `host` (edgeperf.devices.detect.host_summary(): probed once)."""
        return cls(schema=schema_id(kind), host=host, **kw)

    @property
    def kind(self) -> str:
        return self.schema.split(".", 1)[1].split("/", 1)[0]

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def to_dict(self) -> dict:
        d = asdict(self)
        # Keep the envelope's keys first, in a stable order, for readers of the raw file.
        order = [
            "schema",
            "run_id",
            "created_at",
            "edgeperf_version",
            "host",
            "model",
            "config",
            "results",
            "unmeasured",
            "warnings",
        ]
        return {k: d[k] for k in order}

    def to_json(self) -> str:
        return json.dumps(_finite(self.to_dict()), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "report") -> Report:
        if not isinstance(d, dict) or "schema" not in d:
            raise BadInput(f"{source} is not an edgeperf report (no 'schema' field)")
        check_schema(d["schema"], source)
        _check_envelope(d, source)
        _check_measured(d.get("results"), source, "results")
        model = ModelInfo.from_dict(d["model"]) if d.get("model") else None
        known = {f.name for f in fields(cls)} - {"model"}
        return cls(model=model, **{k: v for k, v in d.items() if k in known})

    def write(self, path: str | os.PathLike) -> None:
        """Write to `path` atomically, or to stdout when path is '-'."""
        text = self.to_json()
        if str(path) == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        atomic_write_text(path, text)


def check_schema(schema: str, source: str = "report") -> str:
    """Return the report kind, or raise BadInput for a schema this version of edgeperf does not know."""
    try:
        prefix, version = str(schema).rsplit("/", 1)
        family, kind = prefix.split(".", 1)
        version_n = int(version)
    except ValueError:
        raise BadInput(f"{source} has a malformed schema {schema!r}; expected e.g. 'edgeperf.profile/1'") from None
    if family != "edgeperf" or kind not in SCHEMAS:
        known = ", ".join(schema_id(k) for k in SCHEMAS)
        raise BadInput(f"{source} has unknown schema {schema!r}; this edgeperf reads {known}")
    if version_n != SCHEMAS[kind]:
        newer = version_n > SCHEMAS[kind]
        raise BadInput(
            f"{source} has schema {schema!r} but this edgeperf {__version__} reads {schema_id(kind)}"
            + ("; upgrade edgeperf to read it" if newer else "; re-run the measurement to get a current report")
        )
    return kind


# Figures that are latencies or sizes, never negative (offsets, lateness and energy above idle can be)
LATENCIES = ("latency_us", "round_trip_us", "inference_us", "server_us", "network_us", "stale_round_trip_us",
             "first_inference_us", "response_us", "p50_us", "p99_us", "p99_9_us", "rtt_p99_us")  # fmt: skip


# The envelope's fields and the JSON type each must have (a file that says otherwise is bad input, never a traceback)
ENVELOPE_TYPES = {"results": dict, "config": dict, "host": dict, "unmeasured": dict, "warnings": list,
                  "run_id": str, "created_at": str, "edgeperf_version": str, "model": dict}  # fmt: skip


def _check_envelope(d: dict, source: str) -> None:
    for key, kind in ENVELOPE_TYPES.items():
        value = d.get(key)
        if value is not None and not isinstance(value, kind):
            raise BadInput(f"{source}: '{key}' is {type(value).__name__}, a report's {key} is a JSON {kind.__name__}")
    model = d.get("model")
    if model:
        missing = [k for k in ("path", "sha256", "format") if k not in model]
        if missing:
            raise BadInput(f"{source}: model lacks {', '.join(missing)}")
    if any(not isinstance(w, str) for w in d.get("warnings") or []):
        raise BadInput(f"{source}: warnings must be a list of strings")
    results = d.get("results") or {}
    for key in ("latency_us", "round_trip_us", "inference_us"):  # blocks of percentiles, where a report has them
        block = results.get(key)
        if block is not None and not isinstance(block, dict):
            raise BadInput(f"{source}: results.{key} is {type(block).__name__}; a latency block is a JSON object")


def _check_measured(node, source: str, where: str, inside: bool = False, depth: int = 0) -> None:
    """A latency or a size a report holds is a finite number >= 0: a file that says p99 is -5 us or NaN is refused
    as bad input (compare called negative latencies improved, check scored NaN as over a limit)."""
    if depth > 12:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            measured = isinstance(key, str) and (key in LATENCIES or key.endswith("_bytes"))
            _check_measured(value, source, f"{where}.{key}", inside or measured, depth + 1)
    elif isinstance(node, list) and inside:
        for i, value in enumerate(node[:64]):
            _check_measured(value, source, f"{where}[{i}]", True, depth + 1)
    elif (
        inside
        and isinstance(node, (int, float))
        and not isinstance(node, bool)
        and not (math.isfinite(node) and node >= 0)
    ):
        raise BadInput(f"{source}: {where} is {node}: a measured latency or size is a finite number >= 0")


def load_report(path: str | os.PathLike, kind: str | None = None) -> Report:
    """Read a report, rejecting files that are not JSON, not reports, or of an unknown schema version."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except RecursionError:
        raise BadInput(f"{p} is nested too deep to be an edgeperf report") from None
    except FileNotFoundError:
        raise BadInput(f"report {p} does not exist") from None
    except OSError as exc:  # a directory, a permission problem
        raise BadInput(f"cannot read report {p}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{p} is not a JSON report ({exc})") from None
    report = Report.from_dict(data, source=str(p))
    if kind and report.kind != kind:
        raise BadInput(f"{p} is an {report.schema} report; expected {schema_id(kind)}")
    return report


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: a non-finite float becomes None (callers record why in `unmeasured`)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
