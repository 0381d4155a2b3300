"""Hardware-in-the-loop: the simulator runs here, the policy on the robot's computer behind `edgeperf serve`, and
each control step crosses the real link.

realtime: steps are released at absolute times at the domain's control rate (release k = start + k x period, as
`profile --rate` does). At each release the observation is sent; the action counts when it arrives before the
deadline (default 80% of the period: the rest is the simulator's), and it reaches the simulated robot at the
moment it arrived after the observation (at physics-substep granularity, as latency in the loop does in
`validate`). An action not there by the deadline is a miss: the fallback applies (hold the last action, zeros,
or the env's default action) and its reply, if it comes, is dropped by sequence number and counted as stale.
lockstep: the simulator waits for every action (the link's latency still applies in simulated time, without
real-time pressure). While it waits for an action the realtime loop spins on the socket rather than sleeping:
the host is the test harness, and a thread woken from sleep would add its own wake-up to the robot's latency.

The server gone mid-run (killed, restarted): its replies stop (misses) until it answers again; a restarted server
does not know this session, so the client repeats the handshake, with backoff, refusing a model whose sha256
changed. Every such gap is recorded with the episode it hit. With the artifact here too, the same seeds run in
pure simulation (SIL) and the paired verdict of `validate` compares HIL with SIL.

A policy that returns action chunks crosses the link once per chunk query, executed by validation/chunks.Chunker as
in validate: asynchronously in realtime, waiting for each chunk in lockstep (_chunk_episode).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from edgeperf.config.hil import HilConfig
from edgeperf.devices.detect import host_summary
from edgeperf.domains import base
from edgeperf.errors import BadInput, HardwareMissing
from edgeperf.profilers.latency import sleep_until
from edgeperf.profilers.stats import latency_stats
from edgeperf.results.report import ModelInfo, Report, sha256_file
from edgeperf.runtime import wire
from edgeperf.runtime.remote import LinkError, ModelChanged, RemoteSession, SessionLost
from edgeperf.validation import chunks
from edgeperf.validation.chunks import Chunker, ChunkExecution
from edgeperf.validation.latency import DelayedActions
from edgeperf.validation.rollout import Episode, PolicySpec, run_pairs

DEADLINE_SHARE = 0.8
LOCKSTEP_TIMEOUT_S = 10.0
BACKOFF_S = (0.05, 2.0)  # first and longest wait between handshake attempts while the server is gone
GAP_S = 1.0  # a run of misses this long is a gap in the link, even without a new handshake
GAP_WAKE_NS = 1_000_000  # chunks: wait for replies in ZeroMQ's sleep until this long before a release
_now = time.perf_counter_ns


class _Measured:
    """A latency model that is the link's own measurement for the step being delivered (DelayedActions' API)."""

    value_s = 0.0

    def sample(self, rng, n):
        return np.full(n, self.value_s)


@dataclass
class LinkLog:
    """What the link did, step by step, over the whole run."""

    rtt_ns: list = field(default_factory=list)
    server_ns: list = field(default_factory=list)
    infer_ns: list = field(default_factory=list)
    network_ns: list = field(default_factory=list)
    offset_ns: list = field(default_factory=list)
    start_delay_ns: list = field(default_factory=list)
    steps: int = 0
    misses: int = 0
    streak: int = 0
    longest_streak: int = 0
    errors: int = 0
    gaps: list = field(default_factory=list)  # {"seed", "step", "missed_steps", "seconds", "reconnected"}
    reply_steps: list = field(default_factory=list)  # chunks: control steps each answered query took
    abandoned: int = 0  # chunks: queries still in flight when their episode ended (neither hit nor miss)

    def hit(self, timing) -> None:
        self.steps += 1
        self.streak = 0
        self.rtt_ns.append(timing.rtt_ns)
        self.server_ns.append(timing.server_ns)
        self.infer_ns.append(timing.infer_ns)
        self.network_ns.append(timing.network_ns)
        self.offset_ns.append(timing.offset_ns)

    def miss(self) -> None:
        self.steps += 1
        self.misses += 1
        self.streak += 1
        self.longest_streak = max(self.longest_streak, self.streak)


class _Link:
    """The session and its recovery: a lost session is re-handshaken with backoff, never a silent model swap. A
    run of misses that needed a handshake again, or lasted GAP_S, is a gap in the record."""

    def __init__(self, session: RemoteSession, log: LinkLog, period_s: float):
        self.s, self.log = session, log
        self.wait_s, self.next_try = BACKOFF_S[0], 0.0
        self.streak_from: tuple[int, int, float] | None = None  # (seed, step, time) of the first miss of a run
        self.down = False  # a handshake is owed (the server forgot this session)
        self.reconnected = False
        self.period_s = period_s

    def missed(self, seed: int, step: int) -> None:
        if self.streak_from is None:
            self.streak_from = (seed, step, time.perf_counter())

    def suspect(self, seed: int, step: int) -> None:
        """A miss: after GAP_S of them the server may be gone for good, so the next steps try a fresh handshake
        (a fresh socket also drops what was queued for the old connection)."""
        self.missed(seed, step)
        if time.perf_counter() - self.streak_from[2] >= GAP_S:
            self.down = True

    def recover(self, seed: int, step: int) -> bool:
        """Try the handshake again when the backoff allows; True when the session is back."""
        self.missed(seed, step)
        self.down = True
        now = time.perf_counter()
        if now < self.next_try:
            return False
        connect_s = self.s.connect_s
        self.s.connect_s = max(self.period_s, 0.05)  # a short attempt: the loop keeps its schedule
        try:
            self.s.reconnect()
        except ModelChanged:
            raise
        except (HardwareMissing, LinkError):
            self.next_try = now + self.wait_s
            self.wait_s = min(2 * self.wait_s, BACKOFF_S[1])
            return False
        finally:
            self.s.connect_s = connect_s
        self.wait_s, self.next_try = BACKOFF_S[0], 0.0
        self.down, self.reconnected = False, True
        return True

    def healed(self, seed: int, step: int) -> None:
        """An action arrived: the run of misses before it, if any, ends here."""
        if self.streak_from is None:
            return
        s0, k0, t0 = self.streak_from
        seconds = time.perf_counter() - t0
        if self.reconnected or seconds >= GAP_S:
            self.log.gaps.append(
                {
                    "seed": s0,
                    "step": k0,
                    "missed_steps": (step - k0) if seed == s0 else None,
                    "seconds": seconds,
                    "reconnected": self.reconnected,
                }
            )
        self.streak_from, self.reconnected = None, False


def _fallback_action(env, on_miss: str) -> np.ndarray | None:
    """What a miss applies: None holds the last action."""
    space = env.action_space
    if on_miss == "hold":
        return None
    if on_miss == "default" and getattr(env.unwrapped, "default_action", None) is not None:
        return np.asarray(env.unwrapped.default_action, dtype=np.float32)
    if on_miss == "default" and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)):
        return ((space.low + space.high) / 2).astype(np.float32)
    return np.zeros(space.shape, dtype=np.float32)


def episode(
    domain: base.Domain,
    link: _Link,
    seed: int,
    *,
    mode: str,
    on_miss: str,
    deadline_s: float,
    chunking: ChunkExecution | None = None,
    horizon: int | None = None,
) -> Episode:
    """One HIL episode; with `chunking`, of a policy that returns action chunks of `horizon` actions
    (_chunk_episode)."""
    s, log = link.s, link.log
    period_ns = round(1e9 / domain.control_hz)
    env = domain.env(seed)
    action_name = s.io.outputs[0].name
    measured = _Measured()
    try:
        obs, _ = env.reset(seed=seed)
        _reset(link, seed)
        if chunking is not None:
            return _chunk_episode(domain, link, env, obs, seed, mode, on_miss, chunking, horizon)
        hold = np.zeros(env.action_space.shape, dtype=np.float32)
        deliver = DelayedActions(env, measured, 1.0 / domain.control_hz, np.random.default_rng(seed), hold)
        fallback = _fallback_action(env, on_miss)
        ep = Episode(seed)
        start = _now() + period_ns
        while True:
            release = start + ep.steps * period_ns
            if mode == "realtime":
                sleep_until(release)
                log.start_delay_ns.append(_now() - release)
            else:
                release = _now()
            wait_s = deadline_s if mode == "realtime" else LOCKSTEP_TIMEOUT_S
            reply = _exchange(link, obs, seed, ep.steps, release + round(wait_s * 1e9), busy=mode == "realtime")
            if reply is not None:
                link.healed(seed, ep.steps)
                log.hit(reply.timing)
                action = np.asarray(reply.outputs[action_name])
                if not ep.accepts(action):
                    break
                measured.value_s = (reply.timing.t4 - release) / 1e9
                applied = deliver(action)
            else:
                link.missed(seed, ep.steps)
                log.miss()
                applied = deliver.miss(fallback)
            obs, done = ep.step(env, applied)
            if done:
                break
    finally:
        env.close()
    return ep


def _reset(link: _Link, seed: int) -> None:
    """The server's policy state back to the start of an episode (a recurrent policy's memory)."""
    try:
        link.s.reset()
    except SessionLost:
        link.recover(seed, 0)
    except LinkError:
        link.missed(seed, 0)


def _send(link: _Link, obs, seed: int, step: int) -> int | None:
    """Send an observation (a handshake first when one is owed); its sequence number, or None (a miss)."""
    if link.down and not link.recover(seed, step):
        return None
    try:
        return link.s.send(obs)
    except LinkError:  # not connected: the server is gone
        link.suspect(seed, step)
        return None


def _exchange(link: _Link, obs, seed: int, step: int, wait_until: int, busy: bool):
    """Send the observation and wait for its action until `wait_until` (ns); the reply, or None (a miss)."""
    s = link.s
    for _ in range(2):  # a second time only right after a fresh handshake (the server had restarted)
        seq = _send(link, obs, seed, step)
        if seq is None:
            return None
        while True:
            try:
                reply = s.poll(max(0.0, (wait_until - _now()) / 1e9), busy=busy)
            except SessionLost:
                s.cancel(seq)
                link.down = True
                break
            except LinkError:
                link.log.errors += 1
                s.cancel(seq)
                return None
            if reply is None:
                s.cancel(seq)
                link.suspect(seed, step)
                return None
            if reply.seq == seq:
                return reply
    return None


def _chunk_episode(  # noqa: PLR0913 - episode() hands its whole state on
    domain, link: _Link, env, obs, seed: int, mode: str, on_miss: str, chunking, horizon
) -> Episode:
    """An episode of a chunk policy, executed by validation/chunks.Chunker as validate executes it.

    lockstep (sync timing): each query waits for its reply; the measured round trip, in whole control steps,
    stalls the simulated robot as validate's --chunk-timing sync does (none on a fast link).
    realtime (async timing): steps are released at the control rate; a chunk is queried on its cadence from
    the fresh observation and the robot keeps executing the current chunk while the query is in flight. A reply
    that came in by half a period into step t (the nearest step, as validate rounds latency) takes over at t,
    its actions stale by the steps since it was asked skipped; a chunk that runs out first holds (a stall). The
    episode's first chunk is waited for (up to LOCKSTEP_TIMEOUT_S) before its clock starts: a robot at rest
    does not start the task before it has a plan. A query unanswered after H steps (every action of its chunk
    stale) is a miss: given up, its reply dropped if it ever comes. A stall applies --on-miss (hold: the last
    action)."""
    period_s = 1.0 / domain.control_hz
    hold = np.zeros(env.action_space.shape, dtype=np.float32)
    fallback = _fallback_action(env, on_miss)
    ep = Episode(seed)
    if mode == "lockstep":
        # the round trip each query measured stalls the robot in simulated time (sync timing)
        query, measured = _lockstep_query(link, seed, ep, period_s)
        chunker = Chunker(chunking, horizon, query, period_s, measured, None, hold, fallback)
        while True:
            action = chunker.act(obs)
            if not ep.accepts(action):
                break
            obs, done = ep.step(env, action)
            if done:
                break
    else:
        chunker = Chunker(chunking, horizon, None, period_s, None, None, hold, fallback)
        _chunk_realtime(link, env, obs, seed, ep, chunker, round(1e9 * period_s))
    ep.metrics.update(chunker.metrics())
    return ep


def _lockstep_query(link: _Link, seed: int, ep: Episode, period_s: float):
    """A chunk query that waits for its reply (None: a miss), and the latency model that holds its round trip."""
    s, log, measured = link.s, link.log, _Measured()
    name = s.io.outputs[0].name

    def query(obs):
        release = _now()
        reply = _exchange(link, obs, seed, ep.steps, release + round(LOCKSTEP_TIMEOUT_S * 1e9), busy=False)
        if reply is None:
            link.missed(seed, ep.steps)
            log.miss()
            return None
        link.healed(seed, ep.steps)
        log.hit(reply.timing)
        measured.value_s = (reply.timing.t4 - release) / 1e9
        log.reply_steps.append(chunks.delay_steps(measured.value_s, period_s))
        return reply.outputs[name]

    return query, measured


def _chunk_realtime(link: _Link, env, obs, seed: int, ep: Episode, chunker: Chunker, period_ns: int) -> None:
    s, log = link.s, link.log
    flight: dict[int, int] = {}  # seq -> the step it was asked at
    inbox: list[tuple[int, np.ndarray]] = []  # replies in (step asked, chunk), not yet handed to the chunker
    start = None
    while True:
        t = ep.steps
        if start is not None:
            release = start + t * period_ns
            # replies that come before the release are taken as they come (their round trip is the link's, not
            # the loop's), in ZeroMQ's sleep: spinning the whole period would take a core from the simulator
            _receive(link, flight, inbox, seed, t, release - GAP_WAKE_NS, busy=False)
            sleep_until(release)
            log.start_delay_ns.append(_now() - release)
        if chunker.due():
            chunker.asked()
            seq = _send(link, obs, seed, t)
            if seq is None:
                log.miss()
            else:
                flight[seq] = t
        if start is None:  # the first chunk: waited for before the episode's clock starts
            _receive(link, flight, inbox, seed, t, _now() + round(LOCKSTEP_TIMEOUT_S * 1e9), busy=False)
            start = _now()
        else:
            _give_up_stale(link, flight, seed, t, chunker.h)
            _receive(link, flight, inbox, seed, t, release + period_ns // 2, busy=True)
        for asked, chunk in inbox:  # in by half a period into this step: they take over here (the nearest step)
            log.reply_steps.append(t - asked)
            chunker.arrived(asked, chunk)
        inbox.clear()
        action = chunker.advance()
        if not ep.accepts(action):
            break
        obs, done = ep.step(env, action)
        if done:
            break
    for seq in flight:  # not needed any more: their replies, if they come, are dropped
        s.cancel(seq)
    log.abandoned += len(flight)


def _give_up_stale(link: _Link, flight: dict, seed: int, t: int, horizon: int) -> None:
    """A query unanswered for H steps has nothing left to give (every action of its chunk is stale): a miss."""
    for seq, asked in list(flight.items()):
        if t - asked >= horizon:
            del flight[seq]
            link.s.cancel(seq)
            link.suspect(seed, t)
            link.log.miss()


def _receive(link: _Link, flight: dict, inbox: list, seed: int, t: int, until: int, busy: bool) -> None:
    """The replies to the queries in flight that come by `until` (ns), into `inbox`."""
    s, log = link.s, link.log
    name = s.io.outputs[0].name
    while flight and _now() < until:
        try:
            reply = s.poll(max(0.0, (until - _now()) / 1e9), busy=busy)
        except SessionLost:  # the server restarted: what was in flight is lost; the next query handshakes
            for seq in flight:
                s.cancel(seq)
                log.miss()
            flight.clear()
            link.missed(seed, t)
            link.down = True
            return
        except LinkError:
            log.errors += 1
            return
        if reply is None:
            return
        asked = flight.pop(reply.seq, None)
        if asked is None:
            continue
        link.healed(seed, t)
        log.hit(reply.timing)
        inbox.append((asked, reply.outputs[name]))


@dataclass(frozen=True)
class Plan:
    """A HIL run's options, checked before any connection (plan()), then run against a session (run())."""

    domain: base.Domain
    episodes: int
    seed: int
    mode: str
    on_miss: str
    deadline_s: float
    margin: float | None
    workers: int | None
    sil_model: str | None
    chunking: ChunkExecution | None = None  # its timing: async in realtime, sync in lockstep
    config: HilConfig | None = None  # as given; the report records it as it ran


