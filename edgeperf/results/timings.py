"""Raw per-inference timings as CSV (`edgeperf profile --csv`), streamed to disk as the run goes.

The rows go to a temp file beside the target, renamed over it only when the run is complete: an
interrupted or failed run leaves the old file (or none), never half of a new one."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput
from edgeperf.results.io import atomic_open, open_input

STREAM_COLUMNS = ["index", "start_us", "latency_us"]
PERIODIC_COLUMNS = [*STREAM_COLUMNS, "release_us", "response_us", "missed"]
MAX_TIMINGS_BYTES = 4 * 2**30  # ~60 bytes a row: 70 million inferences


class CsvSink:
    """A latency.Sink that writes each chunk's rows; times are in us from the first inference's start."""

    def __init__(self, f, deadline_ns: int | None, path: Path) -> None:
        self._f, self._deadline_ns, self._path = f, deadline_ns, path
        self._index = 0
        self._t0: int | None = None
        self._write(",".join(PERIODIC_COLUMNS if deadline_ns is not None else STREAM_COLUMNS) + "\n")

    def __call__(self, start: np.ndarray, end: np.ndarray, release: np.ndarray | None) -> None:
        n = len(start)
        if not n:
            return
        if self._t0 is None:
            self._t0 = int(start[0])
        cols = [
            range(self._index, self._index + n),
            ((start - self._t0) / 1e3).tolist(),
            ((end - start) / 1e3).tolist(),
        ]
        fmt = "%d,%.3f,%.3f"
        if self._deadline_ns is not None:
            response = end - release
            cols += [
                ((release - self._t0) / 1e3).tolist(),
                (response / 1e3).tolist(),
                (response > self._deadline_ns).tolist(),
            ]
            fmt += ",%.3f,%.3f,%d"
        # One %-format of the whole chunk: ~3x faster than csv.writer row by row.
        self._write(((fmt + "\n") * n) % tuple(v for row in zip(*cols, strict=True) for v in row))
        self._index += n

    def _write(self, text: str) -> None:
        data = memoryview(text.encode())
        with _cannot_write(self._path):
            while data:  # an unbuffered write may be partial
                data = data[self._f.write(data) :]


@contextlib.contextmanager
def _cannot_write(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:  # a full disk, a file system gone read-only
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def stream_csv(path: str | Path, deadline_ns: int | None = None) -> Iterator[CsvSink]:
    """A CsvSink writing through results.io.atomic_open: the rows reach `path` when the block ends normally; a
    failure or an interrupt leaves the old file (or none)."""
    with atomic_open(path, "wb") as f:
        yield CsvSink(f, deadline_ns, Path(path))


@dataclass
class Timings:
    """A `profile --csv` file read back (ns): each inference's latency, start (from the first inference's start)
    and, in a control loop, response (release to action)."""

    latency_ns: np.ndarray
    start_ns: np.ndarray
    response_ns: np.ndarray | None


def read_timings(path: str | Path) -> Timings:
    """Read a `profile --csv` file back, for `edgeperf report`."""
    p = Path(path)
    try:
        # results.io opens it: a regular file (a FIFO is named, never waited on), bounded in size
        with (
            open_input(p, "timings file", max_bytes=MAX_TIMINGS_BYTES) as (raw, _),
            io.TextIOWrapper(raw, encoding="utf-8") as f,
        ):
            header = f.readline(1 << 12).strip().split(",")
            if header not in (STREAM_COLUMNS, PERIODIC_COLUMNS):
                raise BadInput(
                    f"{p} is not an `edgeperf profile --csv` file (its header is not {','.join(STREAM_COLUMNS)} "
                    f"or {','.join(PERIODIC_COLUMNS)})"
                )
            rows = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read timings {p}: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:
        raise BadInput(f"{p} has a malformed row ({exc}); is it an `edgeperf profile --csv` file?") from None
    if rows.size == 0:
        rows = np.empty((0, len(header)))
    if rows.shape[1] != len(header):
        raise BadInput(f"{p} has rows of {rows.shape[1]} values under a header of {len(header)}; is it edited?")
    if not np.all(np.isfinite(rows)) or (len(rows) and rows[:, 2].min() < 0):
        raise BadInput(f"{p} has latencies that are negative or not numbers; is it edited or corrupt?")
    response = rows[:, header.index("response_us")] * 1e3 if "response_us" in header else None
    return Timings(rows[:, 2] * 1e3, rows[:, 1] * 1e3, response)
