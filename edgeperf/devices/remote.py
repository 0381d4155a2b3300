"""Profile on a remote device over the system's OpenSSH: `edgeperf profile MODEL --host user@robot`.

One ssh connection (so the user's ~/.ssh/config, agent, ProxyJump and ControlMaster all apply) carries a tar
of the model (and its sidecars) on stdin to a fresh temp directory on the device, runs edgeperf there, and
sends back a tar of what it wrote (the JSON report, and the CSV/plot when asked). The temp directory is
removed on exit, on error and on hang-up. BatchMode (never a password prompt), a bounded ConnectTimeout
(connection and handshake) and server-alive probes (a link that dies mid-run) keep it from hanging.

The remote profile never outlives the local edgeperf: after the tar, ssh's stdin stays open for as long as the
local side waits, and the remote script stops its edgeperf (SIGTERM) and removes its folder when that stdin
reaches EOF, which happens however the local side ends (Ctrl-C, SIGTERM, SIGKILL, a lost link). A session
without a tty gets no SIGHUP from sshd, so this EOF is the signal.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf.artifact import existing_files
from edgeperf.errors import BadInput, DependencyMissing, EdgeperfError, HardwareMissing, VerdictFailed
from edgeperf.processes import die_with_parent

DEFAULT_CONNECT_TIMEOUT_S = 10
REPORT = "report.json"
# What a remote run may send back, and nothing else (the tar is never extracted to disk as-is).
OUTPUTS = (REPORT, "timings.csv", "latency.png")


@dataclass
class RemoteRun:
    host: str
    files: dict[str, bytes] = field(default_factory=dict)
    stderr: str = ""


def check_host(host: str) -> str:
    host = (host or "").strip()
    if not host or host.startswith("-") or re.search(r"\s", host):
        raise BadInput(
            f"--host {host!r} is not an SSH destination; give user@host, host, or a Host alias from ~/.ssh/config"
        )
    return host


def ssh_command(host: str, *, options=(), connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S) -> list[str]:
    ssh = shutil.which("ssh")
    if ssh is None:
        raise DependencyMissing(
            "ssh",
            message="ssh (OpenSSH client) is not installed here, needed for --host; install it "
            "(Debian/Ubuntu: apt-get install openssh-client)",
        )
    cmd = [ssh, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, round(connect_timeout))}"]
    cmd += ["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
    for opt in options:
        if "=" not in opt or opt.startswith("-"):
            raise BadInput(f"--ssh-option {opt!r}: expected KEY=VALUE, e.g. Port=2222 (passed to ssh as -o)")
        cmd += ["-o", opt]
    return [*cmd, "--", host]


def model_files(model: Path) -> list[Path]:
    """The model and what must travel with it: metadata sidecar, OpenVINO weights, ONNX external data."""
    if not model.is_file():
        raise BadInput(f"model file {model} does not exist")
    return existing_files(model)


def _tar(files: list[Path]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for f in files:
            tar.add(f, arcname=f.name, recursive=False)
    return buf.getvalue()


def remote_script(edgeperf: str, model_name: str, args: list[str], outputs: dict[str, str]) -> str:
    """The POSIX sh script run on the device. `edgeperf` is a command line (it may carry env assignments)."""
    out_args = " ".join(f"{flag} ../out/{name}" for flag, name in outputs.items())
    # ./NAME: the model lies in the folder; a name starting with "-" would otherwise be read as an option there
    argv = " ".join(shlex.quote(a) for a in ["profile", f"./{model_name}", *args])
    return (
        'd=$(mktemp -d "${TMPDIR:-/tmp}/edgeperf.XXXXXX") || exit 70\n'
        "trap 'rm -rf \"$d\"' EXIT\n"
        "pid=\n"
        # Hung up on: stop edgeperf and wait for it first, or rm -rf races the files it is still writing there.
        """trap 'if [ -n "$pid" ]; then kill -TERM $pid 2>/dev/null; wait $pid; fi; exit 129' HUP INT TERM\n"""
        # tar stops at the archive's end marker: stdin stays open, and its EOF says the local side is gone.
        'cd "$d" && mkdir in out && tar -xf - -C in || exit 71\n'
        "cd in\n"
        "exec 3<&0\n"
        f"{edgeperf} {argv} --json ../out/{REPORT} {out_args} >/dev/null </dev/null 3<&- &\n"
        "pid=$!\n"
        # Through fd 3: a background job's own stdin is /dev/null before any redirection.
        '(cat >/dev/null; touch "$d/gone"; kill -TERM $pid) <&3 >/dev/null 2>&1 &\n'
        "watcher=$!\n"
        "wait $pid\n"
        "rc=$?\n"
        "kill $watcher 2>/dev/null\n"  # its kill must not reach a pid reused after edgeperf ended
        '[ -e "$d/gone" ] && exit 129\n'  # nobody to send the results to
        "tar -cf - -C ../out .\n"
        "exit $rc\n"
    )


def serve_script(edgeperf: str, model_name: str) -> str:
    """The POSIX sh script that serves the model on the device on loopback (a free port) until ssh's stdin ends:
    the serve's banner (where it listens) goes back on stdout; EOF stops the server and removes the folder."""
    argv = " ".join(shlex.quote(a) for a in ["serve", f"./{model_name}", "--bind", "127.0.0.1:0"])
    return (
        'd=$(mktemp -d "${TMPDIR:-/tmp}/edgeperf.XXXXXX") || exit 70\n'
        "trap 'rm -rf \"$d\"' EXIT\n"
        "pid=\n"
        # Hung up on: stop edgeperf and wait for it first, or rm -rf races the files it is still writing there.
        """trap 'if [ -n "$pid" ]; then kill -TERM $pid 2>/dev/null; wait $pid; fi; exit 129' HUP INT TERM\n"""
        'cd "$d" && mkdir in && tar -xf - -C in || exit 71\n'
        "cd in\n"
        "exec 3<&0\n"
        f"{edgeperf} {argv} </dev/null 3<&- &\n"
        "pid=$!\n"
        "(cat >/dev/null; kill -TERM $pid) <&3 >/dev/null 2>&1 &\n"
        "watcher=$!\n"
        "wait $pid\n"
        "rc=$?\n"
        "kill $watcher 2>/dev/null\n"
        "exit $rc\n"
    )


