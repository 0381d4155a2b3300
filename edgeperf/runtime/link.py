"""A user-space TCP proxy that makes a loopback connection behave like a WiFi link (the kernel here has no
netem): `edgeperf link --listen A --forward B --delay MS --jitter MS --loss PCT`.

Every chunk of bytes read in either direction is released `delay + U(-jitter, +jitter)` ms after it arrived
(never below 0), but never before the chunk ahead of it: a TCP stream keeps its order, so a chunk that drew a
short delay waits behind a slow one (release times are monotone per direction), as on a real link.

Loss: TCP cannot lose bytes; what a lost packet does to a TCP (and so ZeroMQ) stream is delay it until the
retransmission, and hold everything behind it (head-of-line blocking). WiFi's own link-layer retries hide most
radio loss as a few ms; a loss that reaches TCP costs a retransmission timeout, at least 200 ms on Linux. So
`--loss P` gives each chunk, with probability P %, an extra `--rto` ms (default 200) before its release, and
the chunks behind it wait. The connection itself is never dropped.

Memory: what the link holds is capped per connection and direction (MAX_BUFFERED bytes, MAX_IN_FLIGHT chunks),
and the connections at once (MAX_CONNECTIONS). A reader slower than its sender makes the link stop reading the
sender's side, so TCP's own flow control slows the sender (backpressure), as a real link's full buffer would:
the proxy never buffers without bound, whatever the peers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from dataclasses import dataclass, field

from edgeperf.errors import BadInput
from edgeperf.runtime import wire

CHUNK = 65536  # the most one read takes; also the asyncio stream buffers' limit (they pause reading at 2 x this)
# Bytes held per connection and direction (read, not yet handed to the kernel): past this the link reads no more
# from that side until the other side takes some. 1 MiB is 200 ms of 40 Mbit/s, a WiFi link's delay x rate; a
# larger delay x rate is throttled to MAX_BUFFERED / delay, as a link with that buffer would be.
MAX_BUFFERED = 1 << 20
# Chunks held per direction, whatever their size: bounds the per-chunk overhead of a peer sending bytes one by one.
MAX_IN_FLIGHT = 256
# Connections served at once; one more is closed as soon as it is accepted (counted in stats.refused). With the
# caps above the link holds at most about MAX_CONNECTIONS x 2 x (MAX_BUFFERED + 4 x CHUNK), ~80 MiB.
MAX_CONNECTIONS = 32


@dataclass
class LinkStats:
    connections: int = 0
    chunks: dict = field(default_factory=lambda: {"up": 0, "down": 0})
    bytes: dict = field(default_factory=lambda: {"up": 0, "down": 0})
    losses: int = 0  # chunks given a retransmission delay
    refused: int = 0  # connections closed at once: MAX_CONNECTIONS were open
    peak_held: int = 0  # the most bytes one direction of one connection held (at most MAX_BUFFERED)

    def to_dict(self) -> dict:
        return {
            "connections": self.connections,
            "chunks": dict(self.chunks),
            "bytes": dict(self.bytes),
            "losses": self.losses,
            "refused": self.refused,
            "peak_held": self.peak_held,
        }


class Link:
    """listen -> forward with delay, jitter and loss (see the module). start() runs it in a thread (tests, the
    HIL demo), run() in the caller's (the CLI); stop() from anywhere."""

    def __init__(  # noqa: PLR0913 - the faults and bounds `edgeperf link` exposes, one per option
        self,
        listen: str,
        forward: str,
        delay_ms: float = 0.0,
        jitter_ms: float = 0.0,
        loss_pct: float = 0.0,
        seed: int = 0,
        rto_ms: float = 200.0,
        allow_remote: bool = False,
        max_connections: int = MAX_CONNECTIONS,
        max_buffered: int = MAX_BUFFERED,
    ):
        self.listen = wire.parse_address(listen, "--listen")
        if not wire.is_loopback(self.listen[0]) and not allow_remote:
            # The server behind a link may have no token (it is on loopback): a link beyond loopback would hand
            # the robot's policy to the network.
            raise BadInput(
                f"--listen {listen}: a link listens on loopback unless --allow-remote says otherwise (the server "
                "behind it may have no token: bind the server itself with --token-file instead)"
            )
        self.forward = wire.parse_address(forward, "--forward", listen=False)
        (lh, lp), (fh, fp) = self.listen, self.forward
        same_host = fh == lh or (wire.is_loopback(fh) and wire.is_loopback(lh)) or lh in ("0.0.0.0", "::")
        if fp == lp and lp != 0 and same_host:
            raise BadInput(f"--forward {forward} is the link's own --listen {listen}: it would forward to itself")
        for name, v in (("--delay", delay_ms), ("--jitter", jitter_ms), ("--rto", rto_ms)):
            if not 0 <= v <= 60_000:
                raise BadInput(f"{name} {v:g}: give milliseconds between 0 and 60000")
        if not 0 <= loss_pct <= 100:
            raise BadInput(f"--loss {loss_pct:g}: give a percentage between 0 and 100")
        self.delay, self.jitter, self.loss, self.rto = delay_ms / 1e3, jitter_ms / 1e3, loss_pct / 100, rto_ms / 1e3
        if max_connections < 1 or max_buffered < 1:
            raise BadInput("a link needs room for one connection and one byte")
        self.max_connections, self.max_buffered = max_connections, max_buffered
        self._open = 0  # connections being served
        self.rng = random.Random(seed)
        self.stats = LinkStats()
        self.address: str | None = None  # HOST:PORT actually listened on
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def describe(self) -> str:
        loss = f", loss {self.loss * 100:g}% (as +{self.rto * 1e3:g} ms retransmissions)" if self.loss else ""
        return (
            f"link {self.address} -> {self.forward[0]}:{self.forward[1]}: delay {self.delay * 1e3:g} ms "
            f"+- {self.jitter * 1e3:g} ms{loss}"
        )

    def _draw(self) -> float:
        d = self.delay + (self.rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0)
        if self.loss and self.rng.random() < self.loss:
            self.stats.losses += 1
            d += self.rto
        return max(0.0, d)

    async def _pump(self, reader, writer, direction: str) -> None:
        queue: asyncio.Queue = asyncio.Queue()  # bounded below: at most MAX_IN_FLIGHT chunks, max_buffered bytes
        held = 0  # bytes read from this side and not yet taken by the kernel on the other
        room = asyncio.Event()  # set by the releaser each time it hands a chunk on

        async def release():
            nonlocal held
            try:
                while True:
                    due, data = await queue.get()
                    if data is None:
                        break
                    wait = due - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(data)
                    await writer.drain()  # a slow reader holds us here, and so the reading side below
                    held -= len(data)
                    room.set()
            finally:
                room.set()  # a releaser that failed must not leave the reader waiting for room

        sender = asyncio.ensure_future(release())
        last = 0.0
        try:
            while True:
                # Full: read nothing more from this side; its kernel buffer fills and TCP stops the sender.
                while (held >= self.max_buffered or queue.qsize() >= MAX_IN_FLIGHT) and not sender.done():
                    room.clear()
                    await room.wait()
                if sender.done():  # the other side is gone: nothing more can be delivered
                    break
                data = await reader.read(min(CHUNK, self.max_buffered - held))
                if not data:
                    queue.put_nowait((last, None))
                    await sender
                    break
                held += len(data)
                self.stats.peak_held = max(self.stats.peak_held, held)
                last = max(last, time.monotonic() + self._draw())  # monotone: order kept
                self.stats.chunks[direction] += 1
                self.stats.bytes[direction] += len(data)
                queue.put_nowait((last, data))
        except (ConnectionError, OSError):
            pass
        finally:
            sender.cancel()
            if sender.done() and not sender.cancelled():
                sender.exception()  # retrieved here: a peer that went away is not an error for asyncio to log
            writer.close()

    async def _client(self, reader, writer) -> None:
        if self._open >= self.max_connections:
            # Each connection may hold its buffers: past the cap a new one is refused, not served with more memory.
            self.stats.refused += 1
            writer.close()
            return
        self._open += 1
        self.stats.connections += 1
        try:
            try:
                up_r, up_w = await asyncio.open_connection(*self.forward, limit=CHUNK)
            except OSError:
                writer.close()
                return
            # The link stopping cancels this; asyncio would otherwise log the cancelled connection as an error.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(self._pump(reader, up_w, "up"), self._pump(up_r, writer, "down"))
        finally:
            self._open -= 1

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        host, port = self.listen
        try:
            server = await asyncio.start_server(self._client, host, port, limit=CHUNK)
        except OSError as exc:
            raise BadInput(f"--listen {host}:{port}: cannot listen there ({exc.strerror or exc})") from None
        sockname = server.sockets[0].getsockname()
        self.address = f"{sockname[0]}:{sockname[1]}"
        self._ready.set()
        async with server:
            await self._stopped.wait()
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def run(self, duration_s: float | None = None) -> None:
        """Serve in this thread until stop() (or duration_s)."""

        async def main():
            if duration_s:
                asyncio.get_running_loop().call_later(duration_s, self.stop)
            await self._main()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise

    def start(self, duration_s: float | None = None) -> Link:
        """Serve in a background thread (until stop() or duration_s); returns once listening (address set)."""
        self._thread = threading.Thread(target=self._quiet_run, args=(duration_s,), daemon=True, name="edgeperf-link")
        self._thread.start()
        self._ready.wait(10)
        if self._error:
            raise self._error
        return self

    def _quiet_run(self, duration_s: float | None) -> None:
        # The error is kept in self._error for start().
        with contextlib.suppress(BaseException):
            self.run(duration_s)

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing left to stop
                self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)

    def __enter__(self) -> Link:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
