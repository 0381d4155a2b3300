"""results/io.py against real files, links, device nodes, FIFOs, sockets and tiny tmpfs mounts (issue 10):
an output never destroys an input, a special file is never replaced by a regular one, and a failed write
leaves the old file whole with no temp file beside it."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from edgeperf.errors import BadInput
from edgeperf.results import io

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="making device nodes and mounting tmpfs needs root")


def _rdev(path: str) -> int:
    return os.stat(path).st_rdev


def _node(path: Path, like: str) -> Path:
    """A character device with the numbers of `like` (/dev/null, /dev/full), made here: /dev is never touched."""
    os.mknod(path, 0o666 | stat.S_IFCHR, _rdev(like))
    return path


@contextlib.contextmanager
def _tmpfs(path: Path, *options: str):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(["size=64k", *options]), "tmpfs", str(path)])
    if r.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (needs root and CAP_SYS_ADMIN)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


# --- check_paths: every output against every input and every other output -------------------------------


def _same_file_cases():
    def plain(d):
        return d / "m.onnx", d / "m.onnx"

    def relative(d):
        return d / "m.onnx", Path(os.path.relpath(d / "sub" / ".." / "m.onnx"))

    def symlink(d):
        (d / "link.onnx").symlink_to(d / "m.onnx")
        return d / "m.onnx", d / "link.onnx"

    def hardlink(d):
        os.link(d / "m.onnx", d / "hard.onnx")
        return d / "m.onnx", d / "hard.onnx"

    def sidecar(d):
        (d / "m.onnx.edgeperf.json").write_text("{}")
        return d / "m.onnx", d / "m.onnx.edgeperf.json"

    def openvino_weights(d):
        (d / "m.xml").write_text("<net/>")
        (d / "m.bin").write_bytes(b"w")
        return d / "m.xml", d / "m.bin"

    def external_data(d):
        (d / "m.onnx.data").write_bytes(b"w")
        return d / "m.onnx", d / "m.onnx.data"

    return [plain, relative, symlink, hardlink, sidecar, openvino_weights, external_data]


@pytest.mark.parametrize("case", _same_file_cases(), ids=lambda c: c.__name__)
def test_an_output_on_an_input_is_refused(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "m.onnx").write_bytes(b"model")
    model, out = case(tmp_path)
    before = out.read_bytes()
    with pytest.raises(BadInput, match=r"--json .* is the same file as the model.*would destroy it"):
        io.check_paths({"--json": out}, {"the model": model})
    assert out.read_bytes() == before


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_two_outputs_on_one_file_are_refused(how, tmp_path):
    a = tmp_path / "r.json"
    a.write_text("old")
    b = {"same": a, "symlink": tmp_path / "l.json", "hardlink": tmp_path / "h.json"}[how]
    if how == "symlink":
        b.symlink_to(a)
    elif how == "hardlink":
        os.link(a, b)
    with pytest.raises(BadInput, match=r"--csv and --json are the same file"):
        io.check_paths({"--csv": a, "--json": b})


def test_distinct_paths_stdout_and_absent_options_pass(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model")
    io.check_paths(
        {"--json": "-", "--csv": tmp_path / "t.csv", "--plot": None},
        [("the command's file", tmp_path / "m.onnx"), ("the command's file", "not-a-file"), ("x", None)],
    )


@ROOT_ONLY
def test_two_outputs_on_a_null_device_are_not_a_clash(tmp_path):
    null = _node(tmp_path / "null", "/dev/null")
    io.check_paths({"--csv": null, "--json": null})


# --- what an output path may be -------------------------------------------------------------------------


def _refused_kinds():
    def directory(d):
        (d / "dir").mkdir()
        return d / "dir", "is a directory"

    def missing_parent(d):
        return d / "missing" / "r.json", "does not exist"

    def parent_is_a_file(d):
        (d / "f").write_text("x")
        return d / "f" / "r.json", "cannot write"

    def read_only_file(d):
        (d / "ro.json").write_text("old")
        os.chmod(d / "ro.json", 0o444)
        if os.access(d / "ro.json", os.W_OK):
            pytest.skip("root writes read-only files; covered by the read-only mount case")
        return d / "ro.json", "read-only"

    def socket_file(d):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(d / "sock"))
        return d / "sock", "is a socket, not a regular file"

    def block_device(d):
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(d / "blk", 0o600 | stat.S_IFBLK, os.makedev(7, 250))  # a loop device number, never opened
        return d / "blk", "is a block device, not a regular file"

    def name_too_long(d):
        return d / ("x" * 300), "File name too long"

    return [directory, missing_parent, parent_is_a_file, read_only_file, socket_file, block_device, name_too_long]


@pytest.mark.parametrize("case", _refused_kinds(), ids=lambda c: c.__name__)
def test_an_output_that_cannot_be_a_file_is_refused_before_writing(case, tmp_path):
    path, why = case(tmp_path)
    kind_before = os.lstat(path).st_mode if os.path.lexists(path) else None
    with pytest.raises(BadInput, match=why):
        io.atomic_write_text(path, "new")
    if kind_before is not None:
        assert os.lstat(path).st_mode == kind_before  # not replaced by a regular file
    assert not [n for n in _names(tmp_path) if n.endswith(".tmp")]


@ROOT_ONLY
def test_a_null_device_is_written_through_not_replaced(tmp_path):
    null = _node(tmp_path / "null", "/dev/null")
    io.atomic_write_text(null, "report")
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == _rdev("/dev/null")
    assert _names(tmp_path) == ["null"]


@ROOT_ONLY
def test_a_full_device_is_one_error_and_stays_a_device(tmp_path):
    full = _node(tmp_path / "full", "/dev/full")
    with pytest.raises(BadInput, match=r"cannot write .*full: No space left on device"):
        io.atomic_write_text(full, "report")
    assert stat.S_ISCHR(os.lstat(full).st_mode) and _rdev(full) == _rdev("/dev/full")


@ROOT_ONLY
def test_an_artifact_must_be_a_regular_file(tmp_path):
    null = _node(tmp_path / "p.onnx", "/dev/null")
    with pytest.raises(BadInput, match="character device, not a regular file"):
        io.check_paths({}, artifacts={"-o": null})
    (tmp_path / "t").write_bytes(b"x")
    with pytest.raises(BadInput, match="character device, not a regular file"):
        io.install(tmp_path / "t", null)
    assert stat.S_ISCHR(os.lstat(null).st_mode)


def test_a_fifo_with_a_reader_receives_the_report(tmp_path):
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader before the writer, as `jq < fifo` would be
    try:
        io.atomic_write_text(fifo, "report\n")
        assert os.read(reader, 1 << 16) == b"report\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and _names(tmp_path) == ["r.fifo"]


def test_a_fifo_nobody_reads_is_refused_not_a_hang(tmp_path):
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    with pytest.raises(BadInput, match="no process is reading that FIFO"):
        io.atomic_write_text(fifo, "report")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "r.json"
    target.write_text("old")
    link = tmp_path / "r.json"
    link.symlink_to(target)
    io.atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    dangling = tmp_path / "d.json"
    dangling.symlink_to(tmp_path / "real" / "created.json")
    io.atomic_write_text(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "real" / "created.json").read_text() == "made"
    assert _names(tmp_path / "real") == ["created.json", "r.json"]


def test_an_existing_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old")
    os.chmod(path, 0o640)
    io.atomic_write_text(path, "new")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640 and path.read_text() == "new"


def test_an_exception_while_writing_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old")

    def interrupted():
        with io.atomic_open(path, "w") as f:
            f.write("half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert path.read_text() == "old" and _names(tmp_path) == ["r.json"]


# --- real full and read-only file systems ---------------------------------------------------------------


@ROOT_ONLY
def test_a_full_disk_leaves_the_old_file_whole_and_no_temp(tmp_path):
    with _tmpfs(tmp_path / "small") as d:
        (d / "r.json").write_text("old report")
        with contextlib.suppress(OSError), open(d / "filler", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        with pytest.raises(BadInput, match=r"cannot write .*r\.json: No space left on device"):
            io.atomic_write_text(d / "r.json", "new " * 10_000)
        assert (d / "r.json").read_text() == "old report"
        assert _names(d) == ["filler", "r.json"]


@ROOT_ONLY
def test_a_read_only_file_system_is_refused_before_writing(tmp_path):
    with _tmpfs(tmp_path / "ro") as d:
        (d / "r.json").write_text("old report")
        if subprocess.run(["mount", "-o", "remount,ro", str(d)]).returncode != 0:
            pytest.skip("remounting read-only is not permitted here")
        with pytest.raises(BadInput, match="read-only file system"):
            io.check_paths({"--json": d / "r.json"})
        with pytest.raises(BadInput, match="read-only file system"):
            io.atomic_write_text(d / "r.json", "new")
        assert (d / "r.json").read_text() == "old report" and _names(d) == ["r.json"]
