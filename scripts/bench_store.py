"""The run-store bars of issue 12, measured on real processes and a real profile report.

  kill9       N recorder processes, each killed with kill -9 at a random moment while it records runs in a loop
              (a real profile report with its 5000 samples, a fresh run id each time); after each kill: PRAGMA
              integrity_check is ok and every run the recorder had reported (printed after the commit returned)
              is in the store. Bar: 100 kills, 0 lost, integrity ok every time.
  concurrent  two processes recording 500 runs each at the same time. Bar: 1000 runs, none lost.
  overhead    `edgeperf profile` (5000 inferences) with the store against --no-store, alternated, in fresh
              processes; and the hook alone in-process (the pre-flight open and the record) for 5000 and 100,000
              samples. Bar: recording adds at most 20 ms.
  history     `edgeperf history` (default --limit 50, and --limit 0 --json - for all) over a store of 10,000 runs,
              in a fresh process. Bar: under 1 s.

Run: .venv/bin/python scripts/bench_store.py [--kills 100] [--each 500] [--runs 10000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.injected: a session of known latency for the report's profile

import _docs  # noqa: E402
import numpy as np  # noqa: E402

from edgeperf.profilers.run import run_profile  # noqa: E402
from edgeperf.results.store import Store  # noqa: E402
from tests.injected import InjectedLatency  # noqa: E402

DOCS_PAGE = "benchmarks/store-compare.md"

ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
# Byte-code cached as an installed package has it (else each process compiles the modules it imports, and the
# store's modules weigh on one side only); in a temp folder, not in the tree.
ENV.pop("PYTHONDONTWRITEBYTECODE", None)
ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "edgeperf-bench-pycache")

RECORDER = """
import json, sys, uuid
import numpy as np
from edgeperf.results.store import Store
db, report, n = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
samples = np.load(sys.argv[4])
print("ready", flush=True)
for i in range(n):
    report["run_id"] = uuid.uuid4().hex
    with Store.open(db) as s:
        s.record(report, samples)
    print(report["run_id"], flush=True)  # the command's "success": only after the commit returned
