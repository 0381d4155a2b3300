"""`edgeperf profile --host`: for real, against an OpenSSH server started on 127.0.0.1 for this test run with
a throwaway key (Debian's openssh-server; installed here when missing and running as root)."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

import edgeperf
from edgeperf.devices import remote
from edgeperf.errors import BadInput, DependencyMissing, HardwareMissing
from tests.conftest import SYSFS
from tests.system_packages import ensure

# The edgeperf under test on the "device" too (the console script would run whatever is installed).
EDGEPERF = f"PYTHONPATH={Path(edgeperf.__file__).parents[1]} {sys.executable} -m edgeperf"
ORIN = SYSFS / "jetson-orin-nano-jp6"
FAST = ["-n", "50", "--duration", "0", "--warmup", "5"]


def _sshd_binary() -> tuple[str | None, str]:
    why = ensure({"sshd": "/usr/sbin/sshd"}, ["openssh-server"])
    return (None, why) if why else (shutil.which("sshd") or "/usr/sbin/sshd", "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """A private sshd on 127.0.0.1 and the ssh options that reach it (key auth, no known_hosts)."""
    binary, why = _sshd_binary()
    if binary is None:
        pytest.skip(why)
    if not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        pytest.skip("the OpenSSH client (ssh, ssh-keygen) is not installed")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\nAuthorizedKeysFile {d / 'authorized_keys'}\n"
        f"PidFile {d / 'sshd.pid'}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        "LogLevel ERROR\n"
    )
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation directory
    proc = subprocess.Popen(
        [binary, "-D", "-e", "-f", str(d / "sshd_config")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"sshd did not start: {proc.stderr.read().decode(errors='replace').strip()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.terminate()
        pytest.skip("sshd did not listen within 10 s")
    options = [
        f"Port={port}",
        f"IdentityFile={d / 'client'}",
        "IdentitiesOnly=yes",
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "LogLevel=ERROR",
    ]
    yield {"host": f"{getpass.getuser()}@127.0.0.1", "options": options, "port": port}
    proc.terminate()
    proc.wait(timeout=10)


def _ssh_args(sshd) -> list[str]:
    out = []
    for o in sshd["options"]:
        out += ["--ssh-option", o]
    return out


def _temp_dirs() -> set[str]:
    return {p.name for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("edgeperf.*")} | {
        p.name for p in Path("/tmp").glob("edgeperf.*")
    }


def test_profile_over_ssh_end_to_end(cli, sshd, example_onnx, tmp_path):
    """Copy the model, run edgeperf there (the Jetson fixture as its machine), bring the report back."""
    before = _temp_dirs()
    out = tmp_path / "remote.json"
    remote_cmd = f"EDGEPERF_SYSFS_ROOT={ORIN} {EDGEPERF}"
    r = cli(
        "profile", example_onnx, "--device", "jetson", "--host", sshd["host"], "--remote-edgeperf", remote_cmd,
        *_ssh_args(sshd), *FAST, "--idle", "0.2", "--csv", tmp_path / "t.csv", "--json", out,
    )  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    assert doc["schema"] == "edgeperf.profile/1"
    assert doc["host"]["device"] == "jetson-orin-nano"  # measured there, not here
    assert doc["config"]["remote"]["host"] == sshd["host"]
    assert doc["model"]["path"] == str(example_onnx) and doc["model"]["sha256"]
    assert doc["results"]["latency_us"]["count"] >= 50
    power = doc["results"]["power"]
    assert power["source"] == "ina3221" and power["total_rails"] == ["VDD_IN"]
    assert power["total"]["active_W"] == pytest.approx(5.064 * 1.080)
    assert (tmp_path / "t.csv").read_text().startswith("index,")
    assert "VDD_IN" in r.out and "ina3221" in r.out  # rendered here
    assert _temp_dirs() == before  # the remote temp directory is gone


def test_remote_json_to_stdout(cli, sshd, example_onnx):
    r = cli(
        "profile", example_onnx, "--host", sshd["host"], "--remote-edgeperf", str(EDGEPERF), *_ssh_args(sshd),
        *FAST, "--no-power", "--json", "-",
    )  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["results"]["latency_us"]["p50"] > 0 and "power" not in doc["results"]


def test_a_model_named_like_an_option_is_profiled_there(cli, sshd, example_onnx, tmp_path):
    """A model called -x.onnx travels and is named ./-x.onnx on the robot: edgeperf there read it as an option."""
    import shutil

    dashed = tmp_path / "-x.onnx"
    shutil.copy(example_onnx, dashed)
    r = cli(
        "profile", dashed, "--host", sshd["host"], "--remote-edgeperf", str(EDGEPERF), *_ssh_args(sshd),
        *FAST, "--no-power", "--json", "-",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert json.loads(r.out)["results"]["latency_us"]["p50"] > 0


def test_remote_edgeperf_missing_is_exit_3(cli, sshd, example_onnx):
    r = cli(
        "profile", example_onnx, "--host", sshd["host"], "--remote-edgeperf", "/nonexistent/edgeperf",
        *_ssh_args(sshd), *FAST,
    )  # fmt: skip
    assert r.code == 3
    assert "edgeperf is not installed on" in r.err and "--remote-edgeperf" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_remote_bad_input_keeps_exit_2(cli, sshd, example_onnx):
    r = cli(
        "profile", example_onnx, "--host", sshd["host"], "--remote-edgeperf", str(EDGEPERF), *_ssh_args(sshd),
        *FAST, "--shape", "7",
    )  # fmt: skip
    assert r.code == 2, r.err
    assert f"on {sshd['host']}:" in r.err and "does not fit input" in r.err


def test_wrong_key_is_refused_login(sshd, example_onnx, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    opts = [o for o in sshd["options"] if not o.startswith("IdentityFile")] + [f"IdentityFile={tmp_path / 'other'}"]
    with pytest.raises(HardwareMissing, match=r"refused the login .*BatchMode"):
        remote.run_profile(sshd["host"], example_onnx, FAST, edgeperf=str(EDGEPERF), options=opts)


def test_refused_connection_is_one_line_exit_3(cli, example_onnx):
    port = _free_port()  # nothing listens there
    r = cli("profile", example_onnx, "--host", "nobody@127.0.0.1", "--ssh-option", f"Port={port}", *FAST)
    assert r.code == 3
    assert "refused the SSH connection" in r.err and len(r.err.strip().splitlines()) == 1


def test_hanging_host_times_out(cli, example_onnx):
    """A server that accepts and never speaks: bounded by --connect-timeout (connection and handshake)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        t0 = time.monotonic()
        r = cli(
            "profile", example_onnx, "--host", "nobody@127.0.0.1", "--ssh-option", f"Port={port}",
            "--connect-timeout", "1", *FAST,
        )  # fmt: skip
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        server.close()
    assert r.code == 3
    assert "did not answer within the 1 s connect timeout" in r.err
    assert elapsed < 20


