"""A sweep's TOML file and the job grid it spans.

    [sweep]
    output = "sweep-out"          # reports land in OUTPUT/jobs/ (default: CONFIG's name + "-out", beside it)
    workers = 4                   # local process pool (default: one per core)

    [validate]                    # every combination is one job (edgeperf validate)
    models = ["policy.onnx", "policy_int8.onnx"]
    domains = ["quadruped/trot"]
    latencies_ms = [0, 20]        # optional; 0 is no delay
    seeds = [0, 1000]             # seed of each job's first episode
    episodes = 20
    reference = "reference:quadruped/trot"   # optional; default: the domain's

    [profile]                     # edgeperf profile; on Ray, only on nodes with the device's resource
    models = ["policy.onnx"]
    devices = ["jetson-orin-nano"]   # optional; default "auto" (the machine the job lands on)
    iterations = 1000
    power = "auto"

    [export]                      # edgeperf export
    sources = ["policy.pt"]
    precisions = ["fp32", "fp16", "int8"]
    domain = "quadruped/trot"     # calibration observations for int8

    [reliability]                 # edgeperf reliability, one job per group of training runs
    groups = { ppo = ["runs/ppo/s0", "runs/ppo/s1"], sac = ["runs/sac/s0", "runs/sac/s1"] }
    tag = "rollout/ep_rew_mean"
    align = 10000                 # optional: edgeperf reliability --align

Relative paths are relative to the config file. An unknown table or key is named (with a "did you mean").
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf.errors import BadInput
from edgeperf.results.io import read_toml, short_path

# table -> {key: (type, required)}; the axes (lists) make the grid, the rest is passed to every job.
TABLES: dict[str, dict[str, tuple[type | tuple, bool]]] = {
    "sweep": {"output": (str, False), "workers": (int, False), "name": (str, False)},
    "validate": {
        "models": (list, True),
        "domains": (list, True),
        "latencies_ms": (list, False),
        "seeds": (list, False),
        "episodes": (int, False),
        "reference": (str, False),
        "margin": ((int, float), False),
    },
    "profile": {
        "models": (list, True),
        "devices": (list, False),
        "iterations": (int, False),
        "warmup": (int, False),
        "rate": ((int, float), False),
        "power": (str, False),
        "idle_s": ((int, float), False),
        "threads": (int, False),
    },
    "export": {"sources": (list, True), "precisions": (list, False), "domain": (str, False), "opset": (int, False)},
    "reliability": {
        "groups": (dict, True),
        "tag": (str, False),
        "format": (str, False),
        "align": ((int, float), False),
    },
}
# Keys whose values are files (made absolute against the config's folder).
PATHS = {"models", "sources", "reference"}


@dataclass(frozen=True)
class Job:
    kind: str
    params: dict = field(hash=False)

    @property
    def id(self) -> str:
        """Stable over runs of the same config: the key of resumption."""
        digest = hashlib.sha256(json.dumps([self.kind, self.params], sort_keys=True).encode()).hexdigest()
        return f"{self.kind}-{digest[:12]}"

    @property
    def label(self) -> str:
        def show(k, v):
            if isinstance(v, list):
                return f"{len(v)} {k}"
            return f"{k}={Path(v).name if k in PATHS and isinstance(v, str) else v}"

        shown = [show(k, v) for k, v in self.params.items()]
        return f"{self.kind} " + " ".join(shown)

    def resources(self) -> dict[str, float]:
        """What a Ray node must offer: a profile job for a named device needs that device's resource."""
        device = self.params.get("device")
        if self.kind == "profile" and device not in (None, "auto"):
            return {device: 1}
        return {}


@dataclass
class Sweep:
    path: Path
    output: Path
    workers: int | None
    jobs: list[Job]


def load(path: str | Path) -> Sweep:
    p = Path(path)
    data = read_toml(p, "sweep config")
    _check(data, p)
    base = p.resolve().parent
    head = data.get("sweep", {})
    output = Path(head["output"]) if "output" in head else Path(p.stem + "-out")
    output = output if output.is_absolute() else base / output
    jobs = [j for table in TABLES if table != "sweep" and table in data for j in _grid(table, data[table], base)]
    if not jobs:
        raise BadInput(f"{short_path(p)} defines no jobs; add a [validate], [profile], [export] or [reliability] table")
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        raise BadInput(f"{short_path(p)} lists a job twice (a value repeated in one of its lists)")
    return Sweep(p, output, head.get("workers"), jobs)


