"""`edgeperf link`: a WiFi-like link between a HIL host and `edgeperf serve`, for tests and benches without a lab
network."""

from __future__ import annotations

from typing import Annotated

import typer


def link(
    listen: Annotated[str, typer.Option("--listen", metavar="HOST:PORT", help="Where clients connect.")],
    forward: Annotated[str, typer.Option("--forward", metavar="HOST:PORT", help="The server it forwards to.")],
    delay: Annotated[float, typer.Option("--delay", metavar="MS", help="One-way delay of every chunk.")] = 0.0,
    jitter: Annotated[float, typer.Option("--jitter", metavar="MS", help="Uniform +- around the delay.")] = 0.0,
    loss: Annotated[
        float, typer.Option("--loss", metavar="PCT", help="Chunks delayed by a TCP retransmission (--rto).")
    ] = 0.0,
    rto: Annotated[float, typer.Option("--rto", metavar="MS", help="What one loss costs.")] = 200.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the delays and losses.")] = 0,
    duration: Annotated[
        float | None, typer.Option("--duration", metavar="S", help="Stop after S seconds (default: a signal).")
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Listen beyond loopback (the server behind it may have no token).")
    ] = False,
) -> None:
    """A WiFi-like TCP link: delay, jitter and loss.

    Forward TCP from --listen to --forward with delay, jitter and loss in both directions, order kept.

    A loss cannot drop bytes from TCP: it delays them by a retransmission timeout, and holds what follows
    (see edgeperf.runtime.link). Listens on loopback unless told otherwise. SIGINT or SIGTERM stops it (exit 0).
    Its memory is bounded: at most 1 MiB held per connection and direction (a slow reader slows its sender, as
    a full link buffer does) and 32 connections at once (one more is closed at once, and counted).
    """
    import signal
    import sys

    from edgeperf.errors import BadInput
    from edgeperf.runtime.link import Link

    if duration is not None and not 0 < duration <= 7 * 86400:
        raise BadInput(f"--duration {duration:g}: give seconds above 0 and at most a week")
    proxy = Link(listen, forward, delay, jitter, loss, seed, rto, allow_remote=allow_remote)
    old = {s: signal.signal(s, lambda *_: proxy.stop()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        proxy.start(duration)
        print("edgeperf: " + proxy.describe(), flush=True)
        while proxy._thread.is_alive():
            proxy._thread.join(0.2)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        proxy.stop()
    st = proxy.stats
    sys.stderr.write(
        f"edgeperf: link stopped after {st.connections} connections, {st.bytes['up']} B up, "
        f"{st.bytes['down']} B down, {st.losses} losses emulated"
        + (f", {st.refused} connections refused (over {proxy.max_connections} at once)" if st.refused else "")
        + "\n"
    )
