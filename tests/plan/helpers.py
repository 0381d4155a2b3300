"""An executor for plan tests: the plan's jobs run in this process (so a test can inject faults), one candidate's
profile with an injected 40 ms stall every 10th inference, and parity tolerances a test may tighten."""

from __future__ import annotations

import time

from edgeperf.runtime.session import Session
from edgeperf.sweep import jobs as runner
from tests.injected import busy_wait_us

STALL_US = 40_000


class Stalling(Session):
    """A real session whose every `every`-th inference stalls `stall_us` more (a 40 ms hiccup: GC, a co-runner)."""

    def __init__(self, inner: Session, stall_us: float = STALL_US, every: int = 10):
        self.inner, self.stall_us, self.every, self.n = inner, stall_us, every, 0
        self.io, self.backend, self.path = inner.io, inner.backend, inner.path
        self.on_gpu = False
        self.options = getattr(inner, "options", {})

    def prepare(self, obs):
        return self.inner.prepare(obs)

    def infer(self, feed):
        self.n += 1
        if self.n % self.every == 0:
            busy_wait_us(self.stall_us)
        return self.inner.infer(feed)

    def run(self, obs):
        return self.inner.run(obs)

    def reset(self):
        return self.inner.reset()

    def close(self):
        self.inner.close()


class InProcess:
    """Runs each plan job here; the profile of candidate `stall` runs through Stalling."""

    name = "in-process"

    def __init__(self, stall: str | None = None):
        self.stall = stall
        self.ran: list[str] = []

    def describe(self) -> dict:
        return {"executor": self.name}

    def run(self, todo, output):
        for j in todo:
            self.ran.append(j.id)
            p = j.params
            if p["step"] == "profile" and p["candidate"] == self.stall:
                yield self._stalled(j)
            else:
                yield runner.run(j.kind, dict(p), j.id, output)

    def _stalled(self, j) -> dict:
        from edgeperf.pipeline import open_policy
        from edgeperf.profilers.run import run_profile

        p = j.params
        t0 = time.perf_counter()
        session = Stalling(open_policy(p["model"], backend=p["backend"], threads=p["threads"]))
        with session:
            report = run_profile(
                session,
                rate=p["rate"],
                observations=p["observations"],
                duration=p["duration"],
                iterations=p["iterations"],
                threads=p["threads"],
                power="any",
                idle_s=0.5,
            ).report
        report.model.path = p["model"]
        return {"id": j.id, "ok": True, "report": report.to_json(), "wall_s": time.perf_counter() - t0}

    def close(self) -> None:
        pass
