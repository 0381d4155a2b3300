"""Action chunks: a policy that returns H future actions per observation ([batch, H, action_dim], as ACT and
diffusion policies in LeRobot do), executed in a domain one action per control step.

Execution (`--chunk-exec`):
  open-loop  a chunk is queried, its first k actions (`--chunk-steps`, default H) run without looking at the
             observations in between, then the next chunk is queried.
  ensemble   ACT's temporal ensembling: a chunk is queried every k steps (default 1) and the action at step t
             averages every chunk that has an action for t, weighted w_i = exp(-m * i) with i = 0 the oldest
             chunk (`--ensemble-m`, ACT's m = 0.01; as in ACT, a smaller m incorporates new observations
             faster, a larger one leans on the oldest plan; m = 0 averages them equally).

Timing, with inference latency in the loop (`--latency` / `--latency-from`; `--chunk-timing`):
  sync   the robot waits while the next chunk is computed: the query's latency, rounded to whole control
         steps, holds the last action (stall steps, counted), then the chunk runs from its first action.
  async  the next chunk is computed from a fresh observation while the current one keeps running (queries
         on a fixed cadence of k steps); when it arrives its first actions, stale by the latency, are skipped
         (counted) and it takes over at the action meant for that step. A chunk that runs out before the next
         arrives holds its last action (a stall).
Without latency both timings are the same. Latencies are rounded to the nearest control step (as
validation/latency.py does for envs that cannot switch an action mid-step).

Episode metrics (validate's and hil's reports average them): chunk_queries, chunk_stall_steps,
chunk_skipped_actions. `hil` runs the same Chunker over a real link: in lockstep through act() with the measured
round trip as the latency (sync), in realtime feeding it the replies as they arrive (async; Chunker's docstring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgeperf.errors import BadInput

MODES = ("open-loop", "ensemble")
TIMINGS = ("sync", "async")
ACT_M = 0.01  # ACT's temporal-ensembling weight (Zhao et al., 2023)


@dataclass(frozen=True)
class ChunkExecution:
    mode: str = "open-loop"
    steps: int | None = None  # k; None: H for open-loop, 1 for ensemble
    m: float = ACT_M
    timing: str = "sync"

    def __post_init__(self):
        if self.mode not in MODES:
            raise BadInput(f"--chunk-exec {self.mode}: choose {' or '.join(MODES)}")
        if self.timing not in TIMINGS:
            raise BadInput(f"--chunk-timing {self.timing}: choose {' or '.join(TIMINGS)}")
        if self.steps is not None and (
            isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1
        ):
            raise BadInput(f"--chunk-steps must be a whole number of control steps >= 1, got {self.steps}")
        if not (isinstance(self.m, (int, float)) and math.isfinite(self.m) and self.m >= 0):
            raise BadInput(f"--ensemble-m must be a finite number >= 0 (ACT uses {ACT_M}), got {self.m}")

    def k(self, horizon: int) -> int:
        return self.steps if self.steps is not None else (horizon if self.mode == "open-loop" else 1)

    def check(self, horizon: int, name: str) -> None:
        """k must fit in the chunk: a policy cannot execute actions it does not return."""
        k = self.k(horizon)
        if k > horizon:
            what = "executes" if self.mode == "open-loop" else "queries a new chunk every"
            raise BadInput(
                f"{name} returns chunks of H={horizon} actions, but --chunk-exec {self.mode} --chunk-steps {k} "
                f"{what} {k} steps: give --chunk-steps at most {horizon}"
            )

    def to_dict(self, horizon: int | None = None) -> dict:
        default = "H" if self.mode == "open-loop" else 1
        steps = self.k(horizon) if horizon is not None else (self.steps if self.steps is not None else default)
        out = {"mode": self.mode, "timing": self.timing, "steps": steps}
        if self.mode == "ensemble":
            out["m"] = self.m
            out["weights"] = "w_i = exp(-m * i), i = 0 the oldest chunk, normalized"
        return out


def from_options(mode: str | None, steps: int | None, m: float = ACT_M, timing: str | None = None):
    """The command line's chunk options (validate, hil): a ChunkExecution, or None without --chunk-exec, when
    the options that shape one are bad input. `timing` None: the command has no --chunk-timing (hil's mode
    decides it)."""
    if mode is not None:
        return ChunkExecution(mode, steps, m, timing or "sync")
    if steps is not None or m != ACT_M or timing not in (None, "sync"):
        shaping = "--chunk-steps, --chunk-timing and --ensemble-m" if timing else "--chunk-steps and --ensemble-m"
        raise BadInput(f"{shaping} go with --chunk-exec open-loop|ensemble")
    return None


def delay_steps(seconds: float, period_s: float) -> int:
    """A latency in whole control steps: the nearest step, as validation/latency.py does for envs that cannot
    switch an action mid-step."""
    return math.floor(seconds / period_s + 0.5)


def budget(horizon: int, k: int, period_s: float, p99_s: float) -> dict:
    """What a chunk latency means for the loop: the next chunk has k control periods (the current chunk's k
    actions) to arrive; how much of them the p99 uses, and what sync and async execution then cost."""
    d = delay_steps(p99_s, period_s)
    window = k * period_s
    return {
        "horizon": horizon,
        "steps_per_chunk": k,
        "budget_ms": window * 1e3,
        "budget_rule": "k control periods: one inference returns the chunk that runs for the next k steps",
        "p99_ms": p99_s * 1e3,
        "p99_share_of_budget": p99_s / window,
        "latency_steps_at_p99": d,
        "sync": {
            "stall_steps_per_chunk_at_p99": d,
            "stalled_share_of_steps_at_p99": d / (k + d),
            "means": "the robot holds its last action while it waits for each chunk",
        },
        "async": {
            "stale_actions_skipped_at_p99": d,
            "spare_actions_at_p99": horizon - k - d,
            "fits_at_p99": k + d <= horizon,
            "means": "the next chunk is computed while the current runs; it arrives d steps late and starts at its "
            "action d, so k + d must not exceed H",
        },
    }


def horizon_of(action_shape: tuple, env_action_shape: tuple) -> int | None:
    """H when the policy's action (no batch axis) is a chunk [H, *env action], else None."""
    action_shape, env_action_shape = tuple(action_shape), tuple(env_action_shape)
    if len(action_shape) == len(env_action_shape) + 1 and action_shape[1:] == env_action_shape:
        return int(action_shape[0])
    return None


