"""Observations to feed a model while profiling: a pool drawn before timing starts, cycled in the loop."""

from __future__ import annotations

import numpy as np

from edgeperf import spaces
from edgeperf.errors import BadInput
from edgeperf.runtime import obsdict
from edgeperf.runtime.session import Session
from edgeperf.validation.rollout import collect_observations

POOL = 1024


def random_pool(
    session: Session, batch: int = 1, seed: int = 0, size: int = POOL, shape: tuple[int, ...] | None = None
) -> tuple[list, dict]:
    """Observations sampled from the model's input space, and a description of how they were drawn.

    Uniform within the observation space's bounds when the artifact carries them (edgeperf exports do),
    standard normal otherwise, and the description says which.
    """
    meta = session.io.metadata
    space = spaces.from_dict(meta.get("obs_space"))
    rng = np.random.default_rng(seed)
    names = [s.name for s in session.io.inputs]
    feeds, hows = [], []
    for spec in session.io.inputs:
        how = "standard normal (the model carries no observation bounds)"
        dims = list(spec.shape)
        if spec.dynamic_dims and spec.dynamic_dims[0] == 0:
            dims[0] = batch
        elif batch != 1:
            raise BadInput(f"input '{spec.name}' has a fixed batch of {dims[0]}; --batch {batch} cannot be fed")
        if shape and len(session.io.inputs) == 1:
            if len(shape) != len(dims) - 1 or any(
                isinstance(d, int) and d >= 0 and d != s for d, s in zip(dims[1:], shape, strict=True)
            ):
                raise BadInput(f"--shape {list(shape)} does not fit input '{spec.name}' of shape {list(spec.shape)}")
            dims[1:] = shape
        if any(not isinstance(d, int) or d < 0 for d in dims):
            raise BadInput(
                f"input '{spec.name}' has dynamic dimensions {list(spec.shape)} besides the batch axis; the profiler "
                "cannot fill it: give the observation shape with --shape, e.g. --shape 48"
            )
        sub = _input_space(space, spec.name)
        low, high = (sub.low, sub.high) if isinstance(sub, spaces.Box) else (None, None)
        if spec.dtype == "uint8":  # raw camera pixels: uniform uint8, as a camera gives them
            lo, hi = (0 if low is None else low), (255 if high is None else high)
            pool = rng.integers(np.broadcast_to(lo, dims[1:]), np.broadcast_to(hi, dims[1:]) + 1, (size, *dims))
            how = "uniform uint8 pixels within the observation space's bounds"
        elif low is not None and high is not None and np.all(np.isfinite(low)) and np.all(np.isfinite(high)):
            pool = rng.uniform(np.broadcast_to(low, dims[1:]), np.broadcast_to(high, dims[1:]), (size, *dims))
            how = "uniform within the observation space's bounds"
        else:
            pool = rng.standard_normal((size, *dims))
        feeds.append(pool.astype(spec.dtype))
        hows.append(how)
    # One sentence per input when there are several (an image and a vector are drawn differently).
    how = hows[0] if len(hows) == 1 else "; ".join(f"{n}: {h}" for n, h in zip(names, hows, strict=True))
    obs = [
        feeds[0][i] if len(names) == 1 else {n: f[i] for n, f in zip(names, feeds, strict=True)} for i in range(size)
    ]
    return [session.prepare(o) for o in obs], {
        "source": "random",
        "distribution": how,
        "distinct": size,
        "batch": batch,
        "seed": seed,
    }


def _input_space(space: spaces.Space | None, name: str) -> spaces.Space | None:
    """The space of one input: a dict space (several inputs) holds one per input name."""
    if isinstance(space, spaces.DictSpace):
        return space.spaces.get(name)
    return space


def domain_pool(
    session: Session, domain_id: str, batch: int = 1, seed: int = 0, episodes: int = 2
) -> tuple[list, dict]:
    """On-policy observations: the model itself drives `episodes` seeded episodes of the domain, and every
    step's observation is kept (in order, `batch` consecutive observations per inference)."""

    obs, how = collect_observations(
        domain_id, session.run, POOL * batch, seed, episodes, "the model being profiled", reset=session.reset
    )
    n = obsdict.length(obs)  # a dict of arrays for a Dict-observation domain
    feeds = [session.prepare(obsdict.take(obs, slice(i, i + batch))) for i in range(0, n - batch + 1, batch)]
    return feeds, {
        "source": f"domain:{domain_id}",
        "distribution": how,
        "distinct": len(feeds),
        "batch": batch,
        "seed": seed,
    }


def pool(session: Session, observations: str, batch: int, seed: int, shape) -> tuple[list, dict]:
    """The observation pool `--observations random|domain:ID` asks for."""
    if observations.startswith("domain:"):
        return domain_pool(session, observations.split(":", 1)[1], batch=batch, seed=seed)
    return random_pool(session, batch=batch, seed=seed, shape=shape)
