"""The DDS robot's bars (edgeperf hil --bus), on loopback:

1. added latency: edgeperf's robot (realtime, 500 Hz LowState_ stream from MuJoCo) against a bare CycloneDDS echo
   of the same messages (a 500 Hz publisher of a LowState_), both answered by the same echo controller process at
   50 Hz (the standing pose, a LowCmd_ every 10th tick, CRC set, its own handling time in reserve[0]). What is not
   edgeperf's added work is done alike on both sides: each state is encoded and its CRC set before its publish
   time is taken; the stream is paced by the same clock (bus.robot.pace, 1 ns timer slack, no spin); each
   command is taken by the same reading thread (cyclonedds' C take of the serialized sample). Then the robot
   checks the command's CRC and values and puts them into its motor drivers, the torque law's inputs that every
   physics step reads ("applied"); the bare decodes the whole message (one struct unpack). Per command: that
   moment - the latest state publish before the reading thread woke for it - the controller's own time. Rounds
   interleaved (robot, bare, robot, ...) on one DDS domain; p50/p99 and the ratio of p99s (bar: <= 1.3).
2. the example controller through the bus, 6 episodes of the A1 bus spec, lockstep, against SIL: the verdict.
3. the same in realtime with the controller sleeping 30 ms before every 10th command: misses and the task (the
   SIL reference applies each action one physics step late, as a punctual controller's command acts on the bus).

    .venv/bin/python scripts/bench_dds.py [--rounds 6] [--seconds 3] [--skip-task]

Its figures (and what was tried and not kept) are on docs/benchmarks/dds.md; `--write-docs` rewrites the page's
measured block with this run's output.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SPEC = ROOT / "tests" / "fixtures" / "mujoco" / "a1_trot_bus.toml"
DOCS_PAGE = "benchmarks/dds.md"
DDS = 20 + os.getpid() % 200  # a domain of its own per run: two runs at once on one domain hear each other

ECHO = """
import sys, time
from edgeperf.bus import dds, unitree
fam = unitree.FAMILIES["unitree_go"]
bus = dds.Participant(int(sys.argv[1]), "lo")
inbox = dds.Inbox()
bus.reader(unitree.TOPIC_STATE, fam.state, inbox, depth=1)
w = bus.writer(unitree.TOPIC_CMD, fam.cmd)
cmd = fam.cmd()
for i, m in enumerate(cmd.motor_cmd[:12]):  # the A1's standing pose on its deploy gains
    m.q, m.kp, m.kd = (0.0, 0.9, -1.8)[i % 3], 200.0, 3.0
last, seen = None, time.monotonic()
while time.monotonic() - seen < 5:
    if not inbox.wait(0.2):
        continue
    items = inbox.drain()
    if not items:
        continue
    seen = time.monotonic()
    t_in, s = items[-1]
    if last is not None and 0 <= s.tick - last < 10:
        continue
    last = s.tick
    unitree.set_reserve(cmd, 0)
    cmd.crc = unitree.crc(cmd)
    unitree.set_reserve(cmd, time.perf_counter_ns() - t_in)  # its own handling (the CRC as a controller sends it)
    cmd.crc = unitree.crc(cmd)
    w.write(cmd)
