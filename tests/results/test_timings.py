"""`--csv` streamed to disk as the run goes: the same rows as the samples, complete or absent."""

import json
import os
import subprocess

import numpy as np
import pytest

from edgeperf.profilers import latency
from edgeperf.results.timings import stream_csv


def _rows(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def test_streamed_csv_equals_the_samples(tmp_path):
    """Over several chunks (3 x latency.CHUNK and a partial one): every row, in order, to the nanosecond."""
    out = tmp_path / "t.csv"
    with stream_csv(out) as sink:
        assert not out.exists()  # only the temp file beside it while the run goes
        run = latency.stream(
            lambda f: None, [0], warmup=0, min_iterations=3 * latency.CHUNK + 100, min_duration_s=0, sinks=[sink]
        )
    assert out.read_text().splitlines()[0] == "index,start_us,latency_us"
    rows = _rows(out)
    assert len(rows) == run.count == 3 * latency.CHUNK + 100
    assert (rows[:, 0] == np.arange(len(rows))).all()
    assert (np.round(rows[:, 2] * 1e3) == run.samples_ns).all()
    assert rows[0, 1] == 0 and (np.diff(rows[:, 1]) > 0).all()
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temp left beside it


def test_periodic_csv_marks_the_misses(tmp_path):
    calls = iter(range(10**6))

    def infer(_):  # every 100th inference overruns the 1 ms deadline by far
        if next(calls) % 100 == 99:
            end = latency._now() + 3_000_000
            while latency._now() < end:
                pass

    out = tmp_path / "p.csv"
    with stream_csv(out, deadline_ns=1_000_000) as sink:
        run = latency.periodic(
            infer, [0], period_ns=2_000_000, deadline_ns=1_000_000, warmup=0, min_iterations=600,
            min_duration_s=0, sinks=[sink],
        )  # fmt: skip
    rows = _rows(out)
    d = run.record.deadline.result()
    assert len(rows) == d["periods"] == 600  # several periodic folds (latency.PERIODIC_CHUNK) in between
    assert (np.round(np.diff(rows[:, 3]) * 1e3) == 2_000_000).all()  # releases never drift
    assert (np.round((rows[:, 1] + rows[:, 2] - rows[:, 3]) * 1e3) == np.round(rows[:, 4] * 1e3)).all()
    assert rows[:, 5].sum() == d["misses"] and np.flatnonzero(rows[:, 5]).tolist()[:1000] == d["miss_indices"]
    assert set(range(99, 600, 100)) <= set(d["miss_indices"])


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_run_leaves_the_old_file_whole_and_no_temp(tmp_path, exc):
    out = tmp_path / "t.csv"
    out.write_text("the previous run\n")
    calls = iter(range(10**6))

    def infer(_):
        if next(calls) == 2 * latency.CHUNK + 7:  # after two chunks were written
            raise exc("stop")

    with pytest.raises(exc), stream_csv(out) as sink:
        latency.stream(infer, [0], warmup=0, min_iterations=10**6, min_duration_s=0, sinks=[sink])
    assert out.read_text() == "the previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 64 KiB tmpfs (needs root), filled up by the first chunks of a CSV."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]).returncode:
        pytest.skip("mounting a tmpfs needs root")
    yield mnt
    subprocess.run(["umount", mnt], check=True)


def test_a_full_disk_mid_run_is_one_bad_input_and_leaves_nothing(cli, example_onnx, tiny_fs):
    r = cli("profile", example_onnx, "-n", "20000", "--duration", "0", "--no-power", "--csv", tiny_fs / "t.csv")
    assert r.code == 2 and r.err.startswith("edgeperf: error: cannot write") and "No space left" in r.err, r.err
    assert list(tiny_fs.iterdir()) == []


def test_cli_csv_and_plot_past_the_exact_buffer(cli, example_onnx, tmp_path, monkeypatch):
    """The whole path with the exact buffer cut to 1000: the report states the histogram and its precision,
    and its percentiles agree with numpy's over the streamed CSV within it."""
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(latency, "EXACT_CAPACITY", 1_000)
    r = cli(
        "profile", example_onnx, "-n", "20000", "--duration", "0", "--warmup", "10", "--no-power",
        "--csv", tmp_path / "t.csv", "--plot", tmp_path / "t.png", "--json", tmp_path / "p.json",
    )  # fmt: skip
    assert r.code == 0, r.err
    lat = json.loads((tmp_path / "p.json").read_text())["results"]["latency_us"]
    assert "histogram" in lat["method"] and lat["relative_precision"] > 0
    us = _rows(tmp_path / "t.csv")[:, 2]
    assert len(us) == lat["count"] >= 20_000
    for key, q in (("p50", 50), ("p99", 99), ("p99_9", 99.9)):
        assert abs(lat[key] - np.percentile(us, q)) <= lat["relative_precision"] * np.percentile(us, q)
    assert lat["max"] == us.max() and lat["mean"] == pytest.approx(us.mean(), rel=1e-9)
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "log-linear histogram" in " ".join(r.out.split())
