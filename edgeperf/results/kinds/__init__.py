"""The `results` of each report kind as frozen dataclasses (results/record.py): profile, export, validate, hil,
measure, sim2sim, doctor, reliability, generalize, devices. `read(kind, results)` holds the dict to the kind's
versioned schema (results/report.py RESULTS) and returns its class; `to_dict()` gives the same JSON back.

A block declares the fields edgeperf's readers (figures, compare, check, the terminal and HTML views) use; a field
a report does not carry is None. To add a report kind: its schema in report.py, its class in a module here (blocks.py
holds what several kinds share), and a line in KINDS.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from edgeperf.results.io import validate
from edgeperf.results.kinds.blocks import (
    Episodes,
    Failure,
    Host,
    Memory,
    Model,
    Named,
    Num,
    Pair,
    Paired,
    PerEpisode,
    Power,
    PowerFigures,
    ReportConfig,
    Sampling,
    Sensor,
    Stats,
    Thermal,
)
from edgeperf.results.kinds.measured import (
    ColdStart,
    Deadline,
    ExportResults,
    MeasureResults,
    Observations,
    Parity,
    ProfileResults,
    RecurrentParity,
    Tolerance,
)
from edgeperf.results.kinds.tasks import (
    DoctorResults,
    HilResults,
    LatencySweep,
    Link,
    Sim2SimResults,
    Transfer,
    Trial,
    ValidateResults,
)
from edgeperf.results.record import Record, record
from edgeperf.results.report import results_schema

__all__ = [
    "KINDS",
    "ColdStart",
    "Deadline",
    "DoctorResults",
    "Document",
    "Episodes",
    "ExportResults",
    "Failure",
    "GeneralizeResults",
    "HilResults",
    "Host",
    "LatencySweep",
    "Link",
    "MeasureResults",
    "Memory",
    "Model",
    "Named",
    "Observations",
    "Paired",
    "Parity",
    "PerEpisode",
    "Power",
    "PowerFigures",
    "ProfileResults",
    "RecurrentParity",
    "ReportConfig",
    "Sampling",
    "Sensor",
    "Sim2SimResults",
    "Stats",
    "Thermal",
    "Tolerance",
    "Transfer",
    "Trial",
    "ValidateResults",
    "read",
]

# -- many runs (analysis/) and devices ---------------------------------------------------------------------------


@record
class AcrossRuns(Record):
    median_final_value: Num = None
    dispersion_across_runs: Num = None
    risk_across_runs: Num = None


@record
class ReliabilityResults(Record):
    n_runs: int | None = None
    across_runs: AcrossRuns | None = None


@record
class Aggregate(Record):
    tasks: int | None = None
    sum_of_mean_returns: Num = None
    mean_success_rate: Num = None


@record
class VersusReference(Record):
    mean_return_difference: Num = None
    ci95: Pair = None
    success_rate_difference: Num = None


@record
class Task(Record):
    """One task of a generalize report: the policy's figures there, and its reference's when it has one."""

    domain: Named | None = None
    policy: Episodes | None = None
    reference: Episodes | None = None
    versus_reference: VersusReference | None = None


@record
class Cost(Record):
    """The energy a policy cost to make (analysis/datacost.py)."""

    total_J: Num = None
    total_parts: list | None = None
    estimate: bool | None = None


@record
class GeneralizeResults(Record):
    tasks: tuple[Task, ...] | None = None
    aggregate: Aggregate | None = None
    cost: Cost | None = None
    wall_s: Num = None


@record
class DevicesResults(Record):
    """A devices document carries its figures outside `results`: the page shows them as a table."""


KINDS: dict[str, type[Record]] = {
    "profile": ProfileResults,
    "export": ExportResults,
    "validate": ValidateResults,
    "hil": HilResults,
    "measure": MeasureResults,
    "sim2sim": Sim2SimResults,
    "doctor": DoctorResults,
    "reliability": ReliabilityResults,
    "generalize": GeneralizeResults,
    "devices": DevicesResults,
}


def read(kind: str, results: dict, *, source: str = "report") -> Record:
    """A report's `results` as its kind's class, held to the kind's schema first (BadInput names the field).

    `kind`: the report kind ('profile', ...: a key of KINDS); `results`: the report's results dict; `source` names
    the file in an error.

    >>> res = read("profile", {"latency_us": {"p50": 12.5, "p99": 20.0}})
    >>> res.latency_us.p99, res.deadline
    (20.0, None)
    >>> res.to_dict()
    {'latency_us': {'p50': 12.5, 'p99': 20.0}}
    """
    validate(results, results_schema(kind), f"{source}: results")
    return KINDS[kind].from_dict(results)


# -- the envelope ------------------------------------------------------------------------------------------------


@record
class Document(Record):
    """A whole report: the envelope typed, `results` as its kind's class (`kind` is '' for an unknown schema)."""

    schema: str | None = None
    run_id: str | None = None
    created_at: str | None = None
    edgeperf_version: str | None = None
    host: Host | None = None
    model: Model | None = None
    config: ReportConfig | None = None
    results: Any = None
    unmeasured: dict | None = None
    warnings: list | None = None

    @property
    def kind(self) -> str:
        """'profile' for 'edgeperf.profile/1'."""
        return str(self.schema or "").split(".", 1)[-1].split("/", 1)[0]

    def why(self, *keys: str, default: str | None = None) -> str | None:
        """The reason the report gives for the first of `keys` it could not measure, else `default`."""
        un = self.unmeasured if isinstance(self.unmeasured, dict) else {}
        return next((str(un[k]) for k in keys if un.get(k)), default)

    @classmethod
    def read(cls, report: dict, *, source: str = "report") -> Document:
        """The report dict typed; its `results` held to the kind's schema (a kind without a class stays a dict).

        >>> doc = Document.read({"schema": "edgeperf.export/1", "results": {"size_bytes": 1024}})
        >>> doc.kind, doc.results.size_bytes, doc.to_dict()["results"]
        ('export', 1024, {'size_bytes': 1024})
        """
        doc = cls.from_dict(report)
        if doc.kind in KINDS and isinstance(doc.results, dict):
            doc = dataclasses.replace(doc, results=read(doc.kind, doc.results, source=source))
        return doc
