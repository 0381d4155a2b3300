"""`edgeperf hil --bus`: a run of the DDS robot for the user's controller, and its `edgeperf.hil/1` report.

The report's `bus` block says what the controller did on the bus (command rate and jitter, the age of the state
each command answered, gaps, refused and out-of-limit commands; the methods are in robot.py's docstring and in the
block itself); `link` carries the figures every HIL report has (control steps, misses, gaps) so history, compare,
check and the HTML report read it as any HIL run; `hil` the task; with --reference, `sil` (the same policy in pure
simulation on the same seeds) and validate's paired verdict.
"""

from __future__ import annotations

import time

import numpy as np

from edgeperf.bus import robot as robot_doc
from edgeperf.bus.dds import DISCOVERY_S
from edgeperf.bus.robot import GAP_PERIODS
from edgeperf.devices.detect import host_summary
from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.profilers.stats import latency_stats
from edgeperf.results.report import Report
from edgeperf.validation.hil import _hil_summary
from edgeperf.validation.latency import LatencyModel
from edgeperf.validation.rollout import PolicySpec, run_pairs


def _us(values) -> dict | None:
    if not len(values):
        return None
    stats, _ = latency_stats(np.asarray(values, dtype=np.float64))
    return stats


def run(  # noqa: PLR0915
    domain_id: str,
    bus: str,
    *,
    interface: str = "lo",
    dds_domain: int = 0,
    episodes: int = 10,
    seed: int = 0,
    realtime: bool = False,
    reference: str | None = None,
    opener=None,
    margin: float | None = None,
    first_command_timeout_s: float = 10.0,
    remote_buttons: bool = False,
    on_ready=None,
):
    """The robot on the bus for `episodes` episodes of the controller, and the report. `on_ready(participant)` is
    called once the robot's topics exist (tests start their controller there)."""
    from edgeperf.bus import dds, robot, unitree
    from edgeperf.validation.paired import check_options

    check_options(episodes, seed, None, margin)
    if not (first_command_timeout_s > 0 and first_command_timeout_s <= 3600):
        raise BadInput(f"--wait must be above 0 and at most 3600 s, got {first_command_timeout_s}")
    if bus not in unitree.FAMILIES:
        raise BadInput(f"--bus {bus}: choose {' or '.join(unitree.FAMILIES)}")
    robot.spec_of(domain_id)  # a bad domain is said before the bus starts
    domain = base.make(domain_id)
    mode = "realtime" if realtime else "lockstep"
    report = Report.new("hil", host_summary())
    participant = dds.Participant(dds_domain, interface)
    try:
        others = _other_robots(participant, unitree.TOPIC_STATE)
        if others:
            report.warn(
                f"DDS domain {dds_domain} on {interface} already has {len(others)} other participant(s) publishing "
                f"{unitree.TOPIC_STATE} (another robot or simulator?): a controller there hears both; use another "
                "--dds-domain"
            )
        bot = robot.Robot(
            domain_id,
            bus,
            participant,
            mode=mode,
            first_command_timeout_s=first_command_timeout_s,
            remote_buttons=remote_buttons,
        )
        if on_ready is not None:
            on_ready(participant)
        seeds = [seed + k for k in range(episodes)]
        t0 = time.perf_counter()
        eps = bot.run(seeds)
        wall = time.perf_counter() - t0
        ours = bot.family.cmd.__idl_typename__
        foreign = [p for p in participant.publications(unitree.TOPIC_CMD) if _dotted(p["type_name"]) != ours]
    finally:
        participant.close()
    log, spec = bot.log, bot.spec
    for p in foreign:
        report.warn(
            f"a controller publishes {unitree.TOPIC_CMD} as {p['type_name']}: this robot speaks {bus} "
            f"({bot.family.cmd.__idl_typename__}), so none of its commands arrive; give --bus to match it"
        )
    ran = [e.seed for e in eps]
    period_s = spec.physics_dt * spec.decimation
    results = {
        "domain": {
            "id": domain.id,
            "control_hz": domain.control_hz,
            "physics_hz": 1.0 / spec.physics_dt,
            "success_rule": domain.success_rule,
        },
        "mode": mode,
        "episodes": episodes,
        "episodes_run": len(eps),
        "seeds": [seed, seed + episodes - 1],
        "wall_s": wall,
        "simulated_s": sum(e.steps for e in eps) * period_s,
        "bus": _bus_block(bot, bus, interface, dds_domain, others, foreign),
        "link": {
            "clock": "perf_counter_ns (this process)",
            "deadline_ms": period_s * 1e3,
            "steps": log.steps,
            "misses": log.misses,
            "miss_rate": log.misses / log.steps if log.steps else None,
            "longest_miss_streak": log.longest_streak,
            "fallback": "a control step without a new command keeps the last one (as the motor drivers do)",
            "stale_replies": log.between_episodes,
            "errors": log.bad_crc + log.nonfinite + log.undecodable,
            "reconnects": 0,
            "gaps": log.gaps[:100],
        },
        "affected_episodes": sorted({g["seed"] for g in log.gaps}),
    }
    if log.no_command is not None:
        nc = log.no_command
        report.warn(
            f"no valid command came on {unitree.TOPIC_CMD} within {nc['waited_s']:g} s of episode {nc['episode']} "
            f"(seed {nc['seed']}): the run stopped there ({len(eps)} of {episodes} episodes ran)"
            + held_note(log.startup, log.zero_torque_held)
        )
    if log.stopped is not None:
        st = log.stopped
        report.warn(
            f"the controller went silent after step {st['step']} of episode {st['episode']} (seed {st['seed']}) and "
            f"sent nothing more in the {st['silent_s']:.1f} s to the run's end (it stopped, crashed or was stopped): "
            f"{len(eps)} of {episodes} episodes ran"
        )
    if not eps:
        report.unmeasured["hil"] = "no episode ran: the controller sent no valid command"
    elif reference is None:
        report.unmeasured["sil"] = "no --reference was given: the task is not compared with SIL"
        results["hil"] = _hil_summary(eps)
    else:
        from edgeperf.validation.paired import compare, per_episode

        spec_p = PolicySpec(str(reference), opener=opener) if opener else PolicySpec(str(reference))
        delay = reference_delay(spec, realtime)
        sil = [p.deployed for p in run_pairs(domain.id, spec_p, None, ran, latency=delay, workers=1)]
        summary, verdict, _ = compare(domain, sil, eps, report, margin)
        results.update({"sil": summary["reference"], "hil": summary["deployed"], "paired": verdict})
        results["per_episode"] = per_episode(ran, {"sil": sil, "hil": eps})
    _warn(report, bot, results)
    report.config = {
        "domain": domain.id,
        "bus": bus,
        "interface": interface,
        "dds_domain": dds_domain,
        "mode": mode,
        "episodes": episodes,
        "seed": seed,
        "reference": str(reference) if reference else None,
        "wait_s": first_command_timeout_s,
    }
    report.results = results
    return report