@pytest.mark.parametrize("host", ["-oProxyCommand=sh", "user@ho st", ""])
def test_bad_host_is_exit_2(host, example_onnx):
    with pytest.raises(BadInput, match="not an SSH destination"):
        remote.run_profile(host, example_onnx, [])


def test_unresolvable_host_is_bad_input():
    err = remote.ssh_error(
        "robot.invalid", "ssh: Could not resolve hostname robot.invalid: Name or service not known", 5
    )
    assert isinstance(err, BadInput) and "does not resolve" in str(err)


def test_ssh_option_must_be_key_value(example_onnx):
    with pytest.raises(BadInput, match="expected KEY=VALUE"):
        remote.run_profile("robot", example_onnx, [], options=["-v"])


def test_missing_ssh_client(monkeypatch, example_onnx):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DependencyMissing, match="openssh-client"):
        remote.run_profile("robot", example_onnx, [])


def test_sidecars_travel_with_the_model(tmp_path):
    xml = tmp_path / "policy.xml"
    for name in ("policy.xml", "policy.bin", "policy.xml.edgeperf.json", "other.bin"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in remote.model_files(xml)] == ["policy.xml", "policy.xml.edgeperf.json", "policy.bin"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_interrupting_the_local_side_stops_the_remote_profile(sshd, example_onnx, sig):
    """However the local edgeperf ends, the profile on the device stops and its temp folder goes."""
    before = _temp_dirs()
    local = subprocess.Popen(
        [
            sys.executable, "-m", "edgeperf", "profile", str(example_onnx), "--host", sshd["host"],
            "--remote-edgeperf", EDGEPERF, *_ssh_args(sshd), "--duration", "300", "-n", "100000000", "--no-power",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(edgeperf.__file__).parents[1])},
    )  # fmt: skip

    def remote_profile():
        return [
            p for p in psutil.process_iter(["cmdline"]) if "../out/report.json" in " ".join(p.info["cmdline"] or [])
        ]

    deadline = time.monotonic() + 90
    while not (found := remote_profile()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert found, "the remote profile did not start"
    time.sleep(1)  # well inside its run
    os.kill(local.pid, sig)
    try:
        _, err = local.communicate(timeout=60)
    finally:
        local.kill()
    if sig != signal.SIGKILL:
        assert local.returncode == (130 if sig == signal.SIGINT else 143), err
        assert err.strip().splitlines()[-1] == "edgeperf: interrupted"
    _, alive = psutil.wait_procs(found, timeout=20)
    for p in alive:
        p.kill()
    assert not alive, "the remote profile outlived the local edgeperf"
    deadline = time.monotonic() + 20
    while _temp_dirs() != before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _temp_dirs() == before  # the remote temp folder is removed
