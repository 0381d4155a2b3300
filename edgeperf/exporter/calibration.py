"""Calibration data for int8 (onnxruntime static quantization, OpenVINO int8 and TensorRT int8 share it).

Without a domain the observations are random in the observation space (spaces.sample: VecNormalize
statistics when known, else uniform within bounds, else standard normal); with a domain, observations from
rollouts of the source policy in it. Either way with seeds apart from the parity check's, so that parity is
never measured on the calibration set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from edgeperf.exporter import spaces
from edgeperf.runtime import obsdict

SEED_OFFSET = 10_007  # calibration draws never coincide with parity draws of the same --seed


@dataclass
class CalibrationData:
    obs: np.ndarray | dict  # [n, *obs_shape] float32, or {input name: [n, ...]} for several inputs
    source: str  # "random-in-space" or "domain-rollouts"
    method: str  # how the observations were drawn, in words
    seed: int

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """Contiguous float32 batches of at most batch_size observations, in order, covering all of them."""
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        if isinstance(self.obs, dict):  # every input, each in its own dtype (uint8 images stay uint8)
            for i in range(0, obsdict.length(self.obs), batch_size):
                yield {k: np.ascontiguousarray(v[i : i + batch_size]) for k, v in self.obs.items()}
            return
        for i in range(0, len(self.obs), batch_size):
            yield np.ascontiguousarray(self.obs[i : i + batch_size], dtype=np.float32)

    def reader(self, input_name: str, batch_size: int = 32):
        """An onnxruntime.quantization CalibrationDataReader over the batches."""
        from onnxruntime.quantization import CalibrationDataReader

        data = self

        class Reader(CalibrationDataReader):
            def __init__(self):
                self._it = iter(data.batches(batch_size))

            def get_next(self):
                batch = next(self._it, None)
                if batch is None or isinstance(batch, dict):  # a dict feeds every input by name
                    return batch
                return {input_name: batch}

            def rewind(self):
                self._it = iter(data.batches(batch_size))

        return Reader()

    def describe(self) -> dict:
        n = obsdict.length(self.obs)
        return {"source": self.source, "observations": n, "method": self.method, "seed": self.seed}


def for_source(src, n: int, seed: int) -> CalibrationData:
    """The domain's rollouts when the export was given --domain, else random in the observation space."""
    if "calibration" in src.rollouts:
        obs, how = src.rollouts["calibration"]
        return CalibrationData(obs, "domain-rollouts", how, seed + SEED_OFFSET)
    return random_in_space(src, n, seed)


def random_in_space(src, n: int, seed: int) -> CalibrationData:
    if spaces.is_dict(src.obs_space):
        obs, how = spaces.sample_dict(src.obs_space, n, seed + SEED_OFFSET, src.normalization)
        return CalibrationData(obs, "random-in-space", how, seed + SEED_OFFSET)
    obs, how = spaces.sample(src.obs_space, src.obs_shape, n, seed + SEED_OFFSET, src.normalization)
    return CalibrationData(obs, "random-in-space", how, seed + SEED_OFFSET)
