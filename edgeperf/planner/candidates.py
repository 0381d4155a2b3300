"""What a plan may deploy: the grid of candidates (precision x backend x threads) the target can run, and the budget
they must meet, both parsed and checked before any work.

A candidate is one way to run the policy on the target: an artifact (precision x format, one export shared by every
thread count) opened by a backend with a number of intra-op threads.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from edgeperf.config.profile import usable_cores
from edgeperf.devices import catalog
from edgeperf.devices.detect import backend_info, this_device
from edgeperf.errors import BadInput
from edgeperf.profilers.run import check_target

PRECISIONS = ("fp32", "fp16", "int8")
# backend -> the artifact format it runs (the exporter writes each)
FORMATS = {"onnxruntime": "onnx", "openvino": "openvino", "tensorrt": "tensorrt"}
SUFFIX = {"onnx": ".onnx", "openvino": ".xml", "tensorrt": ".engine"}
BACKEND_NAMES = {"onnxruntime": "ONNX Runtime", "openvino": "OpenVINO", "tensorrt": "TensorRT"}
MAX_CANDIDATES = 200
MAX_THREADS = 64


@dataclass(frozen=True)
class Candidate:
    precision: str
    backend: str
    threads: int

    @property
    def format(self) -> str:
        return FORMATS[self.backend]

    @property
    def artifact_id(self) -> str:
        """The export this candidate runs (shared by its thread counts)."""
        return f"{self.precision}-{self.format}"

    @property
    def id(self) -> str:
        return f"{self.precision}-{self.backend}-t{self.threads}"

    @property
    def label(self) -> str:
        t = "thread" if self.threads == 1 else "threads"
        return f"{self.precision} {BACKEND_NAMES[self.backend]} {self.threads} {t}"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "precision": self.precision,
            "backend": self.backend,
            "format": self.format,
            "threads": self.threads,
        }


@dataclass(frozen=True)
class Target:
    """What the target computer offers: the backends (and so formats) and precisions a plan may try there."""

    device: str  # the catalog id
    name: str
    backends: tuple[str, ...]
    precisions: tuple[str, ...]  # the preferred ones (the catalog's), the default grid; any of PRECISIONS may be named
    cores: int
    why_not: dict  # backend -> why the target does not offer it
    remote: str | None = None

    def to_dict(self) -> dict:
        return {
            "device": self.device,
            "name": self.name,
            "backends": list(self.backends),
            "precisions": list(self.precisions),
            "cores": self.cores,
            "not_offered": dict(self.why_not),
            "host": self.remote,
        }


def target(device: str = "auto", host: str | None = None) -> Target:
    """The target: this machine (its installed backends), or with `host` the device the catalog names (formats
    that are built for a GPU on the device itself, TensorRT engines, are not offered: export them there)."""

    why: dict = {}
    if host is None:
        spec = check_target(device)
        info = backend_info()
        offered = []
        for b in FORMATS:
            if not info.get(b, {}).get("available"):
                why[b] = info.get(b, {}).get("reason", "not installed")
            elif b == "tensorrt" and not _has_cuda():
                why[b] = "no CUDA GPU here"
            else:
                offered.append(b)
        cores = usable_cores()
    else:
        spec = catalog.resolve(device, this_device()) if device not in ("auto", "local", "host") else None
        known = spec.backends if spec is not None and spec.backends else ("onnxruntime",)
        offered = [b for b in known if b in FORMATS and b != "tensorrt"]
        for b in FORMATS:
            if b not in offered:
                why[b] = (
                    "a TensorRT engine is built for its GPU on the device itself: export it there"
                    if b == "tensorrt"
                    else f"not in the catalog's backends for {spec.id if spec else 'an unnamed device'}"
                    + ("" if spec else " (name it with --device)")
                )
        cores = 64
    precisions = tuple(p for p in (spec.precisions if spec is not None and spec.precisions else PRECISIONS))
    precisions = tuple(p for p in PRECISIONS if p in precisions) or PRECISIONS
    return Target(
        device=spec.id if spec is not None else "remote",
        name=spec.name if spec is not None else host or "",
        backends=tuple(offered),
        precisions=precisions,
        cores=cores,
        why_not=why,
        remote=host,
    )


def _has_cuda() -> bool:
    try:
        import onnxruntime as ort

        return "CUDAExecutionProvider" in ort.get_available_providers()
    except Exception:
        return False


_AXES = {"precisions": "precision", "backends": "backend", "threads": "threads"}


def parse_grid(text: str | None, tgt: Target) -> list[Candidate]:
    """`--candidates 'precisions=fp32,fp16 backends=onnxruntime threads=1,2'` (axes separated by spaces or ';';
    an axis left out takes every value the target offers, threads 1 and 2)."""
    axes: dict[str, list[str]] = {}
    for part in re.split(r"[\s;]+", (text or "").strip()):
        if not part:
            continue
        key, sep, values = part.partition("=")
        key = key.strip().lower()
        if key in _AXES.values():
            key += "s" if key != "threads" else ""
        if not sep or key not in _AXES:
            raise BadInput(
                f"--candidates {text!r}: give AXIS=V1,V2 with axes precisions, backends and threads, e.g. "
                "'precisions=fp32,fp16,int8 backends=onnxruntime threads=1,2'"
            )
        if key in axes:
            raise BadInput(f"--candidates {text!r}: {key} is given twice")
        axes[key] = [v.strip().lower() for v in values.split(",") if v.strip()]
    precisions = axes.get("precisions", list(tgt.precisions))
    backends = axes.get("backends", list(tgt.backends))
    threads_text = axes.get("threads", [t for t in ("1", "2") if int(t) <= max(1, tgt.cores)])
    for p in precisions:
        if p not in PRECISIONS:
            raise BadInput(
                f"precision {p!r} is not one {tgt.name or tgt.device} offers; it offers {', '.join(PRECISIONS)} "
                f"(preferred there: {', '.join(tgt.precisions)})"
            )
    for b in backends:
        if b not in tgt.backends:
            why = f" ({tgt.why_not[b]})" if b in tgt.why_not else ""
            offers = ", ".join(tgt.backends) or "none of onnxruntime, openvino, tensorrt"
            raise BadInput(f"backend {b!r} is not one {tgt.name or tgt.device} offers{why}; it offers {offers}")
    threads = []
    for t in threads_text:
        if not t.isdigit() or not 1 <= int(t) <= MAX_THREADS:
            raise BadInput(f"--candidates threads={t!r}: give thread counts from 1 to {MAX_THREADS}, e.g. threads=1,2")
        threads.append(int(t))
    grid = [
        Candidate(p, b, t)
        for b in dict.fromkeys(backends)
        for p in dict.fromkeys(precisions)
        for t in dict.fromkeys(threads)
    ]
    if not grid:
        empty = [k for k, v in (("precisions", precisions), ("backends", backends), ("threads", threads)) if not v]
        raise BadInput(
            f"--candidates {text!r} makes a grid of zero candidates ({', '.join(empty)} empty"
            + (": the target offers no backend edgeperf exports to" if not tgt.backends else "")
            + "); give at least one value per axis"
        )
    if len(grid) > MAX_CANDIDATES:
        raise BadInput(f"--candidates makes {len(grid)} candidates; at most {MAX_CANDIDATES} per plan")
    return grid


# -- the budget -----------------------------------------------------------------------------------------------------

# 'p99<=10ms' names -> (report kind, budget key, unit kind)
_BUDGET_KEYS = {
    "p50": ("profile", "p50_us", "time"),
    "p99": ("profile", "p99_us", "time"),
    "p99.9": ("profile", "p99_9_us", "time"),
    "p999": ("profile", "p99_9_us", "time"),
    "mj": ("profile", "mj_per_inference", "mj"),
    "energy": ("profile", "mj_per_inference", "mj"),
    "miss": ("profile", "miss_rate", "rate"),
    "misses": ("profile", "miss_rate", "rate"),
    "rss": ("profile", "peak_rss_mb", "mb"),
    "success": ("validate", "success", "rate"),
}
_TIME = {"us": 1.0, "ms": 1e3, "s": 1e6}
DEFAULT_MISS_RATE = 0.01  # a loop that misses more than 1% of its deadlines is not a deployment


@dataclass(frozen=True)
class Limit:
    kind: str  # profile | validate
    key: str  # a budget key of results/budget.py (p99_us, mj_per_inference, success_min)
    op: str
    value: float
    text: str  # as the user wrote it, or the default

    def to_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key, "op": self.op, "value": self.value, "text": self.text}


def parse_budget(text: str | None) -> list[Limit]:
    """`--budget 'p99<=10ms,mj<=2,miss<=1%,rss<=200MB,success>=0.9'`; a miss rate of at most 1% holds unless the
    budget names another."""
    limits: list[Limit] = []
    for raw in (text or "").split(","):
        part = raw.strip()
        if not part:
            continue
        m = re.fullmatch(r"([a-z0-9.]+)\s*(<=|>=|<|>)\s*([0-9.eE+-]+)\s*([a-zA-Z%]*)", part)
        if not m or m.group(1).lower() not in _BUDGET_KEYS:
            raise BadInput(
                f"--budget {part!r}: give NAME<=VALUE[UNIT] items separated by commas, names "
                f"{', '.join(k for k in _BUDGET_KEYS if k not in ('p999', 'energy', 'misses'))}, e.g. "
                "'p99<=10ms,mj<=2,miss<=1%'"
            )
        name, op, number, unit = m.group(1).lower(), m.group(2), m.group(3), m.group(4)
        kind, key, unit_kind = _BUDGET_KEYS[name]
        try:
            v = float(number)
        except ValueError:
            raise BadInput(f"--budget {part!r}: {number!r} is not a number") from None
        if not math.isfinite(v) or v < 0:
            raise BadInput(f"--budget {part!r}: a limit is a finite number >= 0")
        if op in ("<", ">"):  # edgeperf check's budgets are inclusive: a strict bound would be read as another
            raise BadInput(f"--budget {part!r}: limits are inclusive; write {op}= (e.g. p99<=10ms)")
        lower = op.startswith(">")
        if lower != (name == "success"):
            raise BadInput(f"--budget {part!r}: {name} takes " + (">=" if name == "success" else "<="))
        unit_l = unit.lower()
        if unit_kind == "time":
            if unit_l not in _TIME:
                raise BadInput(f"--budget {part!r}: give a latency with its unit, us, ms or s (e.g. p99<=10ms)")
            v *= _TIME[unit_l]
        elif unit_kind == "rate":
            if unit_l not in ("", "%"):
                raise BadInput(f"--budget {part!r}: give a fraction (0.01) or a percentage (1%)")
            v = v / 100 if unit_l == "%" else v
            if v > 1:
                raise BadInput(f"--budget {part!r}: a rate is at most 1 (100%)")
        elif unit_kind == "mj" and unit_l not in ("", "mj"):
            raise BadInput(f"--budget {part!r}: energy per inference is in mJ (e.g. mj<=2)")
        elif unit_kind == "mb" and unit_l not in ("", "mb", "mib"):
            raise BadInput(f"--budget {part!r}: memory is in MB (MiB), e.g. rss<=200MB")
        budget_key = f"{key}_min" if lower else key
        if any(x.key == budget_key for x in limits):
            raise BadInput(f"--budget: {name} is given twice")
        limits.append(Limit(kind, budget_key, ">=" if lower else "<=", v, part))
    if not any(x.key == "miss_rate" for x in limits):
        limits.append(Limit("profile", "miss_rate", "<=", DEFAULT_MISS_RATE, "miss<=1% (default)"))
    return limits


def budget_dict(limits: list[Limit], rate_hz: float, allow_estimate: bool) -> dict:
    """The limits as an `edgeperf check` budget (results/budget.py): at the plan's control rate, and the paired
    verdict the plan required."""
    prof: dict = {"rate_hz": rate_hz}
    val: dict = {"verdict": "equivalent"}
    for x in limits:
        (prof if x.kind == "profile" else val)[x.key] = x.value
    if allow_estimate and "mj_per_inference" in prof:
        prof["allow_estimate"] = True
    return {"profile": prof, "validate": val}