def held_note(startup: int, zero_torque: int) -> str:
    """What the commands that did not start physics were, for the line that says none did."""
    if startup:
        return (
            f"; {startup} start-up commands came while the robot was held, none after A differed from the pose "
            "they held"
        )
    if zero_torque:
        return (
            f"; {zero_torque} zero-torque commands (kp = kd = tau = 0) came, which do not start physics: "
            "does the controller wait for the remote's start button (deploy_real.py)? give --remote-buttons"
        )
    return ""


def reference_delay(spec, realtime: bool):
    """The SIL reference's latency model for a run of this robot. Realtime: a punctual controller's command (one
    that answers within the physics period) comes while the physics step of the state it answers is running, and
    acts from the next physics step; SIL applies each action from the control step's first physics step. So the
    reference applies its actions one physics step late (`action_delay_s`, the physics substep), as the bus does;
    lockstep runs the control step once the command is in: no delay."""

    return LatencyModel.constant(spec.physics_dt * 1e3) if realtime else None


def _dotted(type_name: str) -> str:
    return type_name.replace("::", ".")


def _other_robots(participant, topic: str) -> list:
    time.sleep(DISCOVERY_S)  # discovery on the interface
    return participant.publications(topic)


def _bus_block(bot, bus: str, interface: str, dds_domain: int, others: list, foreign: list) -> dict:
    log, spec = bot.log, bot.spec
    intervals = np.asarray(log.interval_ns, dtype=np.float64)
    out = {
        "family": bus,
        "interface": interface,
        "dds_domain": dds_domain,
        "topics": {"state": "rt/lowstate", "command": "rt/lowcmd"},
        "state_type": bot.family.state.__idl_typename__,
        "command_type": bot.family.cmd.__idl_typename__,
        "motors": {"slots": bot.family.motors, "driven": dict(zip(spec.joints, bot.slots, strict=True))},
        "states_published": log.states,
        "commands": {
            "received": log.received,
            "applied": log.applied,
            "bad_crc": log.bad_crc,
            "nonfinite": log.nonfinite,
            "undecodable": log.undecodable,
            "wrong_motor_count": log.wrong_motor_count,
            "slots_the_robot_lacks": sorted(log.extra_slots),
            "joints_left_without_gains": [spec.joints[i] for i in sorted(log.limp_joints)],
            "outside_joint_range": log.outside_joint_range,
            "outside_torque_limit": log.outside_torque_limit,
            "between_episodes": log.between_episodes,
            "from_another_family": len(foreign),
            "reader_errors": bot.inbox.errors,  # samples the reading thread could not take or handle
            "zero_torque_while_held": log.zero_torque_held,
            "startup_while_held": log.startup,
        },
        "remote_buttons": {"emulated": bot.remote_buttons, "pressed": log.buttons},
        "rate_hz": log.applied / log.active_s if log.active_s > 0 else None,
        "interval_us": _us(intervals),
        "jitter_us": float(np.std(intervals) / 1e3) if intervals.size > 1 else None,
        "age_us": _us(log.age_ns),
        "applied_us": _us(log.applied_ns),
        "controller_compute_us": _us(log.controller_ns),
        "first_command_s": log.first_command_s,
        "physics": {
            "steps": log.physics_steps,
            "late_steps": log.late_physics if bot.mode == "realtime" else None,
            "torque_saturated_steps": log.saturated,
        },
        "other_state_publishers": len(others),
        "no_command": log.no_command,
        "controller_stopped": log.stopped,
        "method": {
            "age": "command receive (the DDS reading thread) minus the publish of the latest state published "
            "before it: the controller's reaction when it answers the newest state",
            "applied": "the motor law took the command (CRC checked, values in the drivers), minus that state's "
            "publish; in realtime its torque acts from the next physics step",
            "miss": "a control step in which no new valid command came (the last one held)",
            "gap": GAP_DOC,
            "controller_compute": "what the controller reports of itself in LowCmd_.reserve[0] (ns), where it does",
            "reference": REFERENCE_DOC[bot.mode],
            "hold": HOLD_DOC if not bot.remote_buttons else HOLD_DOC + "; " + REMOTE_DOC,
        },
    }
    return out