"""


def _sample_report(folder: Path) -> tuple[Path, Path]:
    done = run_profile(InjectedLatency(20), iterations=5000, duration=0, warmup=10, power="off")
    rp, sp = folder / "report.json", folder / "samples.npy"
    done.report.write(rp)
    np.save(sp, done.run.samples_ns)
    return rp, sp


def _recorder(db, report, samples, n):
    return subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(db), str(report), str(n), str(samples)],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def kill9(folder: Path, report, samples, kills: int, seed: int = 1) -> dict:
    db = folder / "kill9.db"
    Store.open(db).close()
    rng = random.Random(seed)
    lost, reported_total, bad_integrity, batch = 0, 0, 0, 4
    done = 0
    while done < kills:
        procs = [_recorder(db, report, samples, 100_000) for _ in range(min(batch, kills - done))]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            time.sleep(rng.random() * 0.25)  # a random moment of the recording loop
            p.send_signal(signal.SIGKILL)
        reported = set()
        for p in procs:
            out, _ = p.communicate()
            assert p.returncode == -signal.SIGKILL
            reported |= set(out.split())
        conn = sqlite3.connect(db)
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {r[0] for r in conn.execute("SELECT run_id FROM runs")}
        conn.close()
        bad_integrity += not ok
        lost += len(reported - stored)
        reported_total += len(reported)
        done += len(procs)
    return {"kills": done, "runs_reported": reported_total, "lost": lost, "integrity_failures": bad_integrity}


def concurrent(folder: Path, report, samples, each: int) -> dict:
    db = folder / "concurrent.db"
    Store.open(db).close()
    t0 = time.perf_counter()
    procs = [_recorder(db, report, samples, each) for _ in range(2)]
    ids = set()
    for p in procs:
        out, _ = p.communicate()
        assert p.returncode == 0, p.returncode
        ids |= set(out.split()) - {"ready"}
    wall = time.perf_counter() - t0
    with Store.open(db) as s:
        n = s.count()
    return {"runs_reported": len(ids), "runs_stored": n, "lost": len(ids) - n, "wall_s": round(wall, 2)}


CPU: list[float] = []  # the CPU time (user + system) of each _wall's process, beside its wall time


def _wall(cmd: list[str]) -> float:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.returncode == 0, r.stderr
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall


def _timed(cmd: list[str], n: int) -> dict:
    """Median wall and CPU seconds of n runs (a loaded machine stretches wall time, not CPU time)."""
    walls, cpus = [], []
    for _ in range(n):
        walls.append(_wall(cmd))
        cpus.append(CPU[-1])
    return {"wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3)}


def overhead(folder: Path, report_path: Path, rounds: int) -> dict:
    from edgeperf.cli.common import store_target
    from edgeperf.exporter.onnx import export

    model = folder / "policy.onnx"
    export("example:mlp", model)
    db = folder / "overhead.db"
    base = [sys.executable, "-m", "edgeperf", "profile", str(model), "-n", "5000", "--duration", "0", "--no-power"]
    on, off, on_cpu, off_cpu = [], [], [], []
    _wall([*base, "--db", str(db)])  # page cache warm, store created
    for _ in range(rounds):
        off.append(_wall([*base, "--no-store"]))
        off_cpu.append(CPU[-1])
        on.append(_wall([*base, "--db", str(db)]))
        on_cpu.append(CPU[-1])
    report = json.loads(report_path.read_text())
    hook = {}
    for n in (5000, 100_000):
        samples = np.random.default_rng(0).integers(20_000, 80_000, n)
        times, cpu = [], []
        for _ in range(rounds * 3):
            report["run_id"] = uuid.uuid4().hex
            c0 = time.process_time()
            t0 = time.perf_counter()
            s = store_target(db, False)  # what a command does before measuring (open the store)
            with s:  # and after (record, close)
                s.record(report, samples)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        hook[f"{n}_samples_ms"] = round(1e3 * statistics.median(times), 2)
        hook[f"{n}_samples_cpu_ms"] = round(1e3 * statistics.median(cpu), 2)
    return {
        "profile_no_store_s": round(statistics.median(off), 3),
        "profile_store_s": round(statistics.median(on), 3),
        "added_ms_median_of_pairs": round(1e3 * statistics.median(a - b for a, b in zip(on, off, strict=True)), 1),
        "added_cpu_ms_median_of_pairs": round(
            1e3 * statistics.median(a - b for a, b in zip(on_cpu, off_cpu, strict=True)), 1
        ),
        "hook_in_process_ms": hook,
    }


def history(folder: Path, report_path: Path, runs: int, samples) -> dict:
    db = folder / "history.db"
    base = json.loads(report_path.read_text())
    with Store.open(db) as s:
        s.conn.execute("PRAGMA synchronous = OFF")  # only to fill the store fast; not what is measured
        devices, models = (
            ["generic-x86_64", "jetson-orin-nano", "jetson-agx-orin"],
            [f"policy{i}.onnx" for i in range(20)],
        )
        for i in range(runs):
            d = json.loads(json.dumps(base))
            d["run_id"] = uuid.uuid4().hex
            d["created_at"] = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00"
            d["host"]["device"] = devices[i % 3]
            d["model"]["path"] = f"/models/{models[i % 20]}"
            d["model"]["sha256"] = f"{i % 20:064x}"
            s.record(d, samples if i % 10 == 0 else None)
        n = s.count()
    with Store.open(db) as s:
        query = {}
        for label, kw in (
            ("limit_50", {"limit": 50}),
            ("all", {}),
            ("filtered", {"device": "jetson-orin-nano", "model": "policy3.onnx"}),
        ):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                s.query(**kw)
                times.append(time.perf_counter() - t0)
            query[f"{label}_ms"] = round(1e3 * statistics.median(times), 1)
    cmd = [sys.executable, "-m", "edgeperf", "history", "--db", str(db)]
    _wall(cmd)
    default = _timed(cmd, 5)
    everything = _timed([*cmd, "--limit", "0", "--json", "-"], 3)
    filtered = _timed([*cmd, "--device", "jetson-orin-nano", "--model", "policy3.onnx"], 3)
    startup = _timed([sys.executable, "-m", "edgeperf", "--version"], 5)
    return {
        "runs": n,
        "db_mb": round(db.stat().st_size / 2**20, 1),
        "query_in_process": query,
        "history_default_limit": default,
        "history_all_json": everything,
        "history_filtered": filtered,
        "edgeperf_version_startup": startup,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--each", type=int, default=500)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--only", choices=["kill9", "concurrent", "overhead", "history"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report, samples_path = _sample_report(folder)
        out = {}
        if args.only in (None, "kill9"):
            out["kill9"] = kill9(folder, report, samples_path, args.kills)
            print(json.dumps({"kill9": out["kill9"]}), flush=True)
        if args.only in (None, "concurrent"):
            out["concurrent"] = concurrent(folder, report, samples_path, args.each)
            print(json.dumps({"concurrent": out["concurrent"]}), flush=True)
        if args.only in (None, "overhead"):
            out["overhead"] = overhead(folder, report, args.rounds)
            print(json.dumps({"overhead": out["overhead"]}), flush=True)
        if args.only in (None, "history"):
            out["history"] = history(folder, report, args.runs, np.load(samples_path))
            print(json.dumps({"history": out["history"]}), flush=True)
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
