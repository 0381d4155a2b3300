"""A controller with the start-up of unitree_rl_gym's deploy_real.py, unchanged in its flow: wait for a state with
a tick, zero torque until the remote's start button, move to the default pose (interpolated from where the joints
are, MOVE_S), hold it until the A button, then run the policy each control_dt (time.sleep paced, not synchronised
with the states); the remote's keys read as remote_controller.py reads them (bytes 2-3, start bit 2, A bit 8).

    python -m tests.bus.deploy_real_controller MODEL DOMAIN_ID DDS_DOMAIN [MOVE_S]
"""

from __future__ import annotations

import signal
import struct
import sys
import time

import numpy as np


def main() -> None:
    import onnxruntime as ort

    from edgeperf.bus import dds, unitree
    from edgeperf.bus.controller import Observer, targets
    from edgeperf.bus.robot import motor_slots, spec_of

    model, domain_id, dds_domain = sys.argv[1], sys.argv[2], int(sys.argv[3])
    move_s = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    spec = spec_of(domain_id)
    slots = motor_slots(spec)
    fam = unitree.FAMILIES["unitree_go"]
    dt = spec.physics_dt * spec.decimation  # config.control_dt
    policy = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inp = policy.get_inputs()[0].name
    observer = Observer(spec)

    # the subscriber's handler keeps the newest state
    latest = {"state": fam.state(), "seen": time.monotonic(), "slots": slots}

    def handler(t, msg):
        latest["state"], latest["seen"] = msg, time.monotonic()

    bus = dds.Participant(dds_domain, "lo")
    inbox = dds.Inbox()
    inbox.handler = handler
    bus.reader(unitree.TOPIC_STATE, fam.state, inbox, depth=1)
    writer = bus.writer(unitree.TOPIC_CMD, fam.cmd)
    cmd = fam.cmd()

    def send(q, kp, kd) -> None:
        for i, s in enumerate(slots):
            m = cmd.motor_cmd[s]
            m.q, m.dq, m.tau, m.kp, m.kd = float(q[i]), 0.0, 0.0, float(kp[i]), float(kd[i])
        cmd.crc = unitree.crc(cmd)
        writer.write(cmd)

    def alive() -> None:
        if time.monotonic() - latest["seen"] > 3:
            sys.exit(0)  # the robot is gone

    start_up(spec, latest, send, alive, move_s)
    kp, kd = np.asarray(spec.kp), np.asarray(spec.kd)
    action, k = np.zeros(spec.n), 0
    while True:  # run(): the policy, each control_dt
        alive()
        obs = observer.observe(latest["state"], slots, k, action)
        action = policy.run(None, {inp: obs[None]})[0].reshape(-1).astype(np.float64)
        send(targets(spec, action), kp, kd)
        k += 1
        time.sleep(dt)


def start_up(spec, latest, send, alive, move_s: float) -> None:
    """deploy_real.py's wait_for_low_state, zero_torque_state, move_to_default_pos and default_pos_state."""
    dt = spec.physics_dt * spec.decimation

    def button(bit: int) -> int:
        keys = struct.unpack("H", bytes(latest["state"].wireless_remote[2:4]))[0]
        return (keys >> bit) & 1

    while latest["state"].tick == 0:
        time.sleep(dt)
    zeros = np.zeros(spec.n)
    while button(2) != 1:  # create_zero_cmd until start
        alive()
        send(zeros, zeros, zeros)
        time.sleep(dt)
    kp, kd, default = np.asarray(spec.kp), np.asarray(spec.kd), np.asarray(spec.default_pos)
    slots = latest["slots"]
    init = np.array([latest["state"].motor_state[s].q for s in slots])
    steps = int(move_s / dt)
    for i in range(steps):
        alpha = i / steps
        send(init * (1 - alpha) + default * alpha, kp, kd)
        time.sleep(dt)
    while button(8) != 1:  # until A
        alive()
        send(default, kp, kd)
        time.sleep(dt)


if __name__ == "__main__":
    main()
