"""Training curves (step, value) read from what RL trainers write: Stable-Baselines3's monitor.csv (episode
returns against cumulative timesteps) and progress.csv (one column per logged key), TensorBoard event files (one
scalar tag; the `tensorboard` extra, loaded only for them), and plain CSV of step,value."""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput, require
from edgeperf.results.io import short_path

FORMATS = ("auto", "monitor", "progress", "tensorboard", "csv")
# What SB3 logs as the training return, against its timestep counter.
PROGRESS_TAG, PROGRESS_STEP = "rollout/ep_rew_mean", "time/total_timesteps"
TB_TAG = "rollout/ep_rew_mean"


@dataclass
class Curve:
    name: str  # the RUN as given
    steps: np.ndarray  # float64, strictly increasing
    values: np.ndarray  # float64, finite
    source: str  # what was read: "monitor.csv", "progress.csv column rollout/ep_rew_mean", ...
    files: tuple[str, ...] = ()  # the files read, resolved (none for a curve given as arrays): two RUNs, one file


def read(run: str | Path, fmt: str = "auto", tag: str | None = None) -> Curve:
    """The curve of one run: a file, or a directory holding one of the files above (searched recursively)."""
    if fmt not in FORMATS:
        raise BadInput(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    path = Path(run)
    if not path.exists():
        raise BadInput(
            f"run {short_path(run)} does not exist; give a monitor.csv, progress.csv, TensorBoard "
            "event file, step,value CSV, or a directory holding one"
        )
    file, fmt = _locate(path, fmt)
    if fmt == "tensorboard":
        steps, values, source = _tensorboard(file, tag or TB_TAG, explicit=tag is not None)
    else:
        try:
            text = file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {short_path(file)}: {getattr(exc, 'strerror', None) or exc}") from None
        reader = {"monitor": _monitor, "progress": _progress, "csv": _plain}[fmt]
        steps, values, source = reader(file, text, tag)
    c = _checked(str(run), np.asarray(steps, np.float64), np.asarray(values, np.float64), source, file)
    c.files = tuple(str(f.resolve()) for f in _read_files(file, fmt))
    return c


def _read_files(file: Path, fmt: str) -> list[Path]:
    if fmt == "tensorboard" and file.is_dir():
        # What TensorBoard's directory loader reads: every events file of the directory (not below it).
        return sorted(f for f in file.iterdir() if "tfevents" in f.name and f.is_file())
    return [file]


def _locate(path: Path, fmt: str) -> tuple[Path, str]:
    if path.is_file():
        return path, fmt if fmt != "auto" else _guess(path)
    found = {
        "tensorboard": sorted(path.rglob("events.out.tfevents.*")),
        "progress": sorted(path.rglob("progress.csv")),
        "monitor": sorted(path.rglob("*monitor.csv")),
    }
    if fmt != "auto":
        files = found.get(fmt, [])
        if fmt == "csv" or not files:
            raise BadInput(f"{short_path(path)} holds no {fmt} file; give the file itself")
        kinds = [fmt]
    else:
        kinds = [k for k, v in found.items() if v]
        if not kinds:
            raise BadInput(f"{short_path(path)} holds no monitor.csv, progress.csv or TensorBoard event file")
        if len(kinds) > 1:
            raise BadInput(f"{short_path(path)} holds {' and '.join(kinds)} logs; choose one with --format")
    files = found[kinds[0]]
    if kinds[0] != "tensorboard" and len(files) > 1:
        listed = ", ".join(short_path(f.relative_to(path)) for f in files[:5])
        raise BadInput(f"{short_path(path)} holds {len(files)} {kinds[0]} files ({listed}); give one file per run")
    # TensorBoard: every event file of the run's directory (a resumed run writes several); the one directory.
    if kinds[0] == "tensorboard":
        dirs = sorted({f.parent for f in files})
        if len(dirs) > 1:
            listed = ", ".join(short_path(d.relative_to(path)) or "." for d in dirs[:5])
            raise BadInput(f"{short_path(path)} holds TensorBoard logs of {len(dirs)} runs ({listed}); give one")
        return dirs[0], "tensorboard"
    return files[0], kinds[0]


def _guess(path: Path) -> str:
    name = path.name
    if name.startswith("events.out.tfevents."):
        return "tensorboard"
    if name.endswith("monitor.csv"):
        return "monitor"
    if name == "progress.csv":
        return "progress"
    return "csv"


def _monitor(file: Path, text: str, tag: str | None):
    # SB3 Monitor: a '#{json}' line, then r,l,t per finished episode; the step is the cumulative timestep count.
    lines = text.splitlines()
    if lines and lines[0].startswith("#"):
        lines = lines[1:]
    rows = list(csv.DictReader(lines))
    column = tag or "r"
    if not rows or "l" not in rows[0] or column not in rows[0]:
        raise BadInput(
            f"{short_path(file)} is not an SB3 monitor.csv (expected columns r,l,t"
            + (f" and {column}" if tag else "")
            + ")"
        )
    try:
        lengths = [float(r["l"]) for r in rows]
        values = [float(r[column]) for r in rows]
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{short_path(file)}: a row is not numbers ({exc})") from None
    return np.cumsum(lengths), values, f"SB3 monitor.csv, {column} against cumulative timesteps (sum of l)"


def _progress(file: Path, text: str, tag: str | None):
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise BadInput(f"{short_path(file)} has no rows")
    columns = list(rows[0])
    column = tag or PROGRESS_TAG
    _known(column, columns, file, "column")
    if PROGRESS_STEP not in columns:
        raise BadInput(f"{short_path(file)} has no {PROGRESS_STEP} column; is it an SB3 progress.csv?")
    steps, values = [], []
    for r in rows:
        if r[column] in ("", None) or r[PROGRESS_STEP] in ("", None):
            continue  # SB3 writes every key on every row: a key logged less often leaves its cell empty
        try:
            steps.append(float(r[PROGRESS_STEP]))
            values.append(float(r[column]))
        except ValueError as exc:
            raise BadInput(f"{short_path(file)}: column {column}: {exc}") from None
    return steps, values, f"SB3 progress.csv, {column} against {PROGRESS_STEP}"


def _plain(file: Path, text: str, tag: str | None):
    rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
    if rows and not _number(rows[0][0]):
        header, rows = rows[0], rows[1:]
        column = tag or (header[1] if len(header) > 1 else "")
        _known(column, header[1:], file, "column")
        col = header.index(column)
    else:
        if tag:
            raise BadInput(f"{short_path(file)} has no header row, so no column {tag!r}; leave --tag out")
        col = 1
    steps, values = [], []
    for i, r in enumerate(rows):
        try:  # each cell parsed once (a check, then a parse, cost 10^6 rows half a second more)
            step, value = float(r[0]), float(r[col])
        except (IndexError, ValueError):
            raise BadInput(f"{short_path(file)}: row {i + 1} is not step,value numbers: {','.join(r)[:80]}") from None
        steps.append(step)
        values.append(value)
    return steps, values, "CSV step,value" if col == 1 else f"CSV, column {col + 1}"


def _tensorboard(directory: Path, tag: str, *, explicit: bool):
    ea_mod = require(
        "tensorboard.backend.event_processing.event_accumulator",
        "tensorboard",
        "to read TensorBoard event files",
        package="tensorboard",
    )
    # size_guidance 0: keep every point (the default keeps a 10,000-point reservoir sample of each tag).
    acc = ea_mod.EventAccumulator(str(directory), size_guidance={ea_mod.SCALARS: 0})
    try:
        acc.Reload()
    except Exception as exc:  # a corrupt record: tensorboard raises its own errors
        raise BadInput(f"cannot read TensorBoard events in {short_path(directory)}: {exc}") from None
    tags = acc.Tags().get("scalars", [])
    if not tags:
        raise BadInput(f"{short_path(directory)}: the TensorBoard events hold no scalar tags")
    _known(tag, tags, directory, "TensorBoard scalar tag" if explicit else "TensorBoard scalar tag (default)")
    events = acc.Scalars(tag)
    # A resumed run can log a step twice: the later write wins, as TensorBoard draws it.
    last = {e.step: e.value for e in sorted(events, key=lambda e: e.wall_time)}
    steps = sorted(last)
    return steps, [last[s] for s in steps], f"TensorBoard scalar {tag}"


def _known(name: str, names: list[str], where: Path, what: str) -> None:
    if name in names:
        return
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(names[:30]) + (f" (and {len(names) - 30} more)" if len(names) > 30 else "")
    raise BadInput(f"{short_path(where)} has no {what} {name!r}{hint} It has: {shown}; choose one with --tag")


def _number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _checked(name: str, steps: np.ndarray, values: np.ndarray, source: str, file: Path) -> Curve:
    if len(steps) == 0:
        raise BadInput(f"{short_path(file)} holds no points of the curve ({source})")
    bad = ~(np.isfinite(steps) & np.isfinite(values))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadInput(f"{short_path(file)}: point {i + 1} is not finite (step {steps[i]}, value {values[i]})")
    if np.any(np.diff(steps) <= 0):
        i = int(np.flatnonzero(np.diff(steps) <= 0)[0])
        raise BadInput(
            f"{short_path(file)}: steps must increase, but point {i + 2} (step {steps[i + 1]:g}) follows step "
            f"{steps[i]:g}; is the first column the step?"
        )
    return Curve(name, steps, values, source)


def curve(name: str, steps, values, source: str = "given") -> Curve:
    """A curve from arrays (the library's way in), checked as a read one is."""
    return _checked(name, np.asarray(steps, np.float64), np.asarray(values, np.float64), source, Path(name))