HOLD_DOC = (
    "the robot is held in its initial pose (physics not running) until an episode's first command with gains; "
    "zero-torque commands (kp, kd and tau 0 for every driven joint) while held are counted, not applied"
)
REMOTE_DOC = (
    "remote buttons emulated as deploy_real.py's operator: start held from the first zero-torque command, A once "
    f"{robot_doc.REMOTE_HELD_POSE} identical commands with gains in a row hold a pose; physics starts with the first "
    "command after A that differs from that pose; until then commands are start-up commands (counted, not applied)"
)
REFERENCE_DOC = {
    "realtime": "SIL (--reference) applies each action one physics step after its control step starts, as a "
    "command answering the state published at a control step's first physics step acts from the next one",
    "lockstep": "SIL (--reference) applies each action from its control step's first physics step, as the robot "
    "waits for the command before it runs the control step",
}
GAP_DOC = f"an interval between consecutive commands of at least {GAP_PERIODS} control periods"


def _warn(report, bot, results: dict) -> None:
    log, c = bot.log, results["bus"]["commands"]
    if log.bad_crc:
        report.warn(f"{log.bad_crc} commands had a wrong CRC: refused, as the robot's firmware refuses them")
    if c["reader_errors"]:
        report.warn(f"{c['reader_errors']} commands could not be taken or handled by the reading thread: not applied")
    if log.nonfinite:
        report.warn(f"{log.nonfinite} commands carried NaN or infinite values for driven motors: refused")
    if log.wrong_motor_count:
        parts = []
        if c["slots_the_robot_lacks"]:
            parts.append(f"drove motor slots {c['slots_the_robot_lacks'][:8]} the robot lacks")
        if c["joints_left_without_gains"]:
            parts.append(f"left {', '.join(c['joints_left_without_gains'][:6])} without kp, kd or tau")
        report.warn(
            f"{log.wrong_motor_count} commands had the wrong motor count ({'; '.join(parts)}); the robot drives "
            f"{len(bot.slots)} motors"
        )
    if log.outside_joint_range:
        report.warn(f"{log.outside_joint_range} commands set a target outside a joint's range")
    if log.outside_torque_limit:
        report.warn(f"{log.outside_torque_limit} commands asked a feed-forward torque beyond a motor's limit")
    if log.misses:
        report.warn(
            f"{log.misses} of {log.steps} control steps got no new command (longest streak {log.longest_streak}); "
            "the last command held"
        )
    if log.gaps:
        report.warn(f"the controller went silent {len(log.gaps)} times for {GAP_PERIODS} control periods or more")
