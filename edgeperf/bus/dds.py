"""CycloneDDS for the robot bus: one participant on a chosen interface, the two topics, and what else is on them.

The interface is chosen as unitree_sdk2py's ChannelFactoryInitialize(domain, interface) chooses it: a CycloneDDS
configuration naming that one network interface (loopback by default), given to the domain before its participant.
Samples are taken by a thread of ours blocked in a CycloneDDS WaitSet (the GIL released while it waits), stamped
there (perf_counter_ns) and queued, so their receive time does not wait for the simulator's loop. (A listener
callback that takes its samples deadlocks cyclonedds' Python binding.) An Inbox made with `serialized=True` takes
the serialized samples as they came (cyclonedds' C take, no message object) and hands on their bytes: building the
nested message objects cost the robot's reading thread 40-80 us a command.
"""

from __future__ import annotations

import collections
import socket
import threading
import time

from edgeperf.errors import BadInput, require

DISCOVERY_S = 0.4  # how long to listen for another robot on rt/lowstate before publishing
_now = time.perf_counter_ns


def check_interface(name: str) -> None:
    """BadInput unless `name` is a network interface of this machine."""
    names = [n for _, n in socket.if_nameindex()]
    if name not in names:
        raise BadInput(f"--interface {name}: no such network interface here; this machine has {', '.join(names)}")


def config_xml(interface: str) -> str:
    """CycloneDDS's configuration for one interface (the form unitree_sdk2py writes)."""
    return (
        '<?xml version="1.0" encoding="UTF-8" ?><CycloneDDS><Domain Id="any"><General><Interfaces>'
        f'<NetworkInterface name="{interface}" priority="default" multicast="default" />'
        "</Interfaces></General></Domain></CycloneDDS>"
    )


def check_domain(domain_id: int) -> None:
    if not (isinstance(domain_id, int) and 0 <= domain_id <= 232):
        raise BadInput(f"--dds-domain {domain_id}: a DDS domain id from 0 to 232")


class Participant:
    """A domain participant on one interface; `writer(topic, type)`, `reader(topic, type, on_sample)`."""

    def __init__(self, domain_id: int, interface: str):
        check_domain(domain_id)
        check_interface(interface)
        dom = require("cyclonedds.domain", "dds", "for the DDS robot bus", package="cyclonedds")
        self._topic_mod = require("cyclonedds.topic", "dds", package="cyclonedds")
        self._pub = require("cyclonedds.pub", "dds", package="cyclonedds")
        self._sub = require("cyclonedds.sub", "dds", package="cyclonedds")
        self._core = require("cyclonedds.core", "dds", package="cyclonedds")
        try:
            self.domain = dom.Domain(domain_id, config_xml(interface))
            self.dp = dom.DomainParticipant(domain_id)
        except Exception as exc:  # CycloneDDS refuses the configuration (an interface it cannot use)
            raise BadInput(f"CycloneDDS cannot start on --interface {interface}, domain {domain_id}: {exc}") from None
        self.domain_id, self.interface = domain_id, interface
        self._topics: dict = {}
        self._inboxes: list = []

    def topic(self, name: str, cls):
        if name not in self._topics:
            self._topics[name] = self._topic_mod.Topic(self.dp, name, cls)
        return self._topics[name]

    def writer(self, name: str, cls):
        return self._pub.DataWriter(self.dp, self.topic(name, cls))

    def reader(self, name: str, cls, inbox: Inbox, depth: int = 64):
        """A reader whose samples go to `inbox`; it keeps the last `depth` (a burst between two takes is not
        lost: every command is seen and counted)."""
        qos = self._core.Qos(self._core.Policy.History.KeepLast(depth))
        reader = self._sub.DataReader(self.dp, self.topic(name, cls), qos=qos)
        core = self._core
        ws = core.WaitSet(self.dp)
        ws.attach(core.ReadCondition(reader, core.SampleState.Any | core.ViewState.Any | core.InstanceState.Any))
        inbox.start(ws, reader, cls)
        self._inboxes.append(inbox)
        return reader

    def publications(self, topic: str) -> list[dict]:
        """Other participants' writers on `topic` seen so far: {participant, type_name}."""
        builtin = require("cyclonedds.builtin", "dds", package="cyclonedds")
        if not hasattr(self, "_pubs"):
            self._pubs = builtin.BuiltinDataReader(self.dp, builtin.BuiltinTopicDcpsPublication)
            self._seen: dict = {}
        for s in self._pubs.take(N=256):
            if getattr(s, "topic_name", None) is not None:
                self._seen[s.key] = s
        mine = str(self.dp.guid)
        return [
            {"participant": str(s.participant_key), "type_name": s.type_name}
            for s in self._seen.values()
            if s.topic_name == topic and str(s.participant_key) != mine
        ]

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.stop()
        # entities close with the participant; the Domain object keeps the configuration until it is dropped
        self.dp = None
        self.domain = None
        self._topics.clear()


