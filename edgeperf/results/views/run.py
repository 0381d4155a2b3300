"""`Run`: one run to draw: its report, and where known the raw per-inference timings of a profile."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Run:
    """One run to render: its report (the JSON document as a dict) and, when known, the raw per-inference
    latencies of a profile in nanoseconds, in the order they ran (from the store, or `profile --csv`)."""

    report: dict
    samples_ns: np.ndarray | None = None
    source: str = ""  # where it came from (a file, a run id), for the page
    # From a `profile --csv` file, beside samples_ns: each inference's start (ns from the first) and, in a
    # control loop, its response (release to action, ns: what the deadline applies to).
    start_ns: np.ndarray | None = None
    response_ns: np.ndarray | None = None
