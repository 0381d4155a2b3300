"""Bad inputs about files and processes (issue 10, items 1, 2 and 6): an output that would overwrite an input,
special files as outputs, full and read-only file systems, commands that cannot run, contradicting options,
closed and broken stdout, and signals to edgeperf that must leave no process and no temp file behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import assert_one_line
from tests.processes import alive

EXIT = {"bad": 2, "sigint": 130, "sigterm": 143}

FAST = ["-n", "20", "--duration", "0", "--warmup", "2", "--no-power"]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="device nodes and tmpfs mounts need root")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def work(tmp_path, example_onnx, monkeypatch):
    """A folder with a real model, a script and a profile report, all to be kept intact."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(example_onnx, tmp_path / "m.onnx")
    (tmp_path / "s.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(tmp_path / "s.sh", 0o755)
    (tmp_path / "ref.onnx").write_bytes((tmp_path / "m.onnx").read_bytes())
    (tmp_path / "m.onnx.edgeperf.json").write_text("{}")
    os.link(tmp_path / "m.onnx", tmp_path / "hard.onnx")
    (tmp_path / "link.onnx").symlink_to(tmp_path / "m.onnx")
    return tmp_path


CLASHES = [
    # (args, the file that must survive, what the message names)
    (["profile", "m.onnx", "--json", "m.onnx"], "m.onnx", "--json m.onnx is the same file as the model"),
    (["profile", "m.onnx", "--csv", "m.onnx"], "m.onnx", "--csv m.onnx is the same file as the model"),
    (["profile", "m.onnx", "--plot", "m.onnx"], "m.onnx", "--plot m.onnx is the same file as the model"),
    (["profile", "m.onnx", "--json", "./sub/../m.onnx"], "m.onnx", "same file as the model"),
    (["profile", "m.onnx", "--json", "hard.onnx"], "m.onnx", "same file as the model"),
    (["profile", "m.onnx", "--json", "link.onnx"], "m.onnx", "same file as the model"),
    (["profile", "link.onnx", "--json", "m.onnx"], "m.onnx", "same file as the model"),
    (["profile", "m.onnx", "--json", "m.onnx.edgeperf.json"], "m.onnx.edgeperf.json", "the model's"),
    (["profile", "m.onnx", "--csv", "x.out", "--json", "x.out"], "m.onnx", "--json and --csv are the same file"),
    (["export", "m.onnx", "-o", "m.onnx"], "m.onnx", "-o m.onnx is the same file as the source"),
    (["export", "m.onnx", "-o", "hard.onnx", "--precision", "fp16"], "m.onnx", "same file as the source"),
    (["export", "m.onnx", "-o", "p.onnx", "--json", "p.onnx"], "m.onnx", "-o and --json are the same file"),
    (["export", "m.onnx", "-o", "p.xml", "--json", "p.bin"], "m.onnx", "-o's weights and --json are the same"),
    (["export", "m.onnx", "-o", "p.xml", "--json", "p.xml.edgeperf.json"], "m.onnx", "-o's sidecar and --json"),
    (["export", "m.onnx", "-o", "p.onnx", "--json", "m.onnx"], "m.onnx", "--json m.onnx is the same file as"),
    (["measure", "--json", "s.sh", "--", "sh", "s.sh"], "s.sh", "the command's file"),
    (["measure", "--json", "s.sh", "--", "./s.sh"], "s.sh", "the command's file"),
    (["validate", "m.onnx", "--domain", "gym:Pendulum-v1", "--json", "m.onnx"], "m.onnx", "same file as the model"),
    (
        ["validate", "m.onnx", "--domain", "gym:Pendulum-v1", "--reference", "ref.onnx", "--json", "ref.onnx"],
        "ref.onnx",
        "same file as --reference",
    ),
]


@pytest.mark.parametrize(("args", "kept", "why"), CLASHES, ids=[" ".join(c[0]) for c in CLASHES])
def test_an_output_on_an_input_is_refused_and_the_input_kept(bad, work, args, kept, why):
    (work / "sub").mkdir()
    files = {p.name: _digest(p) for p in work.iterdir() if p.is_file()}
    r = bad(EXIT["bad"], *args)
    assert why in r.err, r.err
    assert {p.name: _digest(p) for p in work.iterdir() if p.is_file()} == files  # nothing written, nothing lost
    assert _digest(work / kept) == files[kept]


OUTPUTS = [
    (["profile", "m.onnx", *FAST, "--json"], "is a directory"),
    (["profile", "m.onnx", *FAST, "--csv"], "is a directory"),
    (["export", "m.onnx", "--json", "r.json", "-o"], "is a directory"),
    (["measure", "--no-power", "--json"], "is a directory"),
]


@pytest.mark.parametrize(("args", "why"), OUTPUTS, ids=[" ".join(a[:2] + a[-1:]) for a, _ in OUTPUTS])
def test_a_directory_as_output_is_one_line(bad, work, args, why):
    (work / "out").mkdir()
    extra = ["--", "true"] if args[0] == "measure" else []
    r = bad(EXIT["bad"], *args, "out", *extra)
    assert why in r.err


@ROOT_ONLY
@pytest.mark.parametrize("option", ["--json", "--csv"])
def test_a_null_device_output_is_written_through_and_kept(cli, work, option):
    os.mknod(work / "null", 0o666 | stat.S_IFCHR, os.stat("/dev/null").st_rdev)
    r = cli("profile", "m.onnx", *FAST, option, "null")
    assert r.code == 0, r.err
    st = os.lstat(work / "null")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.stat("/dev/null").st_rdev


@ROOT_ONLY
def test_a_full_device_output_is_one_line_and_kept(bad, work):
    os.mknod(work / "full", 0o666 | stat.S_IFCHR, os.stat("/dev/full").st_rdev)
    r = bad(EXIT["bad"], "profile", "m.onnx", *FAST, "--json", "full")
    assert "No space left on device" in r.err
    assert stat.S_ISCHR(os.lstat(work / "full").st_mode)


@ROOT_ONLY
def test_an_artifact_on_a_device_node_is_refused(bad, work):
    os.mknod(work / "p.onnx", 0o666 | stat.S_IFCHR, os.stat("/dev/null").st_rdev)
    r = bad(EXIT["bad"], "export", "m.onnx", "-o", "p.onnx")
    assert "character device, not a regular file" in r.err
    assert stat.S_ISCHR(os.lstat(work / "p.onnx").st_mode)


def test_a_fifo_nobody_reads_is_one_line_not_a_hang(bad, work):
    os.mkfifo(work / "r.fifo")
    r = bad(EXIT["bad"], "profile", "m.onnx", *FAST, "--json", "r.fifo")
    assert "no process is reading that FIFO" in r.err
    assert stat.S_ISFIFO(os.lstat(work / "r.fifo").st_mode)


def _mount_tmpfs(path: Path, options: str = "size=64k") -> None:
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)]).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (needs root and CAP_SYS_ADMIN)")


