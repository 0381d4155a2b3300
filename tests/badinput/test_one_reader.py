"""Issue 24: one reader (results.io.read_document / open_input) for every file edgeperf did not just write.

A table over every reader of such files (reports, budgets, sweep configs, netlists, deploy specs in TOML and YAML,
recordings, token files, timings): each refuses a file that is too big (without reading it), nested too deep,
of the wrong type at the top, a FIFO (without blocking on it), binary garbage, or a field its schema does not
allow (naming the field), with one BadInput line naming the file. The phrases the one reader uses are asserted,
so a reader that goes around it fails here. Then: report files held to their versioned JSON Schema by every
command that reads them, and `history --import` all or nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgeperf.errors import BadInput
from edgeperf.results import io
from edgeperf.results.report import SCHEMAS, json_schema, load_report

FIXTURES = Path(__file__).parents[1] / "fixtures"
REPORTS = FIXTURES / "reports"
A1_TOML = FIXTURES / "mujoco" / "a1_trot.toml"
A1_YAML = FIXTURES / "mujoco" / "unitree_rl_gym" / "deploy" / "deploy_mujoco" / "configs" / "a1.yaml"
DEEP = "[" * 100_000 + "]" * 100_000


def _report(path):
    load_report(path)


def _budget(path):
    from edgeperf.results.budget import Budget

    Budget.load(path)


def _sweep(path):
    from edgeperf.sweep import config

    config.load(path)


def _netlist(path):
    pytest.importorskip("gymnasium")
    from edgeperf.domains.floorplan import netlist

    netlist.load(path)


def _spec(path):
    pytest.importorskip("mujoco")
    from edgeperf.domains.mujoco import formats

    formats.load(path)


def _recording(path):
    from edgeperf.validation.doctor import recording

    recording.load(path)


def _token(path):
    from edgeperf.runtime import wire

    if path.exists():
        path.chmod(0o600)
    wire.read_token_file(path)


def _timings(path):
    from edgeperf.results.timings import read_timings

    read_timings(path)


def _npz(**arrays) -> bytes:
    import io as _io

    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _netlist_doc(**change) -> str:
    doc = {
        "format": "edgeperf.netlist/1",
        "name": "n",
        "canvas": {"width": 100, "height": 50, "columns": 10, "rows": 5},
        "macros": [{"name": "M", "width": 10, "height": 10}],
        "clusters": [{"name": "C", "width": 5, "height": 5, "x": 50, "y": 25}],
        "ports": [{"name": "P", "x": 0, "y": 10}],
        "nets": [{"pins": [["M", 0, 5], ["C"], ["P"]]}],
    }
    doc["canvas"].update(change)
    return json.dumps(doc)


def _bad_latency() -> str:
    doc = json.loads((REPORTS / "profile.json").read_text())
    doc["results"]["latency_us"]["p99"] = "fast"
    return json.dumps(doc)


@dataclass
class Reader:
    read: Callable[[Path], None]
    name: str  # the file's name (its suffix picks the format)
    good: Callable[[Path], None]  # writes a file the reader accepts
    deep: str | None = None  # nested 100,000 deep in the reader's format (None: not a nested format)
    wrong_top: tuple[str, str] | None = None  # (content, what the line says)
    field: tuple[str | bytes, str] | None = None  # (content that breaks the format's schema, the field it names)
    garbage: str = ""  # what the line says of binary garbage


def _copy(src: Path) -> Callable[[Path], None]:
    return lambda dst: dst.write_bytes(src.read_bytes())


def _text(text: str | bytes) -> Callable[[Path], None]:
    return lambda dst: dst.write_bytes(text if isinstance(text, bytes) else text.encode())


def _spec_copy(src: Path, edit=lambda t: t) -> Callable[[Path], None]:
    """A deploy spec beside the scene it names (a relative path), edited."""

    def write(dst: Path) -> None:
        shutil.copytree(FIXTURES / "mujoco" / "unitree_rl_gym", dst.parent / "unitree_rl_gym", dirs_exist_ok=True)
        text = src.read_text()
        if src.suffix == ".yaml":  # its scene is relative to unitree_rl_gym's root
            text = text.replace("{LEGGED_GYM_ROOT_DIR}", str(dst.parent / "unitree_rl_gym"))
        dst.write_text(edit(text))

    return write


READERS = {
    "report": Reader(
        _report,
        "r.json",
        _copy(REPORTS / "profile.json"),
        deep='{"schema": "edgeperf.profile/1", "results": ' + DEEP + "}",
        wrong_top=("[1, 2]", "not an edgeperf report"),
        field=(_bad_latency(), "results.latency_us.p99 is 'fast'"),
        garbage="is not a JSON report",
    ),
    "budget file": Reader(
        _budget,
        "b.toml",
        _text("[profile]\np99_us = 5\n"),
        deep="a = " + DEEP + "\n",
        field=("[profile]\np99_us = 'fast'\n", "p99_us must be a number"),
        garbage="is not a TOML budget file",
    ),
    "sweep config": Reader(
        _sweep,
        "s.toml",
        _text('[validate]\nmodels = ["a.onnx"]\ndomains = ["gym:Pendulum-v1"]\n'),
        deep="a = " + DEEP + "\n",
        field=('[sweep]\nworkers = 0\n[validate]\nmodels = ["a"]\ndomains = ["x"]\n', "workers = 0"),
        garbage="is not a TOML sweep config",
    ),
    "netlist": Reader(
        _netlist,
        "n.json",
        _text(_netlist_doc()),
        deep='{"format": "edgeperf.netlist/1", "canvas": ' + DEEP + "}",
        wrong_top=("[1, 2]", '"format" must be "edgeperf.netlist/1"'),
        field=(_netlist_doc(width="wide"), "'width', got 'wide'"),
        garbage="not JSON",
    ),
    "deploy spec (TOML)": Reader(
        _spec,
        "spec.toml",
        _spec_copy(A1_TOML),
        deep="schema = 'edgeperf.deploy/1'\na = " + DEEP + "\n",
        field=(A1_TOML.read_text().replace("dt = 0.002", "dt = -1.0"), "dt"),
        garbage="is not a TOML deploy spec",
    ),
    "deploy spec (YAML)": Reader(
        _spec,
        "spec.yaml",
        _spec_copy(A1_YAML),
        deep="a: " + DEEP + "\n",
        wrong_top=("- 1\n- 2\n", "holds an array at the top"),
        field=(A1_YAML.read_text().replace("kps:", "kps: .nan\nunused_kps:", 1), "kps is nan"),
        garbage="is not UTF-8 text",
    ),
    "recording": Reader(
        _recording,
        "r.npz",
        _text(_npz(obs=np.zeros((4, 3)), action=np.zeros((4, 1)))),
        field=(_npz(obs=np.zeros((4, 3))), "a recording needs 'action'"),
        garbage="not a recording .npz",
    ),
    "token file": Reader(_token, "token", _text("s3cret-s3cret-s3cret\n")),
    "timings file": Reader(
        _timings,
        "t.csv",
        _copy(REPORTS / "profile_timings.csv"),
        field=("index,start_us,latency_us\n0,0.0,abc\n", "malformed row"),
        garbage="cannot read timings",
    ),
}


def _refused(reader: Reader, path: Path, says: str) -> str:
    with pytest.raises(BadInput) as err:
        reader.read(path)
    message = str(err.value)
    assert "\n" not in message, message
    assert path.name in message or str(path) in message, message
    assert says in message, message
    return message


@pytest.mark.parametrize("what", list(READERS))
def test_the_good_file_is_read(what, tmp_path):
    reader = READERS[what]
    path = tmp_path / reader.name
    reader.good(path)
    reader.read(path)


@pytest.mark.parametrize("what", list(READERS))
def test_too_big_is_refused_before_reading(what, tmp_path):
    """6 GiB of holes: read, it would take minutes and the memory; refused by its size, it takes no time."""
    reader = READERS[what]
    path = tmp_path / reader.name
    with path.open("wb") as f:
        f.truncate(6 * 2**30)
    _refused(reader, path, "edgeperf reads")


@pytest.mark.parametrize("what", [w for w, r in READERS.items() if r.deep])
def test_nested_100000_deep_is_one_line(what, tmp_path):
    reader = READERS[what]
    path = tmp_path / reader.name
    path.write_text(reader.deep)
    message = _refused(reader, path, "")
    assert "deep" in message, message


@pytest.mark.parametrize("what", [w for w, r in READERS.items() if r.wrong_top])
def test_the_wrong_type_at_the_top(what, tmp_path):
    reader = READERS[what]
    path = tmp_path / reader.name
    content, says = reader.wrong_top
    path.write_text(content)
    _refused(reader, path, says)


@pytest.mark.parametrize("what", list(READERS))
def test_a_fifo_is_named_never_read_or_waited_on(what, tmp_path):
    reader = READERS[what]
    path = tmp_path / reader.name
    os.mkfifo(path)
    out: list = []

    def read():
        try:
            reader.read(path)
        except BaseException as exc:
            out.append(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(30)
    if t.is_alive():  # blocked in open(): a writer that closes at once lets it go
        with open(path, "wb"):
            pass
        t.join(30)
        pytest.fail(f"the {what} reader blocked on a FIFO")
    assert out and isinstance(out[0], BadInput), out
    assert "it is a FIFO, not a regular file" in str(out[0]) and path.name in str(out[0])


@pytest.mark.parametrize("what", list(READERS))
def test_a_directory_is_named(what, tmp_path):
    reader = READERS[what]
    path = tmp_path / reader.name
    path.mkdir()
    _refused(reader, path, "it is a directory, not a regular file")


@pytest.mark.parametrize("what", [w for w, r in READERS.items() if r.garbage])
def test_binary_garbage(what, tmp_path):
    reader = READERS[what]
    path = tmp_path / reader.name
    path.write_bytes(bytes(range(256)) * 4 + b"\xff\xfe\x00")
    _refused(reader, path, reader.garbage)


@pytest.mark.parametrize("what", [w for w, r in READERS.items() if r.field])
def test_a_field_against_the_schema_is_named(what, tmp_path):
    reader = READERS[what]
    path = tmp_path / reader.name
    content, says = reader.field
    if what.startswith("deploy spec"):
        _spec_copy(A1_TOML if path.suffix == ".toml" else A1_YAML)(path)  # the scene beside it
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    _refused(reader, path, says)


def test_a_yaml_alias_bomb_costs_its_size_not_its_expansion(tmp_path):
    """Nine levels of ten aliases: 10^9 values once expanded; read as shared values, walked once each."""
    pytest.importorskip("yaml")
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    message = _refused(READERS["deploy spec (YAML)"], path, "")
    assert "not a deploy spec format" in message


def test_a_sweep_job_report_that_is_a_fifo_is_redone_not_waited_on(tmp_path):
    from edgeperf.sweep import run
    from edgeperf.sweep.config import Job

    job = Job("profile", {"model": "m.onnx"})
    path = run.report_path(tmp_path, job)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    assert run.done(tmp_path, job) is False


# --- the reader's own parts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', False),
        ('["\\"[[[[", ' + "[" * 70 + "]" * 70 + "]", True),
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ("[" * 10_000_000, True),
        ('"\\"' * 100_000, False),
    ],
)
def test_brackets_are_counted_outside_strings_and_in_linear_time(text, deep):
    assert io.too_deep(text, 64) is deep


def test_toml_brackets_in_strings_and_comments_are_text():
    text = 'a = "[[[[[[["\nb = \'[[[[[[\'\nc = """\n[[[[[[\n"""\n# [[[[[[[[\nd = [[1], [2]]\n'
    assert not io.too_deep(text, 2, io._TOML_STRINGS) and io.too_deep(text, 1, io._TOML_STRINGS)


def test_nesting_is_measured_without_recursion_and_cycles_are_found():
    shared = [1]
    for _ in range(40):
        shared = [shared, shared]  # 2^40 leaves once expanded
    assert io.nesting(shared) == 41
    loop: list = []
    loop.append(loop)
    assert io.nesting(loop) is None
    assert io.nesting({"a": {"b": [1]}}) == 3


# --- report files: their versioned JSON Schema ---------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(p.name for p in REPORTS.glob("*.json")))
def test_every_fixture_report_passes_its_schema_unchanged(fixture):
    text = (REPORTS / fixture).read_text()
    report = load_report(REPORTS / fixture)
    assert json.loads(report.to_json()) == json.loads(text)


def test_the_schemas_are_json_schema_and_jsonschema_agrees():
    jsonschema = pytest.importorskip("jsonschema")
    hostile = [("results", "latency_us", "p99"), ("results", "deadline", "misses"), ("model", "path"), ("run_id",)]
    for kind in SCHEMAS:
        jsonschema.Draft202012Validator.check_schema(json_schema(kind))
    for fixture in REPORTS.glob("*.json"):
        doc = json.loads(fixture.read_text())
        schema = json_schema(doc["schema"].split(".")[1].split("/")[0])
        jsonschema.validate(doc, schema)
        assert not list(io.schema_errors(doc, schema))
        for path in hostile:
            for value in ("x", [1], -1, None, {"a": 1}):
                bad = json.loads(fixture.read_text())
                node = bad
                for key in path[:-1]:
                    node = node.get(key) if isinstance(node, dict) else None
                if not isinstance(node, dict) or path[-1] not in node:
                    continue
                node[path[-1]] = value
                ours = bool(list(io.schema_errors(bad, schema)))
                theirs = not jsonschema.Draft202012Validator(schema).is_valid(bad)
                assert ours == theirs, (fixture.name, path, value)


def _profile(**edit) -> dict:
    doc = json.loads((REPORTS / "profile.json").read_text())
    for dotted, value in edit.items():
        *parents, last = dotted.split("__")
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value
    return doc


HOSTILE_FIELDS = {
    # (edit, the field the line names)
    "p99 a string": (dict(results__latency_us__p99="fast"), "results.latency_us.p99"),
    "p99 a list": (dict(results__latency_us__p99=[1]), "results.latency_us.p99"),
    "misses a string": (dict(results__deadline__misses="3"), "results.deadline.misses"),
    "misses null": (dict(results__deadline__misses=None), "results.deadline.misses"),
    "miss rate 2": (dict(results__deadline__miss_rate=2.0), "results.deadline.miss_rate"),
    "versions a list": (dict(host__versions=[1]), "host.versions"),
    "run_id null": (dict(run_id=None), "run_id"),
    "sha256 a number": (dict(model__sha256=3), "model.sha256"),
    "peak RSS an object": (dict(results__memory__peak_rss_bytes={"a": 1}), "results.memory.peak_rss_bytes"),
    "batch a string": (dict(config__batch="2"), "config.batch"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FIELDS))
@pytest.mark.parametrize("command", ["history --import", "compare", "check", "validate --latency-from", "report"])
def test_a_report_field_against_its_schema_is_named_by_every_command(bad, tmp_path, case, command):
    """Each of these was a traceback (TypeError, AttributeError, KeyError) in compare, check or the store."""
    edit, field = HOSTILE_FIELDS[case]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_profile(**edit)))
    budget = tmp_path / "b.toml"
    budget.write_text("[profile]\np99_us = 5\n")
    args = {
        "history --import": ["history", "--import", path, "--db", tmp_path / "s.db"],
        "compare": ["compare", path, REPORTS / "profile.json", "--db", tmp_path / "n.db"],
        "check": ["check", "--budget", budget, path, "--db", tmp_path / "n.db"],
        "validate --latency-from": ["validate", "x.onnx", "--domain", "gym:Pendulum-v1", "--latency-from", path],
        "report": ["report", path, "-o", tmp_path / "o.html", "--db", tmp_path / "n.db"],
    }[command]
    r = bad(2, *args)
    assert "r.json" in r.err and field in r.err, r.err


# --- history --import: all or nothing -------------------------------------------------------------------------


def _doc(tmp_path: Path, name: str, **edit) -> Path:
    doc = _profile(**edit)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _runs(db: Path) -> list[str]:
    from edgeperf.results.store import Store

    if not db.exists():
        return []
    with Store.open(db) as s:
        return sorted(r.run_id for r in s.query())


def test_import_of_a_good_and_a_bad_file_records_nothing(bad, tmp_path):
    db = tmp_path / "runs.db"
    good = _doc(tmp_path, "good.json", run_id="a" * 32)
    broken = _doc(tmp_path, "broken.json", run_id="b" * 32, results__latency_us__p50=-1)
    r = bad(2, "history", "--import", good, broken, "--db", db)
    assert "broken.json" in r.err
    assert _runs(db) == []


def test_import_that_conflicts_with_the_store_records_none_of_its_files(bad, cli, tmp_path):
    """The second file's run id is recorded with another report: the first, good, file is not recorded either."""
    db = tmp_path / "runs.db"
    first = _doc(tmp_path, "first.json", run_id="c" * 32)
    assert cli("history", "--import", first, "--db", db).code == 0
    good = _doc(tmp_path, "good.json", run_id="d" * 32)
    clash = _doc(tmp_path, "clash.json", run_id="c" * 32, created_at="2027-01-01T00:00:00+00:00")
    r = bad(2, "history", "--import", good, clash, "--db", db)
    assert "already recorded with a different report" in r.err and "clash.json" in r.err, r.err
    assert _runs(db) == ["c" * 32]


def test_import_of_two_files_that_disagree_on_one_run_records_neither(bad, tmp_path):
    db = tmp_path / "runs.db"
    one = _doc(tmp_path, "one.json", run_id="e" * 32)
    other = _doc(tmp_path, "other.json", run_id="e" * 32, created_at="2027-01-01T00:00:00+00:00")
    bad(2, "history", "--import", one, other, "--db", db)
    assert _runs(db) == []


def test_import_of_the_same_file_twice_records_it_once(cli, tmp_path):
    db = tmp_path / "runs.db"
    one = _doc(tmp_path, "one.json", run_id="f" * 32)
    r = cli("history", "--import", one, one, "--db", db)
    out = " ".join(r.out.split())  # rich wraps the line
    assert r.code == 0 and "imported 1 run(s)" in out and "(1 already there)" in out, r.out
    assert _runs(db) == ["f" * 32]