def plan(cfg: HilConfig) -> Plan:
    """The run `cfg` describes, checked before any connection (the server's options are the caller's: plan only
    needs the episodes'). `cfg.model`: the same artifact here, for the HIL-against-SIL verdict (else that part
    is unmeasured); `cfg.chunking`: how a policy that returns action chunks is executed (its timing follows the
    mode)."""
    cfg.check_run()
    mode, deadline_ms, chunking = cfg.mode, cfg.deadline_ms, cfg.chunking
    if chunking is not None:
        chunking = dataclasses.replace(chunking, timing="async" if mode == "realtime" else "sync")
    domain_id = cfg.domain
    domain = base.make(domain_id)
    period_s = 1.0 / domain.control_hz
    deadline_s = DEADLINE_SHARE * period_s if deadline_ms is None else deadline_ms / 1e3
    if not (deadline_s > 0 and deadline_s <= period_s):
        raise BadInput(f"--deadline must be above 0 and at most the period ({period_s * 1e3:g} ms), got {deadline_ms}")
    sil_model = str(cfg.model) if cfg.model else None
    return Plan(
        domain, cfg.episodes, cfg.seed, mode, cfg.on_miss, deadline_s, cfg.margin, cfg.workers, sil_model, chunking, cfg
    )


def _hil_summary(hil_eps: list) -> dict:
    """The HIL episodes' summary without SIL: an episode cut short by a non-finite action counts as a failure,
    and its partial return is no score (it would read as the best one on a cost-like task)."""
    from edgeperf.validation import statistics

    eps = [e for e in hil_eps if not e.nonfinite] or hil_eps
    out = statistics.policy_summary(
        [e.ret for e in eps], [e.success for e in eps], [e.fall for e in eps], [e.metrics for e in eps]
    )
    finite = sum(not e.nonfinite for e in hil_eps)
    if finite < len(hil_eps):
        if "success_rate" in out:
            out["success_rate"] = sum(e.success for e in hil_eps) / len(hil_eps)
        out["return"]["over"] = (
            f"the {finite} of {len(hil_eps)} episodes without a non-finite action"
            if finite
            else "no episode: each ended on a non-finite action (these are partial returns, not scores)"
        )
    return out