class Inbox:
    """Samples taken by a reading thread as they come, each with the time it was taken (perf_counter_ns)."""

    WAKE_NS = 100_000_000  # the reading thread looks at its stop flag this often

    def __init__(self, maxlen: int = 4096, serialized: bool = False):
        # items/handler get each sample's bytes, little-endian CDR (re-encoded if it came otherwise; None: cannot
        # be read), not the message object
        self.serialized = serialized
        self.items: collections.deque = collections.deque(maxlen=maxlen)
        self.event = threading.Event()
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.handler = None  # handler(t, sample), on the reading thread, instead of queueing

    def start(self, waitset, reader, cls=None) -> None:
        target = self._read_serialized if self.serialized else self._read
        args = (waitset, reader, cls) if self.serialized else (waitset, reader)
        self._thread = threading.Thread(target=target, args=args, name="edgeperf-dds", daemon=True)
        self._thread.start()

    def _read(self, waitset, reader) -> None:
        while not self._stop.is_set():
            try:
                if waitset.wait(self.WAKE_NS) <= 0:
                    continue
            except Exception:  # the participant is gone (the process is ending)
                return
            t = _now()
            try:
                samples = reader.take(N=64)
            except Exception:  # a sample cyclonedds cannot decode: counted, the loop goes on
                self.errors += 1
                continue
            self._deliver(t, [s for s in samples if type(s).__name__ != "InvalidSample"])  # no data: writer gone

    def _read_serialized(self, waitset, reader, cls) -> None:
        from cyclonedds._clayer import ddspy_take
        from cyclonedds.core import InstanceState, SampleState, ViewState

        from edgeperf.bus.unitree import LAYOUTS

        layout = LAYOUTS[cls]
        mask = SampleState.Any | ViewState.Any | InstanceState.Any
        ref = reader._ref
        while not self._stop.is_set():
            try:
                if waitset.wait(self.WAKE_NS) <= 0:
                    continue
            except Exception:  # the participant is gone (the process is ending)
                return
            t = _now()
            got = ddspy_take(ref, mask, 64)
            if isinstance(got, int):  # a DDS error code
                self.errors += 1
                continue
            self._deliver(t, [_little_endian(layout, data) for data, info in got if info.valid_data])

    def _deliver(self, t: int, samples: list) -> None:
        if not samples:
            return
        handler = self.handler
        for s in samples:
            if handler is not None:
                try:
                    handler(t, s)
                except Exception:  # a bug in the handler must not end the reading: later commands count
                    self.errors += 1
            else:
                self.items.append((t, s))
        self.event.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)

    def drain(self) -> list:
        out = []
        while self.items:
            out.append(self.items.popleft())
        self.event.clear()
        if self.items:  # came in between
            self.event.set()
        return out

    def wait(self, timeout_s: float) -> bool:
        return self.event.wait(timeout_s)


def _little_endian(layout, data: bytes) -> bytes | None:
    """A serialized sample as little-endian CDR: as it came, or (big-endian, unusual) decoded by cyclonedds and
    encoded again; None when neither reads it."""
    if layout.is_le_cdr(data):
        return data
    try:
        return layout.encode(layout.values(layout.cls.__idl__.deserialize(data)))
    except Exception:
        return None