@pytest.fixture
def small_fs(work):
    """A real 64 KiB tmpfs in the work folder, unmounted afterwards."""
    d = work / "small"
    _mount_tmpfs(d)
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


@ROOT_ONLY
@pytest.mark.parametrize("option", ["--json", "--csv"])
def test_a_full_disk_is_one_line_and_the_old_file_is_kept(bad, work, small_fs, option):
    (small_fs / "r.out").write_text("old")
    try:
        with open(small_fs / "filler", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass
    r = bad(EXIT["bad"], "profile", "m.onnx", *FAST, option, small_fs / "r.out")
    assert "No space left on device" in r.err
    assert (small_fs / "r.out").read_text() == "old"
    assert sorted(p.name for p in small_fs.iterdir()) == ["filler", "r.out"]  # no temp left


@ROOT_ONLY
@pytest.mark.parametrize(
    "args",
    [["profile", "m.onnx", *FAST, "--json"], ["export", "m.onnx", "-o"], ["measure", "--no-power", "--json"]],
    ids=["profile", "export", "measure"],
)
def test_a_read_only_file_system_is_refused_before_work(bad, work, small_fs, args):
    target = small_fs / ("p.onnx" if args[0] == "export" else "r.json")
    target.write_text("old")
    if subprocess.run(["mount", "-o", "remount,ro", str(small_fs)]).returncode != 0:
        pytest.skip("remounting read-only is not permitted here")
    extra = ["--", "true"] if args[0] == "measure" else []
    r = bad(EXIT["bad"], *args, target, *extra)
    assert "read-only file system" in r.err
    assert target.read_text() == "old"


def test_a_model_path_longer_than_the_os_allows_is_one_line(bad, work):
    r = bad(EXIT["bad"], "profile", "a/" * 3000 + "m.onnx", *FAST)
    assert "File name too long" in r.err or "does not exist" in r.err
    assert len(r.err) < 400  # the path is shortened in the message


def _not_elf(d: Path) -> str:
    (d / "text").write_text("echo hi\n")
    os.chmod(d / "text", 0o755)
    return "./text"


def _not_executable(d: Path) -> str:
    (d / "plain").write_text("echo hi\n")
    return "./plain"


MEASURE = [
    (_not_elf, "not an executable format"),
    (_not_executable, "permission denied"),
    (lambda d: "no-such-command-here", "command not found"),
    (lambda d: "./missing.sh", "command not found"),
    (str, "is a directory"),
]


@pytest.mark.parametrize(("make", "why"), MEASURE, ids=["no-exec-format", "not-executable", "missing", "path", "dir"])
def test_measure_a_command_that_cannot_run_is_one_line(bad, work, make, why):
    r = bad(EXIT["bad"], "measure", "--no-power", "--", make(work))
    assert why in r.err


CONFLICTS = [
    ["profile", "m.onnx", "--no-power", "--power", "rapl"],
    ["profile", "m.onnx", "--power", "auto", "--no-power"],
    ["measure", "--no-power", "--power", "estimate", "--", "true"],
]


@pytest.mark.parametrize("args", CONFLICTS, ids=[" ".join(a[:1] + a[2:4]) for a in CONFLICTS])
def test_no_power_with_a_power_source_is_one_line(bad, work, args):
    r = bad(EXIT["bad"], *args)
    assert "--no-power and --power" in r.err and "contradict" in r.err


# --- stdout that is closed or goes away -----------------------------------------------------------------

# PYTHONFAULTHANDLER: a hung edgeperf, sent SIGABRT, prints where it hung.
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), "PYTHONFAULTHANDLER": "1"}