def run(session: RemoteSession, p: Plan) -> Report:
    """HIL episodes of the policy `session` serves and an `edgeperf.hil/1` report; with `p.sil_model` the same
    seeds in pure simulation and the paired verdict of validate."""
    from edgeperf.validation.paired import check_fit_session, compare, per_episode

    domain, episodes, seed, mode, on_miss = p.domain, p.episodes, p.seed, p.mode, p.on_miss
    deadline_s, margin, workers, sil_model = p.deadline_s, p.margin, p.workers, p.sil_model
    period_s = 1.0 / domain.control_hz
    chunking = p.chunking
    horizon = check_fit_session(domain, session, f"served at {session.address}", "deployed", chunking)
    if sil_model is not None and sha256_file(sil_model) != session.sha256:
        raise BadInput(
            f"{sil_model} is not the model the server serves (sha256 {session.sha256[:12]}): give the same "
            "artifact for the SIL comparison"
        )
    seeds = [seed + k for k in range(episodes)]
    log = LinkLog()
    link = _Link(session, log, period_s)
    late0, late_rtt0 = session.stats["late"], len(session.late_rtt_ns)
    t0 = time.perf_counter()
    hil_eps = [
        episode(domain, link, k, mode=mode, on_miss=on_miss, deadline_s=deadline_s, chunking=chunking, horizon=horizon)
        for k in seeds
    ]
    wall = time.perf_counter() - t0
    if link.streak_from is not None:
        link.healed(seeds[-1], hil_eps[-1].steps)  # still missing at the end: the gap is part of the record
    report = Report.new("hil", host_summary())
    report.model = ModelInfo(
        path=str(session.path),
        sha256=session.sha256,
        format=wire.printable(session.server.get("backend")),
        inputs=[s.to_dict() for s in session.io.inputs],
        outputs=[s.to_dict() for s in session.io.outputs],
    )
    simulated = sum(e.steps for e in hil_eps) * period_s
    results = {
        "domain": {"id": domain.id, "control_hz": domain.control_hz, "success_rule": domain.success_rule},
        "mode": mode,
        "episodes": episodes,
        "seeds": [seeds[0], seeds[-1]],
        "wall_s": wall,
        "simulated_s": simulated,
        "link": _link_block(log, session, late0, late_rtt0, None if chunking else deadline_s),
        "server": {  # what the server says of itself, as it will be printed
            k: wire.printable(v) if isinstance(v, str) else v
            for k, v in ((k, session.server.get(k)) for k in ("backend", "device", "edgeperf", "model", "sha256"))
        },
        "affected_episodes": sorted({g["seed"] for g in log.gaps}),
    }
    if chunking is not None:
        results["chunks"] = _chunk_block(chunking, horizon, log, hil_eps)
    if sil_model is None:
        report.unmeasured["sil"] = "no local copy of the artifact was given (MODEL): HIL is not compared with SIL"
        results["hil"] = _hil_summary(hil_eps)
    else:
        spec = PolicySpec(str(sil_model))
        sil = [p.deployed for p in run_pairs(domain.id, spec, None, seeds, workers=workers or 1, chunking=chunking)]
        summary, verdict, margin = compare(domain, sil, hil_eps, report, margin)
        results.update({"sil": summary["reference"], "hil": summary["deployed"], "paired": verdict})
        results["per_episode"] = per_episode(seeds, {"sil": sil, "hil": hil_eps})
    if log.misses and chunking is None:
        report.warn(
            f"{log.misses} of {log.steps} actions missed their deadline ({deadline_s * 1e3:g} ms); longest streak "
            f"{log.longest_streak}; the fallback ({on_miss}) applied"
        )
    elif log.misses:
        report.warn(
            f"{log.misses} of {log.steps} chunk queries got no reply while their chunk was of use (within H = "
            f"{horizon} steps); longest streak {log.longest_streak}"
        )
    if log.gaps:
        report.warn(f"the link was lost {len(log.gaps)} times; episodes affected: {results['affected_episodes']}")
    nonfinite = [e.seed for e in hil_eps if e.nonfinite]
    results["nonfinite_episodes"] = nonfinite
    if nonfinite:
        report.warn(
            f"the policy in the loop returned non-finite actions in {len(nonfinite)} of {episodes} episodes (seeds "
            f"{nonfinite[:10]}): each ended there as a failure"
        )
    ran = (p.config or HilConfig(domain.id)).replace(
        domain=domain.id, connect=session.address, deadline_ms=deadline_s * 1e3, chunking=chunking
    )
    report.config = ran.to_dict()
    report.results = results
    return report