def _check(data: dict, p: Path) -> None:
    for table, body in data.items():
        if table not in TABLES:
            raise BadInput(
                f"{short_path(p)}: unknown table [{table}]{_close(table, TABLES)}; known: "
                + ", ".join(f"[{t}]" for t in TABLES)
            )
        if not isinstance(body, dict):
            raise BadInput(f"{short_path(p)}: {table} must be a table ([{table}]), not a value")
        keys = TABLES[table]
        for key, value in body.items():
            if key not in keys:
                raise BadInput(
                    f"{short_path(p)}: unknown key '{key}' in [{table}]{_close(key, keys)}; known: " + ", ".join(keys)
                )
            want = keys[key][0]
            if not isinstance(value, want) or isinstance(value, bool):
                raise BadInput(f"{short_path(p)}: [{table}] {key} = {value!r}: expected {_name(want)}")
            if want is list and not value:
                raise BadInput(f"{short_path(p)}: [{table}] {key} is empty")
            _check_value(p, table, key, value)
        for key, (_, required) in keys.items():
            if required and key not in body:
                raise BadInput(f"{short_path(p)}: [{table}] needs '{key}'")


# What each list holds, and the bounds of the numbers (the same rules as the command-line options)
ITEMS = {"models": str, "sources": str, "domains": str, "devices": str, "precisions": str, "latencies_ms": (int, float),
         "seeds": int}  # fmt: skip
POSITIVE = {"workers", "episodes", "iterations", "threads", "opset", "rate", "align"}


def _check_value(p: Path, table: str, key: str, value) -> None:
    where = f"{short_path(p)}: [{table}] {key}"
    if isinstance(value, list):
        want = ITEMS.get(key)
        for item in value:
            if want is not None and (not isinstance(item, want) or isinstance(item, bool)):
                raise BadInput(f"{where} holds {item!r}: expected {_name(want)} in each place")
            if key == "latencies_ms" and not (math.isfinite(item) and item >= 0):
                raise BadInput(f"{where} holds {item!r}: a latency is a finite number of ms >= 0")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise BadInput(f"{where} = {value}: a finite number is needed")
        whole = isinstance(value, int) and key not in ("rate", "align")
        if key in POSITIVE and not (value >= 1 if whole else value > 0):
            raise BadInput(f"{where} = {value}: it must be {'at least 1' if whole else 'above 0'}")
        if value < 0:
            raise BadInput(f"{where} = {value}: it cannot be negative")


def _close(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _name(t) -> str:
    names = {list: "a list", dict: "a table", str: "a string", int: "a whole number"}
    return "a number" if isinstance(t, tuple) else names[t]


def _abs(value: str, base: Path) -> str:
    # Policy sources like reference:quadruped/trot or example:mlp are not files.
    if ":" in value and not Path(value).exists() and not (base / value).exists():
        return value
    path = Path(value)
    return str(path if path.is_absolute() else base / path)


def _grid(table: str, body: dict, base: Path) -> list[Job]:
    fixed = {k: v for k, v in body.items() if not isinstance(v, list | dict)}
    if "reference" in fixed:
        fixed["reference"] = _abs(fixed["reference"], base)
    if table == "reliability":
        return [
            Job("reliability", {"group": name, "runs": [_abs(r, base) for r in runs], **fixed})
            for name, runs in body["groups"].items()
        ]
    axes = {
        "validate": [("model", "models"), ("domain", "domains"), ("latency_ms", "latencies_ms"), ("seed", "seeds")],
        "profile": [("model", "models"), ("device", "devices")],
        "export": [("source", "sources"), ("precision", "precisions")],
    }[table]
    present = [(one, [_abs(v, base) if many in PATHS else v for v in body[many]]) for one, many in axes if many in body]
    jobs = []
    for combo in itertools.product(*(values for _, values in present)):
        jobs.append(Job(table, {**dict(zip([one for one, _ in present], combo, strict=True)), **fixed}))
    return jobs
