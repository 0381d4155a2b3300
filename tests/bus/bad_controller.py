"""A controller that sends, for every state it answers, commands that are wrong in one way each, then a right one
(hold the default pose): bad CRC, NaN, a slot the robot lacks, a target outside the joint range.

    python -m tests.bus.bad_controller DOMAIN_ID DDS_DOMAIN
"""

from __future__ import annotations

import sys
import time

import numpy as np

from edgeperf.bus import dds, unitree
from edgeperf.bus.robot import motor_slots, spec_of


def main() -> None:
    domain_id, dds_domain = sys.argv[1], int(sys.argv[2])
    spec = spec_of(domain_id)
    slots = motor_slots(spec)
    fam = unitree.FAMILIES["unitree_go"]
    bus = dds.Participant(dds_domain, "lo")
    inbox = dds.Inbox()
    bus.reader(unitree.TOPIC_STATE, fam.state, inbox, depth=1)
    writer = bus.writer(unitree.TOPIC_CMD, fam.cmd)

    def good():
        cmd = fam.cmd()
        for i, s in enumerate(slots):
            m = cmd.motor_cmd[s]
            m.q, m.kp, m.kd = float(spec.default_pos[i]), float(spec.kp[i]), float(spec.kd[i])
        return cmd

    def send(cmd, crc=True):
        cmd.crc = unitree.crc(cmd)
        if not crc:
            cmd.crc ^= 0x1
        writer.write(cmd)

    last, seen = None, time.monotonic()
    while time.monotonic() - seen < 3:
        if not inbox.wait(0.2):
            continue
        items = inbox.drain()
        if not items:
            continue
        seen = time.monotonic()
        tick = items[-1][1].tick
        if last is not None and 0 <= tick - last < spec.decimation:
            continue
        send(good(), crc=False)  # bad CRC
        nan = good()
        nan.motor_cmd[slots[0]].q = float("nan")
        send(nan)  # non-finite
        extra = good()
        extra.motor_cmd[19].kp = 5.0  # a slot the A1 lacks
        send(extra)
        far = good()
        far.motor_cmd[slots[1]].q = 100.0  # beyond the joint's range (kp > 0)
        far.motor_cmd[slots[1]].kp = float(np.float32(0.0)) + 1e-3
        send(far)
        time.sleep(0.002)
        send(good())
        last = tick


if __name__ == "__main__":
    main()
