"""edgeperf: export, profile and validate robot-learning policies on the computer they will run on.

The public API is loaded lazily so that `import edgeperf` stays light: it imports neither torch nor
pybullet nor onnxruntime until a function that needs them is called.
"""

from __future__ import annotations

import importlib

from edgeperf._version import __version__
from edgeperf.errors import BadInput, DependencyMissing, EdgeperfError, HardwareMissing, VerdictFailed

# name -> "module:attribute", resolved on first access.
_LAZY = {
    "export": "edgeperf.exporter.onnx:export",
    "profile": "edgeperf.pipeline:profile",
    "validate": "edgeperf.pipeline:validate",
    "sim2sim": "edgeperf.pipeline:sim2sim",
    "doctor": "edgeperf.pipeline:doctor",
    "plan": "edgeperf.planner:plan",
    "open_policy": "edgeperf.exporter.sources:open_policy",
    "detect": "edgeperf.devices.detect:detect",
    "Session": "edgeperf.runtime.session:Session",
    "Report": "edgeperf.results.report:Report",
    "load_report": "edgeperf.results.report:load_report",
    "Store": "edgeperf.results.store:Store",
    "compare": "edgeperf.results.compare:compare",
    "Budget": "edgeperf.results.budget:Budget",
    "render_html": "edgeperf.results.html:render",
}

__all__ = [
    "BadInput",
    "Budget",
    "DependencyMissing",
    "EdgeperfError",
    "HardwareMissing",
    "Report",
    "Session",
    "Store",
    "VerdictFailed",
    "__version__",
    "compare",
    "detect",
    "doctor",
    "export",
    "load_report",
    "open_policy",
    "plan",
    "profile",
    "render_html",
    "sim2sim",
    "validate",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'edgeperf' has no attribute {name!r}")
    module, _, attr = _LAZY[name].partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
