"""Typed, frozen configurations, one per command: the CLI builds one, the library checks it (`check()`: the same
one-line errors either way) and runs it, and the report's `config` section is its `to_dict()`.

The bottom layer: imports nothing of edgeperf but errors."""

from edgeperf.config.base import Config
from edgeperf.config.deploy import DeployConfig
from edgeperf.config.doctor import DoctorConfig
from edgeperf.config.export import ExportConfig
from edgeperf.config.hil import HilConfig
from edgeperf.config.plan import PlanConfig
from edgeperf.config.profile import ProfileConfig
from edgeperf.config.sim2sim import Sim2simConfig
from edgeperf.config.validate import ValidateConfig

__all__ = [
    "Config",
    "DeployConfig",
    "DoctorConfig",
    "ExportConfig",
    "HilConfig",
    "PlanConfig",
    "ProfileConfig",
    "Sim2simConfig",
    "ValidateConfig",
]
