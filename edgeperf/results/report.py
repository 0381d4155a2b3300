"""The report envelope every measuring command writes (docs/reference/schemas.md).

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
from edgeperf.results.io import atomic_write_text, read_document, short_path, validate

# The kinds of report and the newest version of each that this edgeperf reads and writes.
SCHEMAS = {"export": 1, "profile": 1, "devices": 1, "validate": 1, "measure": 1, "hil": 1}
SCHEMAS["reliability"] = 1  # analysis/reliability.py: Chan et al. 2020 metrics over training curves
SCHEMAS["sim2sim"] = 1  # validation/sim2sim.py: one policy in two simulators, a transfer verdict
SCHEMAS["doctor"] = 1  # validation/doctor: why a policy fails in a domain, and the corrected spec
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
    """What a command measured, as the JSON report file holds it (the envelope is the same for every kind).

    Attributes:
        schema: `edgeperf.KIND/VERSION` (edgeperf.profile/1, edgeperf.export/1, ...): the kind of `results`.
        results: The measured figures, as the kind's schema lays them out.
        config: The configuration the command ran with (its config's `to_dict()`).
        model: The artifact measured (path, sha256, format, precision, inputs), or None.
        host: Where it was measured (edgeperf.devices.detect.host_summary()).
        unmeasured: A figure that could not be measured here -> why.
        warnings: What the reader should know about these figures.
        run_id: The run's id (in the run store too).
        created_at: When, in UTC (ISO 8601).
        edgeperf_version: The edgeperf that measured it.

    Examples:
        >>> import edgeperf
        >>> _ = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> report = edgeperf.profile("policy.onnx", iterations=200, duration=0.1, warmup=10)
        >>> report.kind, report.model.format
        ('profile', 'onnx')
        >>> report.write("profile.json")
        >>> edgeperf.load_report("profile.json").to_dict() == report.to_dict()
        True
    """

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
        kind = check_schema(d["schema"], source)
        _check_envelope(d, source)
        validate(d, json_schema(kind), source)
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


# --- the versioned JSON Schema of each report kind ------------------------------------------------------------
# What edgeperf's readers of a report (history, compare, check, --latency-from, the store) rely on, as JSON Schema
# (draft 2020-12; results/io.py validates the keywords used). Fields a reader does not use stay open, and a figure
# that could not be measured may be null (written so from NaN): a valid report of each version passes unchanged.


def _num(minimum: float | None = None, maximum: float | None = None, *, integer: bool = False) -> dict:
    out: dict = {"type": ["integer" if integer else "number", "null"]}
    if minimum is not None:
        out["minimum"] = minimum
    if maximum is not None:
        out["maximum"] = maximum
    return out


def _obj(props: dict | None = None, *, required: tuple = (), null: bool = True, also: tuple = ()) -> dict:
    out: dict = {"type": ["object", *also, *(("null",) if null else ())], "properties": props or {}}
    if required:
        out["required"] = list(required)
    return out


_STR = {"type": ["string", "null"]}
_COUNT = _num(0, integer=True)
_TALLY = {"type": "integer", "minimum": 0}  # a count edgeperf always writes (steps, misses, episodes): never null
_RATE = _num(0, 1)
_AMOUNT = _num(0)
_CI = {"type": "array", "items": _num(), "minItems": 2, "maxItems": 2}
_PERCENTILES = {pct_key(p): _AMOUNT for p in PERCENTILES}
_LATENCY = _obj({"count": _COUNT, "mean": _AMOUNT, "min": _AMOUNT, "max": _AMOUNT, "std": _AMOUNT,
                 **_PERCENTILES, "p99_ci95": {**_CI, "type": ["array", "null"]}})  # fmt: skip
_POWER = _obj({"total": _obj({"per_inference_above_idle_mJ": _num(), "energy_above_idle_J": _num()}),
               "estimate": {"type": ["boolean", "null"]}})  # fmt: skip
_EPISODES = _obj({"episodes": _TALLY, "success_rate": {"type": "number", "minimum": 0, "maximum": 1},
                  "return": _obj({"mean": _num(), "ci95": _CI}, required=("mean", "ci95"))})  # fmt: skip
_PAIRED = _obj({"verdict": _STR, "mean_return_difference": _num()})
_VERSIONS = {"type": ["object", "null"], "additionalProperties": _STR}
_RUN = {"mode": _STR, "domain": _obj({"id": _STR}, also=("string",)), "backend": _obj({"name": _STR}, also=("string",))}

RESULTS: dict[str, dict] = {
    "profile": {
        "latency_us": _LATENCY,
        "deadline": _obj(
            {"periods": _TALLY, "misses": _TALLY, "miss_rate": _RATE, "period_us": _AMOUNT, "deadline_us": _AMOUNT},
            required=("periods", "misses", "miss_rate"),
        ),
        "memory": _obj({"peak_rss_bytes": _COUNT}),
        "throughput_per_s": _AMOUNT,
        "power": _POWER,
    },
    "export": {
        "size_bytes": _COUNT,
        "parity": _obj(
            {
                "passed": {"type": ["boolean", "null"]},
                "max_abs_error": _AMOUNT,
                "p99_abs_error": _AMOUNT,
                "max_abs_error_per_dim": {"type": ["array", "null"], "items": _AMOUNT},
            }
        ),
    },
    "validate": {"reference": _EPISODES, "deployed": _EPISODES, "paired": _PAIRED},
    "hil": {
        "link": _obj(
            {"steps": _TALLY, "queries": _TALLY, "misses": _TALLY, "round_trip_us": _LATENCY}, required=("misses",)
        ),
        "hil": _EPISODES,
        "sil": _EPISODES,
        "paired": _PAIRED,
    },
    "measure": {
        "wall_s": _AMOUNT,
        "exit_code": _num(integer=True),
        "memory": _obj({"peak_tree_rss_bytes": _COUNT}),
        "power": _POWER,
    },
    "devices": {},
    "reliability": {
        "n_runs": _COUNT,
        "across_runs": _obj(
            {"median_final_value": _num(), "dispersion_across_runs": _num(), "risk_across_runs": _num()}
        ),
    },
    "generalize": {"aggregate": _obj({"tasks": _COUNT, "sum_of_mean_returns": _num(), "mean_success_rate": _RATE})},
    "sim2sim": {
        "transfer": _obj({"verdict": _STR, "return_difference": _num()}),
        "a": _obj({"success_rate": _RATE}),
        "b": _obj({"success_rate": _RATE}),
    },
    "doctor": {
        "verdict": _STR,
        "baseline": _obj({"success_rate": _RATE}),
        "search": _obj({"coverage": _RATE}),
    },
}


def results_schema(kind: str) -> dict:
    """The JSON Schema of the `results` of a report of `kind` (the typed results, results/kinds/, are read by it)."""
    return _obj({**_RUN, **RESULTS[kind]}, null=False)


def json_schema(kind: str) -> dict:
    """The JSON Schema of a report of `kind` at the version this edgeperf reads and writes (SCHEMAS)."""
    model = _obj(
        {"path": _STR, "sha256": _STR, "format": _STR,
         "precision": _STR, "inputs": {"type": ["array", "null"]}, "outputs": {"type": ["array", "null"]},
         "size_bytes": _COUNT},
        required=("path", "sha256", "format"),
    )  # fmt: skip
    config = {"device": _STR, "backend": _STR, "precision": _STR, "domain": _STR, "rate_hz": _AMOUNT,
              "batch": _num(1, integer=True), "stress": _COUNT}  # fmt: skip
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": schema_id(kind),
        "type": "object",
        "required": ["schema"],
        "properties": {
            "schema": {"type": "string", "enum": [schema_id(kind)]},
            "run_id": {"type": "string"},
            "created_at": {"type": "string"},
            "edgeperf_version": {"type": "string"},
            "host": _obj(
                {"device": _STR, "cpu": _STR, "versions": _VERSIONS, "gpus": {"type": ["array", "null"]}}, null=False
            ),
            "model": model,
            "config": _obj(config, null=False),
            "results": results_schema(kind),
            "unmeasured": {"type": "object"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    }


MAX_REPORT_BYTES = 64 * 2**20  # a report is KBs (samples go to the store and the CSV); read no more than this


def load_report(path: str | os.PathLike, kind: str | None = None) -> Report:
    """Read a report, rejecting files that are not JSON, not reports, or of an unknown schema version; the file is
    read by results.io.read_document (a regular file, bounded in size and nesting) and held to its schema.

    Args:
        path: The report file (JSON, as `Report.write` or `edgeperf ... --json` wrote it).
        kind: The report kind expected (profile, export, validate, ...), or None for any.

    Returns:
        The Report.

    Raises:
        BadInput: Not a report, an unknown schema version, one that breaks its schema, or not of `kind`.

    Examples:
        >>> import edgeperf
        >>> _ = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> edgeperf.profile("policy.onnx", iterations=200, duration=0.1, warmup=10).write("profile.json")
        >>> edgeperf.load_report("profile.json", kind="profile").schema
        'edgeperf.profile/1'
        >>> edgeperf.load_report("profile.json", kind="export")
        Traceback (most recent call last):
        edgeperf.errors.BadInput: profile.json is an edgeperf.profile/1 report; expected edgeperf.export/1
    """
    p = Path(path)
    data = read_document(p, "report", max_bytes=MAX_REPORT_BYTES, mapping=False)  # from_dict says what else it is
    report = Report.from_dict(data, source=short_path(p))
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