def test_a_broken_pipe_under_json_stdout_ends_quietly_with_141(work):
    p = subprocess.Popen(
        [sys.executable, "-m", "edgeperf", "profile", "m.onnx", *FAST, "--json", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    p.stdout.close()  # the reader is gone before the report is written: `| head -c0`
    _, err = p.communicate(timeout=120)
    assert p.returncode == 141, err
    err = err.decode()  # the tables went to stderr; after them, nothing: no traceback, no "Exception ignored"
    assert "Traceback" not in err and "Exception" not in err and "edgeperf:" not in err, err


@pytest.mark.parametrize(
    ("args", "code"),
    [(["profile", "m.onnx", *FAST, "--json", "-"], 2), (["devices"], 0)],
    ids=["json-to-closed-stdout", "tables-to-closed-stdout"],
)
def test_closed_stdout(work, args, code):
    r = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "edgeperf", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert r.returncode == code, r.stderr
    assert "Traceback" not in r.stderr
    if code:
        assert_one_line(code, r.returncode, r.stderr)
        assert "stdout is closed" in r.stderr


# --- signals: nothing outlives edgeperf -----------------------------------------------------------------


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "edgeperf", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def _wait_for(what, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"not seen within {timeout} s")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _end(proc: subprocess.Popen, sig: int, children: list[psutil.Process]) -> str:
    """Send `sig`, check the exit code and the one line, and that every child is gone within a bounded wait."""
    os.kill(proc.pid, sig)
    try:
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:  # a survivor holds the pipe open
                out, err = "", "(no output: a process that outlived edgeperf holds its pipes open)"
            raise AssertionError(f"edgeperf did not end within 60 s of {sig!r}:\n{out[-3000:]}\n{err}") from None
        if sig == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
        else:
            assert_one_line(EXIT["sigint" if sig == signal.SIGINT else "sigterm"], proc.returncode, err)
            assert "edgeperf: interrupted" in err
        deadline = time.monotonic() + 15
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = alive(children)
        assert not left, [p.cmdline() for p in left]
        return err
    finally:
        for p in alive(children):  # never leave them spinning for the rest of the suite
            p.kill()
        if proc.poll() is None:
            proc.kill()


SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGKILL]
SIG_IDS = ["SIGTERM", "SIGINT", "SIGKILL"]


@pytest.mark.parametrize("sig", SIGNALS, ids=SIG_IDS)
def test_stress_co_runners_end_with_edgeperf(work, sig):
    proc = _start("profile", "m.onnx", "--stress", "2", "--duration", "120", "-n", "100000000", "--no-power")

    def co_runners():
        found = [p for p in _descendants(proc.pid) if "PDEATHSIG" in " ".join(p.cmdline())]
        return found if len(found) == 2 else None

    _end(proc, sig, _wait_for(co_runners))


@pytest.mark.parametrize("sig", SIGNALS, ids=SIG_IDS)
def test_measured_command_and_its_children_end_with_edgeperf(work, sig):
    proc = _start("measure", "--no-power", "--", "sh", "-c", "sleep 300 & sleep 300; wait")

    def tree():
        sleeps = [p for p in _descendants(proc.pid) if p.name() == "sleep"]
        return _descendants(proc.pid) if len(sleeps) == 2 else None

    _end(proc, sig, _wait_for(tree))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=SIG_IDS[:2])