class Chunker:
    """One episode's chunk execution: `act(obs)` returns the action for this control step, querying the policy
    (`query(obs) -> [H, A]`, None: the query failed) when the execution says so, under the latency model (None:
    none). A caller whose chunks come back on their own clock (hil's real link, async timing) drives the same
    steps itself: `due()` at each step, `asked()` when it sends a query, `arrived(step asked, chunk)` when a
    reply comes in, then `advance()` for the step's action."""

    def __init__(self, execution, horizon, query, period_s, latency, rng, hold, fallback=None):
        self.ex, self.h, self.k = execution, horizon, execution.k(horizon)
        self.query, self.period, self.latency, self.rng = query, period_s, latency, rng
        self.hold = np.asarray(hold, dtype=np.float32)
        self.fallback = fallback  # what a stall applies (None: the last action holds)
        self.t = 0
        self.chunks: list[tuple[int, np.ndarray]] = []  # (origin step: where action 0 belongs, actions), oldest first
        self.pending: list[tuple[int, int, np.ndarray]] = []  # (ready step, step queried, actions)
        self.blocked_until = 0
        self.next_query = 0
        self.queries = self.stalls = self.skipped = 0

    def _delay_steps(self) -> int:
        if self.latency is None:
            return 0
        return delay_steps(float(self.latency.sample(self.rng, 1)[0]), self.period)

    def asked(self) -> None:
        """A query was sent at this step."""
        self.queries += 1
        self.next_query = self.t + self.k

    def arrived(self, queried: int, chunk) -> None:
        """The chunk queried at step `queried` is here now, at this step."""
        self.pending.append((self.t, queried, self._shape(chunk)))

    def _shape(self, chunk) -> np.ndarray:
        return np.asarray(chunk, dtype=np.float32).reshape(self.h, -1)

    def _issue(self, obs) -> None:
        chunk = self.query(obs)
        self.asked()
        if chunk is None:  # the query failed: nothing arrives, nothing blocks
            return
        d = self._delay_steps()
        self.pending.append((self.t + d, self.t, self._shape(chunk)))
        if self.ex.timing == "sync":
            self.blocked_until = self.t + d

    def _arrive(self) -> None:
        for ready, queried, chunk in [p for p in self.pending if p[0] <= self.t]:
            # sync: the robot waited, so the chunk runs from its first action on arrival; async: from the action
            # meant for now, the stale ones before it never executed
            origin = ready if self.ex.timing == "sync" else queried
            if self.ex.timing == "async" and self.ex.mode == "open-loop":
                self.skipped += ready - queried
            if self.ex.mode == "open-loop":
                self.chunks = [(origin, chunk)]
            else:
                self.chunks.append((origin, chunk))
        self.pending = [p for p in self.pending if p[0] > self.t]

    def due(self) -> bool:
        """Whether this step queries a chunk."""
        if self.pending and self.ex.timing == "sync":
            return False
        if self.ex.mode == "ensemble" or self.ex.timing == "async":
            return self.t >= self.next_query
        # open-loop, sync: when the current chunk has run its k actions (or there is none)
        return not self.chunks or self.t - self.chunks[-1][0] >= self.k

    def act(self, obs) -> np.ndarray:
        if self.due():
            self._issue(obs)
        return self.advance()

    def advance(self) -> np.ndarray:
        """This step's action (what has arrived by now taken in), and on to the next step."""
        self._arrive()
        action = self._pick() if self.t >= self.blocked_until else None
        if action is None:
            self.stalls += 1
            action = self.hold if self.fallback is None else self.fallback
        self.hold = action
        self.t += 1
        return action

    def _pick(self) -> np.ndarray | None:
        t = self.t
        live = [(o, c) for o, c in self.chunks if 0 <= t - o < self.h]
        if self.ex.mode == "ensemble":
            self.chunks = live  # chunks with nothing left for now or later are dropped
            if not live:
                return None
            w = np.exp(-self.ex.m * np.arange(len(live)))
            return (np.stack([c[t - o] for o, c in live]) * (w / w.sum())[:, None]).sum(axis=0).astype(np.float32)
        return live[-1][1][t - live[-1][0]] if live else None

    def metrics(self) -> dict:
        return {
            "chunk_queries": float(self.queries),
            "chunk_stall_steps": float(self.stalls),
            "chunk_skipped_actions": float(self.skipped),
        }
