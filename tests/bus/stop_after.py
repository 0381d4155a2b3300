"""Watches rt/lowcmd and sends SIGTERM to a process after it has seen N commands (a controller stopped mid-run).

python -m tests.bus.stop_after DDS_DOMAIN PID N
"""

from __future__ import annotations

import os
import signal
import sys
import time

from edgeperf.bus import dds, unitree


def main() -> None:
    dds_domain, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    bus = dds.Participant(dds_domain, "lo")
    inbox = dds.Inbox(serialized=True)
    bus.reader(unitree.TOPIC_CMD, unitree.FAMILIES["unitree_go"].cmd, inbox)
    seen, deadline = 0, time.monotonic() + 120
    while seen < n and time.monotonic() < deadline:
        if inbox.wait(0.2):
            seen += len(inbox.drain())
    os.kill(pid, signal.SIGTERM)
    print(seen, flush=True)


if __name__ == "__main__":
    main()
