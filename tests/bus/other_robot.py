"""Another robot already on the DDS domain: publishes LowState_ on rt/lowstate for a few seconds.

python -m tests.bus.other_robot DDS_DOMAIN SECONDS
"""

from __future__ import annotations

import sys
import time

from edgeperf.bus import dds, unitree


def main() -> None:
    bus = dds.Participant(int(sys.argv[1]), "lo")
    fam = unitree.FAMILIES["unitree_go"]
    writer = bus.writer(unitree.TOPIC_STATE, fam.state)
    msg = fam.state()
    end = time.monotonic() + float(sys.argv[2])
    print("publishing", flush=True)
    while time.monotonic() < end:
        msg.tick += 1
        writer.write(msg)
        time.sleep(0.01)


if __name__ == "__main__":
    main()
