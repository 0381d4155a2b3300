"""Bad numeric options and conflicts of `edgeperf profile`, refused before any work (issue 10 item 3): one
line, exit 2, nothing written. The bounds are against this machine: its logical cores and its memory."""

from __future__ import annotations

import pytest

from edgeperf.config.profile import THREADS_PER_CORE, usable_cores

CORES = usable_cores()
HUGE = "99999999999999999999"  # past int64: must be refused, not overflow or run forever

CASES = [
    (["--iterations", HUGE], "cannot finish within a week"),
    (["--iterations", "-5"], "--iterations must be at least 1"),
    (["--iterations", "abc"], "'abc' is not a valid int"),
    (["--warmup", "-1"], "--warmup must be at least 0"),
    (["--warmup", HUGE], "--warmup 99999999999999999999 is more than"),
    (["--threads", "0"], "--threads must be at least 1"),
    (["--threads", "5000"], f"{CORES} logical cores"),
    (["--threads", str(THREADS_PER_CORE * CORES + 1)], f"give at most {THREADS_PER_CORE * CORES}"),
    (["--threads", "1.5"], "'1.5' is not a valid int"),
    (["--stress", str(max(50, CORES + 1))], f"--stress must be 0 to {CORES}"),
    (["--stress", "-1"], f"--stress must be 0 to {CORES}"),
    (["--batch", "0"], "--batch must be at least 1"),
    (["--batch", "100000000"], "the observation pool (1024 batches of 100000000 x 48 values) needs"),
    (["--duration", "inf"], "--duration must be a finite number"),
    (["--duration", "nan"], "--duration must be a finite number"),
    (["--duration", "-1"], "--duration must be a finite number"),
    (["--duration", "1e9"], "from 0 to 604800 (a week)"),
    (["--rate", "50", "--batch", "4"], "give --rate or --batch, not both"),
    (["--rate", "inf"], "--rate must be a control rate"),
    (["--rate", "1e6"], "at most 100000"),
    (["--rate", "1", "--iterations", "1000000000"], "take 1.16e+04 days"),
    (["--rate", "50", "--deadline", "-3"], "--deadline must be a positive number"),
    (["--csv", "no/such/dir/t.csv"], "no/such/dir does not exist"),
    (["--csv", "."], "is a directory"),
    (["--plot", "no/such/dir/p.png"], "no/such/dir does not exist"),
    (["--plot", "latency.svg"], "give a .png file name"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_refused_before_any_work(bad, example_onnx, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    # A run that would take an hour if the refusal came after the measuring started.
    r = bad(2, "profile", example_onnx, "--duration", "3600", "--no-power", "--json", "out.json", *args)
    assert message in r.err
    assert list(tmp_path.iterdir()) == []  # no report, no CSV, no temp file


def test_a_huge_batch_is_refused_in_a_fresh_process_without_a_memory_error(bad_proc, example_onnx, tmp_path):
    r = bad_proc(2, "profile", example_onnx, "--batch", "100000000", "--no-power", cwd=tmp_path)
    assert "MemoryError" not in r.stderr and "give a smaller --batch" in r.stderr
