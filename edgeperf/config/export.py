"""`edgeperf export`'s configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgeperf.config.base import Config, as_tuple
from edgeperf.errors import BadInput

DEFAULT_OPSET = 18
OPSETS = (13, 21)  # the range torch's exporters and the runtimes here agree on
PRECISIONS = ("fp32", "fp16", "int8")
QUANTIZATION = ("auto", "dynamic", "static")
MAX_SAMPLES = 1_000_000
MAX_SEED = 2**31 - 1  # what every seeded library here takes (numpy, torch, gymnasium, pybullet)
MAX_BATCH = 65_536
MAX_EPISODES = 1_000


@dataclass(frozen=True)
class ExportConfig(Config):
    """How to export `source` (the output path is not config: the report's model says where the artifact went).

    `format` None: from the output's suffix (the exporter resolves it before checking). `check_parity` is
    `export(check=...)` and the report's `check` (a field named `check` would hide the method). `source_kind`
    is known once the source is loaded: the exporter fills it, with the resolved format, quantization mode and
    observation shape, in the config its report records."""

    source: str | None = None
    format: str | None = None
    precision: str = "fp32"
    quantization: str | None = "auto"  # None once resolved for a float precision
    opset: int = DEFAULT_OPSET
    obs_shape: tuple[int, ...] | None = None
    factory: str | None = None
    weights: str | None = None
    factory_args: dict | None = None
    vecnormalize: str | None = None
    check_parity: bool = True
    parity_samples: int = 512
    calibration_samples: int = 512
    seed: int = 0
    max_batch: int = 64
    timing_cache: str | Path | None = None
    domain: str | None = None
    calibration_episodes: int = 4
    state: str | dict | None = None
    trust_pickle: bool = False
    source_kind: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "obs_shape", as_tuple(self.obs_shape))

    @classmethod
    def from_options(cls, source: str | None, options: dict) -> ExportConfig:
        """`export(source, out, **options)`'s keywords as a config (`check` is `check_parity`)."""
        options = dict(options)
        if "check" in options:
            options["check_parity"] = options.pop("check")
        return cls(source=source, **options)

    def quantization_mode(self) -> str | None:
        """The int8 quantization this config runs (None for a float precision); BadInput when it cannot.
        `format` must be resolved."""
        quantization, precision, format = self.quantization, self.precision, self.format
        if quantization is None and precision != "int8":
            return None  # a resolved config's
        if quantization not in QUANTIZATION:
            raise BadInput(f"--quantization {quantization}: choose one of {', '.join(QUANTIZATION)}")
        if precision != "int8":
            if quantization != "auto":
                raise BadInput(f"--quantization {quantization} applies to --precision int8 only")
            return None
        if quantization == "auto":
            return "dynamic" if format == "onnx" else "static"
        if quantization == "dynamic" and format != "onnx":
            raise BadInput(
                f"--format {format} --precision int8 needs static quantization (calibration data), not dynamic; "
                "drop --quantization or pass --quantization static"
            )
        return quantization

    def check(self) -> ExportConfig:
        """Everything that can be checked before loading anything (`format` resolved from the output first)."""
        seed, max_batch, episodes = self.seed, self.max_batch, self.calibration_episodes
        if not 0 <= seed <= MAX_SEED:
            raise BadInput(f"--seed {seed}: a seed is a whole number from 0 to {MAX_SEED}")
        if self.format == "tensorrt" and not 1 <= max_batch <= MAX_BATCH:
            raise BadInput(f"--max-batch {max_batch} is outside 1..{MAX_BATCH}")
        if self.domain and not 1 <= episodes <= MAX_EPISODES:
            raise BadInput(f"--calibration-episodes {episodes} is outside 1..{MAX_EPISODES}")
        if self.precision not in PRECISIONS:
            raise BadInput(f"--precision {self.precision}: choose one of {', '.join(PRECISIONS)}")
        self.quantization_mode()
        if not OPSETS[0] <= self.opset <= OPSETS[1]:
            raise BadInput(f"--opset {self.opset} is outside the supported range {OPSETS[0]}..{OPSETS[1]}")
        samples = (("--parity-samples", self.parity_samples), ("--calibration-samples", self.calibration_samples))
        for option, n in samples:
            if not 1 <= n <= MAX_SAMPLES:
                raise BadInput(
                    f"{option} {n} is outside 1..{MAX_SAMPLES:,}: a few thousand observations already bound the "
                    "error well; more only costs memory and time"
                )
        return self

    def to_dict(self) -> dict:
        """The report's `config` (edgeperf.export/1), of a resolved config (the exporter's)."""
        static = self.quantization == "static"
        return {
            "source": self.source,
            "source_kind": self.source_kind,
            "format": self.format,
            "precision": self.precision,
            "quantization": self.quantization,
            "opset": self.opset,
            "obs_shape": list(self.obs_shape) if self.obs_shape is not None else None,
            "check": self.check_parity,
            "parity_samples": self.parity_samples,
            "calibration_samples": self.calibration_samples if static else None,
            "seed": self.seed,
            **({"factory": self.factory, "weights": self.weights} if self.factory else {}),
            **({"vecnormalize": self.vecnormalize} if self.vecnormalize else {}),
            **({"max_batch": self.max_batch} if self.format == "tensorrt" else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ExportConfig:
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "check"}
        if kw.get("calibration_samples") is None:
            kw.pop("calibration_samples", None)
        return cls(check_parity=d.get("check", True), **kw)