def _chunk_block(chunking: ChunkExecution, horizon: int, log: LinkLog, eps: list) -> dict:
    """How the chunks were executed, and what each query cost in control steps."""
    out = {
        **chunking.to_dict(horizon),
        "horizon": horizon,
        "first_chunk": "waited for before the episode's clock starts (a robot at rest waits for its first plan)"
        if chunking.timing == "async"
        else "waited for, as every chunk",
        "queries_in_flight_at_episode_end": log.abandoned,
        "per_episode": {
            key: [e.metrics.get(key) for e in eps]
            for key in ("chunk_queries", "chunk_stall_steps", "chunk_skipped_actions")
        },
    }
    if log.reply_steps:
        steps = np.asarray(log.reply_steps, dtype=np.float64)
        out["reply_steps"] = {
            "means": "control steps from a query to the step its chunk took over at (async: its stale actions; "
            "sync: the steps the robot waited), nearest step",
            "mean": float(steps.mean()),
            "max": int(steps.max()),
            "histogram": {str(int(v)): int(n) for v, n in zip(*np.unique(steps, return_counts=True), strict=True)},
        }
    return out


def _link_block(log: LinkLog, session: RemoteSession, late0: int, late_rtt0: int, deadline_s: float | None) -> dict:
    """The link's record; deadline_s None: a chunk policy's (one exchange per chunk query, no per-step deadline)."""

    def us(values) -> dict:
        stats, _ = latency_stats(np.asarray(values, dtype=np.float64))
        return stats

    out = {
        "clock": "perf_counter_ns (each side's own monotonic clock; only differences of one clock are taken)",
        "deadline_ms": deadline_s * 1e3 if deadline_s is not None else None,
        # one exchange per control step, or per chunk query (then the round trips below are per query)
        ("steps" if deadline_s is not None else "queries"): log.steps,
        "misses": log.misses,
        "miss_rate": log.misses / log.steps if log.steps else None,
        "longest_miss_streak": log.longest_streak,
        "fallback": "each missed step applied the --on-miss fallback"
        if deadline_s is not None
        else "a step without a chunk action (a stall) applied the --on-miss fallback",
        "stale_replies": session.stats["late"] - late0,
        "errors": log.errors,
        "reconnects": session.stats["reconnects"],
        "gaps": log.gaps[:100],
    }
    if log.rtt_ns:
        out["round_trip_us"] = us(log.rtt_ns)
        out["server_us"] = us(log.server_ns)
        out["inference_us"] = us(log.infer_ns)
        out["network_us"] = us(log.network_ns)
        if getattr(session, "clock_offset_measured", True):
            out["clock_offset_us"] = {
                "median": float(np.median(log.offset_ns)) / 1e3,
                "error_bound_us": float(np.median(log.rtt_ns)) / 2e3,
                "method": "((t2 - t1) + (t3 - t4)) / 2 per exchange (NTP); the error is at most half the round trip",
            }
        else:  # openpi's replies carry the server's inference time, not its clock
            out["clock_offset_us"] = None
            out["clock_offset_absent"] = "the protocol carries no server timestamps (openpi: server_timing only)"
    late_rtt = session.late_rtt_ns[late_rtt0:]
    if late_rtt:  # how late the stale replies came: what a longer deadline would have bought
        out["stale_round_trip_us"] = us(late_rtt)
    if log.start_delay_ns:
        out["loop_start_delay_us"] = us(log.start_delay_ns)
    return out