"""


def bare_round(participant, inbox, writer, seconds: float) -> list[int]:
    """A 500 Hz LowState_ stream of a prepared message (encoded and CRC set before its publish time is taken, as
    the robot does); per command: taken and decoded (the reading thread, values as the robot's get them) - the
    latest publish before its wake - the echo's own time."""
    from edgeperf.bus import unitree
    from edgeperf.bus.robot import fine_timer, pace

    lay = unitree.LAYOUTS[unitree.FAMILIES["unitree_go"].state]
    at = unitree.LAYOUTS[unitree.FAMILIES["unitree_go"].cmd].index[("reserve",)]
    msg = unitree.FAMILIES["unitree_go"].state()
    values = lay.values(msg)
    tick, crc = lay.index[("tick",)], lay.n - 1
    pubs: list[int] = []
    out = []
    with fine_timer():  # as the robot's run
        t0 = time.perf_counter_ns()
        for k in range(int(seconds * 500)):
            pace(t0 + k * 2_000_000)  # the robot's clock, as the robot paces its physics
            values[tick], values[crc] = k, 0
            values[crc] = lay.crc_of(values)
            msg.__dict__["_wire"] = lay.encode(values)
            t = time.perf_counter_ns()
            pubs.append(t)
            writer.write(msg)
            for t_wake, t_in, cmd in inbox.drain():
                before = [p for p in pubs[-8:] if p <= t_wake]
                if before and cmd is not None:
                    out.append(t_in - before[-1] - cmd[at])
    return out


def bare_receiver(inbox):
    """The bare echo's receive, on its reading thread (the robot's own, taking serialized samples): the command's
    values decoded (one struct unpack of the whole message, edgeperf's own codec: the cheapest full decode in
    Python), stamped after."""
    from edgeperf.bus import unitree

    decode, now, items = unitree.LAYOUTS[unitree.FAMILIES["unitree_go"].cmd].decode, time.perf_counter_ns, inbox.items

    def on_command(t: int, data) -> None:
        values = decode(data) if data is not None else None
        items.append((t, now(), values))

    return on_command


def robot_round(participant, seconds: float, spec_id: str) -> list[int]:
    from edgeperf.bus.robot import Robot

    bot = Robot(spec_id, "unitree_go", participant, mode="realtime", first_command_timeout_s=10)
    eps = bot.run([0])
    bot.inbox.stop()  # its reading thread ends with the round
    assert eps, "no command came"
    log = bot.log
    n = min(len(log.applied_ns), len(log.controller_ns))
    return [a - c for a, c in zip(log.applied_ns[:n], log.controller_ns[:n], strict=True)]


def latency(rounds: int, seconds: float) -> None:
    from edgeperf.bus import dds, unitree

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "a1.toml"
        scene = SPEC.parent / "unitree_rl_gym/resources/robots/a1/a1.xml"
        text = SPEC.read_text().replace('scene = "unitree_rl_gym/resources/robots/a1/a1.xml"', f'scene = "{scene}"')
        spec.write_text(text.replace("episode_s = 10", f"episode_s = {seconds:g}"))
        spec_id = f"mujoco:{spec}"
        echo = subprocess.Popen([sys.executable, "-c", ECHO, str(DDS)], cwd=ROOT)
        try:
            participant = dds.Participant(DDS, "lo")
            fam = unitree.FAMILIES["unitree_go"]
            robot_ns, bare_ns = [], []
            for r in range(rounds):
                # the robot and the bare stream take turns on the same domain (never both at once)
                robot_ns += robot_round(participant, seconds, spec_id)
                time.sleep(0.3)
                inbox = dds.Inbox(serialized=True)
                inbox.handler = bare_receiver(inbox)
                participant.reader(unitree.TOPIC_CMD, fam.cmd, inbox)
                bare_ns += bare_round(participant, inbox, participant.writer(unitree.TOPIC_STATE, fam.state), seconds)
                inbox.stop()
                time.sleep(0.3)
                print(f"round {r + 1}/{rounds}: robot {len(robot_ns)} commands, bare {len(bare_ns)}", flush=True)
        finally:
            echo.terminate()
            echo.wait()
    expected = rounds * int(seconds * 50) + rounds  # 50 Hz answers (and the one that starts each robot round)
    if max(len(robot_ns), len(bare_ns)) > expected:
        sys.exit(f"more commands than this run's controller sent ({len(robot_ns)}, {len(bare_ns)} > {expected}): "
                 f"something else answers on DDS domain {DDS}; run again")  # fmt: skip
    a, b = np.asarray(robot_ns) / 1e3, np.asarray(bare_ns) / 1e3
    pa, pb = np.percentile(a, [50, 99]), np.percentile(b, [50, 99])
    print(f"edgeperf robot: publish -> applied - controller, us: p50 {pa[0]:.0f}  p99 {pa[1]:.0f}  (n={a.size})")
    print(f"bare echo:      publish -> received - controller, us: p50 {pb[0]:.0f}  p99 {pb[1]:.0f}  (n={b.size})")
    print(f"ratio p99 {pa[1] / pb[1]:.2f}x, p50 {pa[0] / pb[0]:.2f}x (bar: p99 <= 1.3x)")


def task(sleeping: bool) -> None:
    """The example controller over the bus, 6 episodes, against SIL."""
    from edgeperf.bus.run import run

    with tempfile.TemporaryDirectory() as tmp:
        onnx = Path(tmp) / "p.onnx"
        subprocess.run(
            [sys.executable, "-m", "edgeperf", "export", "reference:quadruped/trot", "-o", str(onnx), "--domain",
             f"mujoco:{SPEC}", "--no-store"], check=True, cwd=ROOT, capture_output=True,
        )  # fmt: skip
        extra = ["--sleep-every", "10", "--sleep-ms", "30"] if sleeping else []
        ctl = subprocess.Popen(
            [sys.executable, str(ROOT / "examples/unitree_controller.py"), str(onnx), "--domain", f"mujoco:{SPEC}",
             "--bus", "unitree_go", "--dds-domain", str(DDS + 2), "--idle-exit", "3", *extra], cwd=ROOT,
        )  # fmt: skip
        try:
            rep = run(f"mujoco:{SPEC}", "unitree_go", dds_domain=DDS + 2, episodes=6, realtime=sleeping,
                      reference="reference:quadruped/trot", opener=_opener())  # fmt: skip
        finally:
            ctl.terminate()
            ctl.wait()
    r = rep.results
    p, link, b = r["paired"], r["link"], r["bus"]
    what = "realtime, controller sleeping 30 ms every 10th command" if sleeping else "lockstep"
    print(
        f"{what}: verdict {p['verdict']} (return difference {p['mean_return_difference']:+.3f}, 90% CI "
        f"[{p['ci90'][0]:+.3f}, {p['ci90'][1]:+.3f}], margin {p['margin']:g}); success SIL "
        f"{r['sil'].get('success_rate')} bus {r['hil'].get('success_rate')}, falls {r['hil']['falls']}; distance "
        f"SIL {r['sil']['metrics']['distance']:.2f} m bus {r['hil']['metrics']['distance']:.2f} m; misses "
        f"{link['misses']}/{link['steps']} (longest streak {link['longest_miss_streak']}); state age p50 "
        f"{b['age_us']['p50']:.0f} / p99 {b['age_us']['p99']:.0f} us; longest interval "
        f"{b['interval_us']['max'] / 1e3:.1f} ms"
    )


def _opener():
    from edgeperf.pipeline import open_policy

    return open_policy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--skip-task", action="store_true")
    args = ap.parse_args()
    latency(args.rounds, args.seconds)
    if not args.skip_task:
        task(sleeping=False)
        task(sleeping=True)


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