class RemoteServer:
    """`edgeperf serve` on `host` over ssh, for `edgeperf hil --host`: the model travels on ssh's stdin, the server
    binds the device's loopback, and a second ssh forwards a local port to it (so no port is opened on the robot's
    network and no token is needed). stop() (or leaving the with-block, however) closes the first ssh's stdin,
    which stops the server and removes its folder there, and ends the tunnel."""

    def __init__(self, host: str, model: Path, *, edgeperf: str = "edgeperf", options=(), connect_timeout: float = 10):
        import select
        import socket
        import time

        host = check_host(host)
        cmd = ssh_command(host, options=options, connect_timeout=connect_timeout)
        self.host, self.tunnel = host, None
        self.proc = subprocess.Popen(
            [*cmd, f"sh -c {shlex.quote(serve_script(edgeperf, Path(model).name))}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent(),
        )
        try:
            with contextlib.suppress(OSError):  # ssh gone already: its exit code and stderr say why, below
                self.proc.stdin.write(_tar(model_files(Path(model))))
                self.proc.stdin.flush()
            deadline = time.monotonic() + connect_timeout + 60  # ssh, then opening the model there
            banner = b""
            while b"\n" not in banner and time.monotonic() < deadline and self.proc.poll() is None:
                if select.select([self.proc.stdout], [], [], 0.2)[0]:
                    banner += self.proc.stdout.read1(4096)
            found = re.search(rb" at tcp://127\.0\.0\.1:(\d+),", banner)
            if not found:
                self._fail(connect_timeout, edgeperf)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                local = probe.getsockname()[1]
            forward = ["-N", "-o", "ExitOnForwardFailure=yes", "-L", f"127.0.0.1:{local}:127.0.0.1:{int(found[1])}"]
            self.tunnel = subprocess.Popen(
                [*cmd[:-2], *forward, *cmd[-2:]], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, preexec_fn=die_with_parent(),
            )  # fmt: skip
            while True:
                try:
                    socket.create_connection(("127.0.0.1", local), timeout=0.2).close()
                    break
                except OSError:
                    if self.tunnel.poll() is not None or time.monotonic() > deadline:
                        said = (
                            self.tunnel.stderr.read().decode(errors="replace") if self.tunnel.poll() is not None else ""
                        )
                        raise ssh_error(host, said or "the ssh tunnel did not open", connect_timeout) from None
                    time.sleep(0.05)
            self.address = f"127.0.0.1:{local}"
        except BaseException:
            self.stop()
            raise

    def _fail(self, connect_timeout: float, edgeperf: str):
        self.stop()
        stderr = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        if self.proc.returncode == 255:
            raise ssh_error(self.host, stderr, connect_timeout)
        raise remote_error(self.host, self.proc.returncode or 3, stderr, edgeperf)

    def stop(self) -> None:
        for p in (self.tunnel, self.proc):
            if p is None or p.poll() is not None:
                continue
            if p is self.proc:
                with contextlib.suppress(OSError):
                    p.stdin.close()  # EOF: the remote side stops its server and removes its folder
            else:
                p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def __enter__(self) -> RemoteServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_profile(
    host: str,
    model: Path,
    args: list[str],
    *,
    edgeperf: str = "edgeperf",
    options=(),
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    outputs: dict[str, str] | None = None,
    timeout_s: float | None = None,
) -> RemoteRun:
    """Copy `model` to `host`, run `edgeperf profile` there with `args`, and return what it wrote.

    `outputs` maps extra profile flags to the file the remote run writes (e.g. {"--csv": "timings.csv"}).
    """
    host = check_host(host)
    model = Path(model)
    cmd = ssh_command(host, options=options, connect_timeout=connect_timeout)
    script = remote_script(edgeperf, model.name, args, outputs or {})
    returncode, stdout, stderr = _ssh(host, [*cmd, f"sh -c {shlex.quote(script)}"], _tar(model_files(model)), timeout_s)
    if returncode == 255:
        raise ssh_error(host, stderr, connect_timeout)
    files = _untar(stdout)
    if returncode != 0:
        raise remote_error(host, returncode, stderr, edgeperf)
    if REPORT not in files:
        raise HardwareMissing(
            f"edgeperf on {host} exited 0 but sent no report back ({_last_line(stderr) or 'no output'})"
        )
    return RemoteRun(host, files, stderr)


def _ssh(host: str, cmd: list[str], payload: bytes, timeout_s: float | None) -> tuple[int, bytes, str]:
    """Run ssh with `payload` on its stdin, kept open until ssh ends (the remote script's liveness signal).

    Any way out of here but ssh's own end (Ctrl-C, SIGTERM raised as an exception, the timeout) ends ssh, so
    the remote side sees EOF and stops its profile."""
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=die_with_parent()
    )
    got: dict[str, bytes] = {}

    def feed() -> None:
        with contextlib.suppress(OSError):  # ssh gone early: its exit code and stderr say why
            proc.stdin.write(payload)
            proc.stdin.flush()

    def drain(name: str, stream) -> None:
        got[name] = stream.read()

    threads = [
        threading.Thread(target=feed, daemon=True),
        threading.Thread(target=drain, args=("out", proc.stdout), daemon=True),
        threading.Thread(target=drain, args=("err", proc.stderr), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise HardwareMissing(f"the remote profile on {host} did not finish within {timeout_s:g} s") from None
    finally:
        if proc.poll() is None:
            proc.terminate()  # the connection drops: the remote script sees EOF on its stdin
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        for t in threads[1:]:
            t.join(timeout=10)
    return proc.returncode, got.get("out", b""), got.get("err", b"").decode(errors="replace")


def _untar(data: bytes) -> dict[str, bytes]:
    if not data:
        return {}
    out = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar.getmembers():
                name = m.name.removeprefix("./")
                if m.isfile() and name in OUTPUTS:
                    f = tar.extractfile(m)
                    if f is not None:
                        out[name] = f.read()
    except tarfile.TarError:
        return {}
    return out


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def ssh_error(host: str, stderr: str, connect_timeout: float) -> EdgeperfError:
    """One line that says why ssh could not run the command on `host` (ssh exits 255 for its own errors)."""
    said = _last_line(stderr)
    low = stderr.lower()
    if "could not resolve hostname" in low or "name or service not known" in low:
        return BadInput(f"--host {host}: the host name does not resolve ({said}); check it or ~/.ssh/config")
    if "connection refused" in low:
        return HardwareMissing(f"{host} refused the SSH connection ({said}); is sshd running there, on that port?")
    if "timed out" in low or "timeout" in low:
        return HardwareMissing(
            f"{host} did not answer within the {connect_timeout:g} s connect timeout ({said}); check the "
            "address and network, or raise --connect-timeout"
        )
    if "permission denied" in low:
        return HardwareMissing(
            f"{host} refused the login ({said}); ssh runs in BatchMode (no password prompts): load your key "
            "into the agent (ssh-add) or set IdentityFile in ~/.ssh/config"
        )
    if "host key verification failed" in low:
        return HardwareMissing(
            f"{host}: host key verification failed; connect once with `ssh {host}` to check and accept its key"
        )
    if "no route to host" in low or "network is unreachable" in low:
        return HardwareMissing(f"{host} is unreachable ({said})")
    return HardwareMissing(f"ssh to {host} failed: {said or 'exit code 255, no message'}")


def remote_error(host: str, code: int, stderr: str, edgeperf: str) -> EdgeperfError:
    said = _last_line(stderr)
    if code == 127 or ("not found" in said and code not in (1, 2, 3)):
        return DependencyMissing(
            "edgeperf",
            message=f"edgeperf is not installed on {host} (`{edgeperf}` not found there: {said}); install it "
            "there (pip install edgeperf) or give its path with --remote-edgeperf",
        )
    if code in (70, 71):
        return HardwareMissing(f"could not set up a temp directory with the model on {host}: {said}")
    message = said.removeprefix("edgeperf: error: ") if said else f"exit code {code}"
    text = f"on {host}: {message}"
    cls = {1: VerdictFailed, 2: BadInput, 3: HardwareMissing}.get(code)
    if cls is not None:
        return cls(text)
    return HardwareMissing(f"edgeperf on {host} failed with exit code {code}: {said or 'no message'}")
