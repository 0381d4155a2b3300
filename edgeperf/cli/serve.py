"""`edgeperf serve`: answer a policy over the wire protocol, on the robot's computer (hardware in the loop)."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    model: Annotated[str, typer.Argument(help="The deployed artifact: policy.onnx, policy.xml, policy.engine, a .pt.")],
    bind: Annotated[
        str, typer.Option("--bind", metavar="HOST:PORT", help="Where to listen (port 0: a free one, printed).")
    ] = "127.0.0.1:7007",
    backend: Annotated[str, typer.Option("--backend", help="auto, onnxruntime, openvino, tensorrt or torch.")] = "auto",
    accelerator: Annotated[
        str, typer.Option("--accelerator", help="Where the backend runs: auto, cpu, cuda (onnxruntime: tensorrt).")
    ] = "auto",
    token_file: Annotated[
        str | None,
        typer.Option("--token-file", metavar="F", help="Shared token (mode 600); required beyond loopback."),
    ] = None,
    max_frame: Annotated[
        int, typer.Option("--max-frame", metavar="BYTES", help="Frames larger than this are refused.")
    ] = 16 << 20,
    threads: Annotated[
        int, typer.Option("--threads", help="Intra-op threads of the backend (as profile's default: 1).")
    ] = 1,
    protocol: Annotated[
        str, typer.Option("--protocol", help="edgeperf (ZeroMQ, for edgeperf hil) or openpi (websocket).")
    ] = "edgeperf",
) -> None:
    """Serve a policy to edgeperf hil or your own client.

    On loopback unless given a token (`--token-file`).

    --protocol edgeperf (the default): ZeroMQ; every frame is versioned binary (never pickle), size-capped and,
    with --token-file, authenticated with HMAC-SHA256; malformed, unauthenticated and replayed frames are dropped
    and counted. --protocol openpi: openpi's websocket protocol (msgpack-numpy, metadata on connect), for
    openpi-client's WebsocketClientPolicy; the token is its api key. SIGINT or SIGTERM stops the server cleanly:
    it prints what it served and exits 0.
    """
    import signal
    import sys

    from edgeperf.errors import BadInput
    from edgeperf.runtime import wire

    # Everything that can be wrong with the arguments is said before the model is opened.
    if protocol not in ("edgeperf", "openpi"):
        raise BadInput(f"--protocol {protocol!r}: choose edgeperf or openpi")
    wire.parse_address(bind)
    token = wire.read_token_file(token_file) if token_file else None
    if protocol == "openpi":
        from edgeperf.runtime.openpi import OpenpiServer as Server
    else:
        from edgeperf.runtime.server import Server
    if not 1 <= threads <= 256:
        raise BadInput(f"--threads {threads}: give 1 to 256")
    server = Server(
        model, bind=bind, backend=backend, device=accelerator, token=token, max_frame=max_frame, threads=threads
    )
    stopped_by: list[str] = []

    def _stop(signum, _frame):
        stopped_by.append(signal.Signals(signum).name)
        server.stop()

    old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        print("edgeperf: " + "\n".join(server.banner()), flush=True)
        server.serve_forever()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        server.close()
    st = server.stats
    dropped = ", ".join(f"{v} {k}" for k, v in st.dropped.items())
    sys.stderr.write(
        f"edgeperf: stopped by {stopped_by[0] if stopped_by else 'request'} after {st.requests} inferences "
        f"in {st.sessions} sessions; dropped: {dropped}; {st.errors} refused\n"
    )
