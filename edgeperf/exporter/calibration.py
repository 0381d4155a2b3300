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

from edgeperf import spaces
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


def recurrent_sequences(fp32, src, n: int, seed: int, length: int = 50) -> CalibrationData:
    """Calibration for a recurrent artifact: the observations (as for a stateless one) in sequences of `length`,
    run through the fp32 artifact with its state carried from zeros, so that every state input is calibrated on
    the states it meets in use, not on random values."""
    import onnxruntime as ort

    base = for_source(src, n, seed)
    states = src.recurrent.states
    sess = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    obs_name = next(i.name for i in sess.get_inputs() if i.name not in {s.input for s in states})
    outputs = [o.name for o in sess.get_outputs()]
    obs = np.asarray(base.obs, np.float32)
    feeds: dict[str, list] = {obs_name: [], **{s.input: [] for s in states}}
    for start in range(0, len(obs), length):
        state = {s.input: s.zeros(1) for s in states}
        for x in obs[start : start + length]:
            feed = {obs_name: x[None], **state}
            for name, value in feed.items():
                feeds[name].append(value[0])
            out = dict(zip(outputs, sess.run(None, feed), strict=True))
            state = {s.input: out[s.output] for s in states}
    how = f"{base.method}, run in sequences of {length} through the fp32 artifact with its state carried from zeros"
    return CalibrationData({k: np.stack(v) for k, v in feeds.items()}, base.source, how, base.seed)
