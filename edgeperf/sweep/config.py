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

The grid is never built whole: its size is the product of each table's list lengths, checked against MAX_JOBS
before the first job exists, and `Sweep.jobs` makes each job when it is asked for (in the same order as
itertools.product over the lists, so job ids and resumption do not depend on how it is made).
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Sequence
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
# The most jobs one sweep may span, checked before any job is made. Past it a config is a typo or must be split:
# the driver keeps an entry per job and sweep.json lists them all, and 10^5 jobs of seconds each are days already.
MAX_JOBS = 100_000


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


class Grid(Sequence):
    """A sweep's jobs, made on demand. One Block per table: its jobs are the product of its axes (each axis the
    parameter dicts of one list, merged in order), with the table's fixed parameters after them."""

    def __init__(self, blocks: list[Block]):
        self.blocks = blocks
        self.sizes = [math.prod(len(axis) for axis in b.axes) for b in blocks]

    def __len__(self) -> int:
        return sum(self.sizes)

    def __iter__(self) -> Iterator[Job]:
        for b in self.blocks:
            for combo in itertools.product(*b.axes):
                yield b.job(combo)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        n = len(self)
        if not -n <= k < n:
            raise IndexError(f"job {k} of {n}")
        k %= n
        for b, size in zip(self.blocks, self.sizes, strict=True):
            if k < size:
                combo = []
                for axis in reversed(b.axes):  # the last list varies fastest, as in itertools.product
                    k, r = divmod(k, len(axis))
                    combo.append(axis[r])
                return b.job(reversed(combo))
            k -= size
        raise IndexError(k)  # not reached: k < n


@dataclass(frozen=True)
class Block:
    kind: str
    names: list[str]  # the config's list of each axis ("models", "seeds"), for messages
    axes: list[list[dict]]
    fixed: dict

    def job(self, combo) -> Job:
        params = {}
        for part in combo:
            params.update(part)
        return Job(self.kind, {**params, **self.fixed})


@dataclass
class Sweep:
    path: Path
    output: Path
    workers: int | None
    jobs: Sequence[Job]


def load(path: str | Path) -> Sweep:
    p = Path(path)
    data = read_toml(p, "sweep config")
    _check(data, p)
    base = p.resolve().parent
    head = data.get("sweep", {})
    output = Path(head["output"]) if "output" in head else Path(p.stem + "-out")
    output = output if output.is_absolute() else base / output
    blocks = [_block(table, data[table], base, p) for table in TABLES if table != "sweep" and table in data]
    jobs = Grid(blocks)
    total = len(jobs)  # the product of the lists' lengths: nothing is built yet
    if total > MAX_JOBS:
        spans = ", ".join(
            f"[{b.kind}] " + " x ".join(f"{len(axis)} {name}" for name, axis in zip(b.names, b.axes, strict=True))
            for b in blocks
        )
        raise BadInput(
            f"{short_path(p)} spans {total:,} jobs ({spans}), more than the {MAX_JOBS:,} one sweep runs; shorten "
            "its lists or split it into several configs"
        )
    if not total:
        raise BadInput(f"{short_path(p)} defines no jobs; add a [validate], [profile], [export] or [reliability] table")
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


# Each table's lists, in the order they vary (the last fastest), and the parameter each item becomes.
AXES = {
    "validate": [("model", "models"), ("domain", "domains"), ("latency_ms", "latencies_ms"), ("seed", "seeds")],
    "profile": [("model", "models"), ("device", "devices")],
    "export": [("source", "sources"), ("precision", "precisions")],
}


def _block(table: str, body: dict, base: Path, p: Path) -> Block:
    """A table's lists as axes (paths made absolute), not yet multiplied out; a value listed twice is refused."""
    fixed = {k: v for k, v in body.items() if not isinstance(v, list | dict)}
    if "reference" in fixed:
        fixed["reference"] = _abs(fixed["reference"], base)
    if table == "reliability":
        groups = [{"group": name, "runs": [_abs(r, base) for r in runs]} for name, runs in body["groups"].items()]
        return Block(table, ["groups"], [groups], fixed)
    names, axes = [], []
    for one, many in AXES[table]:
        if many not in body:
            continue
        values = [_abs(v, base) if many in PATHS else v for v in body[many]]
        # Two equal values make two jobs with one id (the key of resumption). Compared as the id sees them (JSON):
        # the same as comparing every job's id, without making the jobs.
        seen = set()
        for v in values:
            if json.dumps(v) in seen:
                raise BadInput(f"{short_path(p)} lists a job twice: [{table}] {many} holds {v!r} more than once")
            seen.add(json.dumps(v))
        names.append(many)
        axes.append([{one: v} for v in values])
    return Block(table, names, axes, fixed)
