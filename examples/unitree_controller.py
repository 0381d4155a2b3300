"""A robot controller in the style of unitree_rl_gym's deploy_real.py, for trying `edgeperf hil --bus` without a
robot: subscribe rt/lowstate, build the observation the deploy spec describes, run an edgeperf-exported ONNX with
onnxruntime, publish rt/lowcmd (per-motor q target, kp, kd, and the CRC the firmware checks).

    edgeperf export reference:quadruped/trot -o policy.onnx --domain mujoco:a1.toml
    edgeperf hil --domain mujoco:a1.toml --bus unitree_go --episodes 6 --reference reference:quadruped/trot &
    python examples/unitree_controller.py policy.onnx --domain mujoco:a1.toml --bus unitree_go

It answers a state when the robot's tick has advanced a control period (decimation physics steps) since the state
it last answered, or went back (the robot was reset: a new episode, the policy's memory cleared). It writes its own
compute time (ns) into LowCmd_.reserve[0], which edgeperf reports. --sleep-every N --sleep-ms M sleeps M ms before
every Nth command (a controller that is late now and then). It exits on SIGINT/SIGTERM, and after --idle-exit
seconds without a state once it has seen one (the robot is gone).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

import numpy as np


def main(argv=None) -> int:  # noqa: PLR0915 (one loop, as deploy_real.py reads)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="the ONNX policy (edgeperf export ... --domain mujoco:SPEC)")
    ap.add_argument("--domain", required=True, help="mujoco:SPEC: the deploy spec the policy was trained on")
    ap.add_argument("--bus", default="unitree_hg", choices=("unitree_hg", "unitree_go"))
    ap.add_argument("--interface", default="lo")
    ap.add_argument("--dds-domain", type=int, default=0)
    ap.add_argument("--sleep-every", type=int, default=0, metavar="N")
    ap.add_argument("--sleep-ms", type=float, default=30.0, metavar="MS")
    ap.add_argument("--idle-exit", type=float, default=10.0, metavar="S")
    ap.add_argument("--wait", type=float, default=120.0, metavar="S", help="give up if no state comes in S seconds")
    args = ap.parse_args(argv)

    import onnxruntime as ort

    from edgeperf.bus import dds, unitree
    from edgeperf.bus.controller import Observer, targets
    from edgeperf.bus.robot import motor_slots, spec_of

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    spec = spec_of(args.domain)
    slots = motor_slots(spec)
    family = unitree.FAMILIES[args.bus]
    observer = Observer(spec)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    policy = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    inp = policy.get_inputs()[0].name

    bus = dds.Participant(args.dds_domain, args.interface)
    inbox = dds.Inbox(maxlen=8)
    bus.reader(unitree.TOPIC_STATE, family.state, inbox, depth=1)
    writer = bus.writer(unitree.TOPIC_CMD, family.cmd)
    cmd = family.cmd()
    if args.bus == "unitree_hg":
        cmd.mode_pr, cmd.mode_machine = 0, 0
    kp, kd, clip = np.asarray(spec.kp), np.asarray(spec.kd), spec.action_clip

    last_tick, k, sent = None, 0, 0
    action = np.zeros(spec.n)
    seen = None
    start = time.monotonic()
    while True:
        if not inbox.wait(0.5):
            idle = time.monotonic() - (seen or start)
            if (seen and idle > args.idle_exit) or (not seen and idle > args.wait):
                print(f"no state on rt/lowstate for {idle:.0f} s: exiting", file=sys.stderr)
                return 0
            continue
        items = inbox.drain()
        if not items:
            continue
        seen = time.monotonic()
        t_in, state = items[-1]  # the newest state
        tick = state.tick
        if last_tick is not None and tick >= last_tick and tick - last_tick < spec.decimation:
            continue
        if last_tick is None or tick < last_tick:  # a new episode: the policy starts afresh
            observer.reset()
            action, k = np.zeros(spec.n), 0
        if args.sleep_every and sent % args.sleep_every == args.sleep_every - 1:
            time.sleep(args.sleep_ms / 1e3)
        shown = action if spec.action_clip is None or not observer.clipped_last_action else np.clip(action, -clip, clip)
        obs = observer.observe(state, slots, k, shown)
        action = policy.run(None, {inp: obs[None]})[0].reshape(-1).astype(np.float64)
        q = targets(spec, action)
        for i, s in enumerate(slots):
            m = cmd.motor_cmd[s]
            m.mode, m.q, m.dq, m.tau, m.kp, m.kd = 1, float(q[i]), 0.0, 0.0, float(kp[i]), float(kd[i])
        unitree.set_reserve(cmd, min(time.perf_counter_ns() - t_in, 2**32 - 1))  # this controller's own compute
        cmd.crc = unitree.crc(cmd)
        writer.write(cmd)
        last_tick, k, sent = tick, k + 1, sent + 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