def test_export_interrupted_leaves_no_temp_folder(work, sig):
    proc = _start("export", "example:mlp", "-o", str(work / "p.onnx"))
    _wait_for(lambda: list(work.glob(".p.onnx.*")), timeout=120)  # the hidden work folder exists: mid-export
    _end(proc, sig, [])
    assert not list(work.glob(".p.onnx*")) and not (work / "p.onnx").exists()


@pytest.mark.parametrize("sig", SIGNALS, ids=SIG_IDS)
def test_validate_workers_end_with_edgeperf(work, sig):
    """An interrupt drops the queued episodes and stops the pool's workers mid-episode (it used to wait for all);
    a SIGKILL of edgeperf takes them too (they used to run on as orphans)."""
    from edgeperf.exporter.onnx import export

    export("reference:gym:Pendulum-v1", work / "pendulum.onnx", check=False)
    proc = _start("validate", "pendulum.onnx", "--domain", "gym:Pendulum-v1", "--episodes", "5000", "--workers", "2")

    def workers():
        found = [p for p in _descendants(proc.pid) if "spawn_main" in " ".join(p.cmdline())]
        return found if len(found) == 2 else None

    _end(proc, sig, _wait_for(workers))


@pytest.mark.parametrize("sig", SIGNALS, ids=SIG_IDS)
def test_sweep_workers_end_with_edgeperf(work, sig):
    (work / "s.toml").write_text(
        '[sweep]\noutput = "out"\nworkers = 2\n[validate]\nmodels = ["reference:gym:Pendulum-v1"]\n'
        'domains = ["gym:Pendulum-v1"]\nseeds = [0, 1000]\nepisodes = 5000\n'
    )
    proc = _start("sweep", "s.toml", "--no-store")

    def workers():
        found = [p for p in _descendants(proc.pid) if "spawn_main" in " ".join(p.cmdline())]
        return found if len(found) == 2 else None

    _end(proc, sig, _wait_for(workers))
