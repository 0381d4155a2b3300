"""Bad inputs of policy sources and sensor files (issue 10, items 4-7): nothing sniffed from a file's content is
unpickled (payload files that would create a marker file prove it), malformed artifact metadata, converted
sources, out-of-range numbers, a full disk and failing torch exports are one line before work; sensor files
that are directories, FIFOs or endless devices never block and leave that source unavailable with the reason.

Every case is real: real pickles, zips, TorchScript and ONNX files, FIFOs, a device node with /dev/zero's
numbers in a tmp tree, a tiny tmpfs mounted as root."""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from tests.conftest import SYSFS

torch = pytest.importorskip("torch")

X86, ORIN = SYSFS / "x86-rapl", SYSFS / "jetson-orin-nano-jp6"


class Payload:
    """Unpickling this creates `marker` (the kind of code a hostile pickle runs)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def sb3_payload(path: Path, marker: Path) -> Path:
    """A zip shaped like an SB3 model.save() whose `data` carries a pickled payload, as SB3 stores its spaces."""
    blob = base64.b64encode(pickle.dumps(Payload(marker))).decode()
    data = {"clip_range": 0.2, "observation_space": {":type:": "<class 'x'>", ":serialized:": blob}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data", json.dumps(data))
        z.writestr("policy.pth", b"")
        z.writestr("_stable_baselines3_version", "2.3.0")
    return path


def pickle_payload(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps(Payload(marker)))
    return path


def torchscript(path: Path, module=None) -> Path:
    torch.jit.save(torch.jit.script(module or torch.nn.Linear(4, 2)), str(path))
    return path


def special(kind: str, path: Path) -> Path:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o444, os.stat("/dev/zero").st_rdev)  # endless, like /dev/zero
        except PermissionError:
            pytest.skip("creating a device node needs root (CAP_MKNOD)")
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    m = tmp_path / "MARKER"
    yield m
    assert not m.exists(), "a pickled payload ran: something was unpickled that the user did not name"


# -- 1. unpickling only when named ---------------------------------------------------------------------------

SB3_LOOKALIKES = ["innocent.pt", "innocent.ts", "innocent.jit", "innocent.pth", "innocent", "innocent.bin"]


@pytest.mark.parametrize("name", SB3_LOOKALIKES)
def test_sb3_zip_under_a_torchscript_name_is_refused_unloaded(name, tmp_path, marker, bad):
    src = sb3_payload(tmp_path / name, marker)
    r = bad(2, "export", src, "-o", tmp_path / "out.onnx")
    assert "looks like a Stable-Baselines3 model" in r.err and "rename it innocent.zip if you trust it" in r.err
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.parametrize(
    ("what", "expect"),
    [
        ("sb3", "looks like a Stable-Baselines3 model"),
        ("torchscript", "looks like a TorchScript archive: rename it x.pt"),
        ("zip", "is a zip archive"),
    ],
)
def test_onnx_named_zip_is_refused_with_what_it_looks_like(what, expect, tmp_path, marker, bad):
    x = tmp_path / "x.onnx"
    if what == "sb3":
        sb3_payload(x, marker)
    elif what == "torchscript":
        torchscript(x)
    else:
        with zipfile.ZipFile(x, "w") as z:
            z.writestr("notes.txt", "hello")
    r = bad(2, "export", x, "-o", tmp_path / "out.onnx")
    assert expect in r.err


@pytest.mark.parametrize("name", ["stats.npz", "stats", "stats.pt", "stats.json", "stats.pkl.bak"])
def test_vecnormalize_not_named_pkl_is_never_unpickled(name, tmp_path, bad):
    zip_marker, vn_marker = tmp_path / "ZIP_RAN", tmp_path / "VN_RAN"
    model = sb3_payload(tmp_path / "model.zip", zip_marker)
    vn = pickle_payload(tmp_path / name, vn_marker)
    r = bad(2, "export", model, "--vecnormalize", vn, "-o", tmp_path / "out.onnx")
    assert "unpickles only a file named .pkl" in r.err
    assert not vn_marker.exists() and not zip_marker.exists()  # refused before either file was read


@pytest.mark.parametrize("source", ["innocent.pt", "example:mlp"])
def test_vecnormalize_with_a_source_that_is_not_a_zip(source, tmp_path, marker, bad):
    vn = pickle_payload(tmp_path / "vn.pkl", marker)
    src = str(sb3_payload(tmp_path / source, tmp_path / "ZIP_RAN")) if source.endswith(".pt") else source
    r = bad(2, "export", src, "--vecnormalize", vn, "-o", tmp_path / "out.onnx")
    assert ".zip sources only" in r.err and not (tmp_path / "ZIP_RAN").exists()


def test_weights_holding_a_pickled_payload_are_refused_by_weights_only(tmp_path, marker, bad):
    (tmp_path / "nets.py").write_text("import torch\n\ndef make():\n    return torch.nn.Linear(4, 2)\n")
    weights = tmp_path / "w.pt"
    torch.save({"weight": Payload(marker)}, str(weights))
    r = bad(2, "export", "--factory", f"{tmp_path / 'nets.py'}:make", "--weights", weights, "-o", tmp_path / "o.onnx")
    assert "weights_only=True" in r.err


def test_profile_of_an_sb3_lookalike_never_unpickles(tmp_path, marker, bad_proc):
    src = sb3_payload(tmp_path / "innocent.pt", marker)
    bad_proc(2, "profile", src, "-n", "10", "--duration", "0", "--no-power")


def test_validate_reference_lookalike_never_unpickles(tmp_path, marker, example_onnx, bad_proc):
    ref = sb3_payload(tmp_path / "ref.pt", marker)
    bad_proc(2, "validate", example_onnx, "--domain", "quadruped/trot", "--reference", ref, "--episodes", "2")


# -- non-regular files as policy sources ---------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
@pytest.mark.parametrize("name", ["policy.pt", "policy.onnx", "policy.zip"])
def test_a_source_that_is_no_regular_file_is_refused_without_blocking(kind, name, tmp_path, bad):
    src = special(kind, tmp_path / name)
    r = bad(2, "export", src, "-o", tmp_path / "out.onnx")
    assert str(src) in r.err
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("option", ["--vecnormalize", "--weights"])
def test_a_fifo_as_a_side_file_is_refused_without_blocking(option, tmp_path, marker, bad):
    fifo = special("fifo", tmp_path / ("vn.pkl" if option == "--vecnormalize" else "w.pt"))
    if option == "--vecnormalize":
        args = [sb3_payload(tmp_path / "m.zip", marker), option, fifo]
    else:
        (tmp_path / "nets.py").write_text("import torch\n\ndef make():\n    return torch.nn.Linear(4, 2)\n")
        args = ["--factory", f"{tmp_path / 'nets.py'}:make", option, fifo]
    r = bad(2, "export", *args, "-o", tmp_path / "out.onnx")
    assert "FIFO" in r.err


# -- malformed metadata and converted sources, refused before the work ----------------------------------------


def _with_meta(src: Path, dst: Path, key: str, value: str) -> Path:
    m = onnx.load(str(src))
    props = {p.key: p.value for p in m.metadata_props}
    props[f"edgeperf.{key}"] = value
    del m.metadata_props[:]
    for k, v in props.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(dst))
    return dst


MALFORMED = [
    ("action_space", "{broken", "action_space="),
    ("action_space", '{"type": "box", "shape": "x"}', "action_space is not a box or discrete space"),
    ("action_space", '{"type": "box", "shape": [12], "low": 1, "high": -1}', "low is above high"),
    ("action_space", '{"type": "box", "shape": [12], "low": [0, 1], "high": 1}', "low has 2 values for a box of 12"),
    ("action_space", '{"type": "discrete", "n": "many"}', "action_space is not a box or discrete space"),
    ("obs_space", '{"type": "box", "shape": [48], "low": "a", "high": 1}', "low must hold finite numbers"),
    ("obs_space", '{"type": "box", "shape": [7], "low": 0, "high": 1}', "differs from the model's [48]"),
    ("obs_space", "[1, 2]", "obs_space=[1, 2]"),
    ("obs_space", '{"type": "sphere"}', "obs_space is not a box or discrete space"),
    ("normalization", '{"mean": [1, 2]}', "'mean' must be 48 finite numbers"),
    ("normalization", '"vecnormalize"', "normalization="),
    ("control_hz", '"fast"', "control_hz="),
    ("control_hz", "-50", "control_hz=-50"),
    ("precision", "5", "precision=5"),
]


@pytest.mark.parametrize(("key", "value", "expect"), MALFORMED, ids=[f"{k}={v[:20]}" for k, v, _ in MALFORMED])
def test_malformed_edgeperf_metadata_is_one_line_before_work(key, value, expect, example_onnx, tmp_path, bad):
    src = _with_meta(example_onnx, tmp_path / "m.onnx", key, value)
    r = bad(2, "export", src, "-o", tmp_path / "out.onnx", "--precision", "fp16")
    assert "has malformed edgeperf metadata" in r.err and expect in r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory, example_onnx) -> dict[str, Path]:
    """The example policy converted the ways a user might try to re-target again."""
    from onnxconverter_common import float16

    from edgeperf.exporter.onnx import export

    d = tmp_path_factory.mktemp("converted")
    out = {}
    for name, kw in {
        "fp16": {"precision": "fp16"},
        "int8-dynamic": {"precision": "int8"},
        "int8-static": {"precision": "int8", "quantization": "static"},
    }.items():
        out[name] = d / f"{name}.onnx"
        export(str(example_onnx), out[name], check=False, **kw)
    half = float16.convert_float_to_float16(onnx.load(str(example_onnx)), keep_io_types=False)
    del half.metadata_props[:]  # no edgeperf metadata: found from the graph itself
    out["fp16-io"] = d / "fp16-io.onnx"
    onnx.save(half, str(out["fp16-io"]))
    return out


@pytest.mark.parametrize("name", ["fp16", "int8-dynamic", "int8-static", "fp16-io"])
def test_a_converted_model_is_not_converted_again(name, converted, tmp_path, bad):
    r = bad(2, "export", converted[name], "-o", tmp_path / "again.onnx", "--precision", "int8")
    assert ("already int8-quantized" if "int8" in name else "already fp16") in r.err
    assert not (tmp_path / "again.onnx").exists()


# -- numbers out of range: one line, before the export ---------------------------------------------------------

NUMBERS = [
    (["--seed", "-1"], "from 0 to 2147483647"),
    (["--seed", str(2**31)], "from 0 to 2147483647"),
    (["--parity-samples", "0"], "outside 1..1,000,000"),
    (["--parity-samples", "100000000"], "outside 1..1,000,000"),
    (["--parity-samples", "1e8"], "is not a valid int"),
    (["--calibration-samples", "1000000000", "--precision", "int8", "--quantization", "static"], "outside 1.."),
    (["--calibration-episodes", "0", "--domain", "quadruped/trot"], "--calibration-episodes 0 is outside"),
    (["--calibration-episodes", "100000", "--domain", "quadruped/trot"], "is outside 1..1000"),
]


@pytest.mark.parametrize(("args", "expect"), NUMBERS, ids=[" ".join(a[:2]) for a, _ in NUMBERS])
def test_out_of_range_numbers_are_refused_before_the_export(args, expect, tmp_path, bad):
    r = bad(2, "export", "example:mlp", "-o", tmp_path / "p.onnx", *args)
    assert expect in r.err and list(tmp_path.iterdir()) == []


def test_max_batch_is_checked_before_asking_for_tensorrt(tmp_path, bad):
    r = bad(2, "export", "example:mlp", "-o", tmp_path / "p.engine", "--max-batch", "0")
    assert "--max-batch 0" in r.err


def test_observations_that_do_not_fit_in_memory_are_refused_before_the_export(tmp_path, bad):
    wide = 1_000_000  # one observation of a million values: a million of them would need ~45 TiB
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["obs"], ["action"], keepdims=1)],
        "wide",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", wide])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", 1])],
    )
    model = tmp_path / "wide.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(model))
    r = bad(2, "export", model, "-o", tmp_path / "out.onnx", "--parity-samples", "1000000")
    assert "GiB" in r.err and "use at most" in r.err and not (tmp_path / "out.onnx").exists()


# -- a full disk, torch's exporter failing, NaN weights --------------------------------------------------------


@pytest.fixture
def tiny_fs(tmp_path):
    """A real tmpfs of a given size (root only)."""
    mounts = []

    def mount(size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        d = tmp_path / f"fs{len(mounts)}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)], capture_output=True)
        if r.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounts.append(d)
        return d

    yield mount
    for d in mounts:
        subprocess.run(["umount", str(d)], check=False)


@pytest.mark.parametrize(
    ("size", "args"),
    [
        ("64k", ["example:mlp"]),  # the torch export itself does not fit
        ("448k", ["example:mlp", "--precision", "fp16"]),  # the fp32 graph fits, the fp16 conversion does not
        ("448k", ["example:mlp", "--precision", "int8"]),  # quantization does not
    ],
)
def test_a_full_disk_is_said_as_such(size, args, tiny_fs, bad):
    fs = tiny_fs(size)
    r = bad(2, "export", *args, "-o", fs / "p.onnx")
    assert "disk is full" in r.err and "opset" not in r.err
    assert list(fs.iterdir()) == []  # nothing half-written left on the full disk


class _SVD(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(8, 8)

    def forward(self, x):
        return torch.linalg.svd(self.l(x).reshape(-1, 2, 4))[1].reshape(x.shape[0], -1)


class _FFT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(8, 8)

    def forward(self, x):
        return torch.fft.rfft(self.l(x)).abs()


@pytest.mark.parametrize("module", [_SVD, _FFT])
def test_a_failing_torch_export_prints_one_line_and_no_graph(module, tmp_path, bad_proc):
    src = torchscript(tmp_path / "p.pt", module())
    r = bad_proc(2, "export", src, "-o", tmp_path / "p.onnx", "--obs-shape", "8", "--opset", "13")
    assert "not supported" in r.stderr and "--opset" in r.stderr
    assert r.stdout == ""  # torch's C++ exporter dumps its graph to fd 1 ("Torch IR graph at exception")


def test_nan_weights_fail_parity_as_nan_never_inf(tmp_path, bad):
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    with torch.no_grad():
        net[0].weight[0, 0] = float("nan")
    src = torchscript(tmp_path / "nan.pt", net)
    r = bad(1, "export", src, "-o", tmp_path / "p.onnx", "--obs-shape", "4", "--json", tmp_path / "e.json")
    assert "max |error| nan" in r.err and "inf" not in r.err
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["results"]["parity"]["non_finite_values"] == {"original": 1024, "artifact": 1024}
    assert any("the original policy returned NaN" in w for w in doc["warnings"])


# -- sensor files: never blocking, the source unavailable with the reason ------------------------------------

SENSOR_FILES = {
    "rapl": (X86, "sys/class/powercap/intel-rapl:0/energy_uj"),
    "ina3221": (ORIN, "sys/bus/i2c/devices/1-0040/hwmon/hwmon1/in1_input"),
}


def _broken_tree(tmp_path: Path, tree: Path, rel: str, kind: str) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(tree, root)
    (root / rel).unlink()
    if kind == "garbage":
        (root / rel).write_text("garbage\n")
    else:
        special(kind, root / rel)
    return root


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
@pytest.mark.parametrize("source", list(SENSOR_FILES))
def test_devices_with_a_sensor_file_that_is_no_file(source, kind, tmp_path, cli):
    tree, rel = SENSOR_FILES[source]
    root = _broken_tree(tmp_path, tree, rel, kind)
    r = cli("devices", "--json", env={"EDGEPERF_SYSFS_ROOT": str(root)})
    assert r.code == 0 and "Traceback" not in r.err, r.err
    s = json.loads(r.out)["power_sources"][source]
    reason = s.get("reason", "")
    assert Path(rel).name in reason and "not a sensor file" in reason, s
    assert s["rails"] == [] or not s["available"] or rel not in str(s["rails"])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_devices_with_proc_cpuinfo_that_is_no_file(kind, tmp_path, cli):
    root = _broken_tree(tmp_path, X86, "proc/cpuinfo", kind)
    r = cli("devices", "--json", env={"EDGEPERF_SYSFS_ROOT": str(root)})
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert json.loads(r.out)["power_sources"]["rapl"]["available"]  # the rest of the machine is still read


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["fifo", "directory", "device", "garbage"])
def test_profile_asking_for_rapl_whose_only_counter_is_broken_is_exit_3(kind, example_onnx, tmp_path, bad):
    root = tmp_path / "tree"
    shutil.copytree(X86, root)
    for d in ("intel-rapl:0:0", "intel-rapl:1"):  # leave one package, then break its counter
        shutil.rmtree(root / "sys/class/powercap" / d)
    rel = "sys/class/powercap/intel-rapl:0/energy_uj"
    (root / rel).unlink()
    (root / rel).write_text("garbage\n") if kind == "garbage" else special(kind, root / rel)
    args = ["profile", example_onnx, "-n", "10", "--duration", "0", "--power", "rapl", "--idle", "0"]
    r = bad(3, *args, env={"EDGEPERF_SYSFS_ROOT": str(root)})
    assert "--power rapl" in r.err and "energy_uj" in r.err


def test_the_payload_really_runs_when_unpickled(tmp_path, bad):
    """The control: the payloads do run when unpickled, through SB3's own loader too (--trust-pickle), so every
    "marker absent" check above can fail; without --trust-pickle a named .zip is read pickle-free and its payload
    stays inert."""
    m = tmp_path / "RAN"
    pickle.loads(pickle.dumps(Payload(m)))
    assert m.exists()
    m.unlink()
    pytest.importorskip("stable_baselines3")
    r = bad(2, "export", sb3_payload(tmp_path / "named.zip", m), "-o", tmp_path / "out.onnx")
    assert not m.exists() and "policy.pth is not a plain state_dict" in r.err
    r = bad(2, "export", sb3_payload(tmp_path / "named.zip", m), "-o", tmp_path / "out.onnx", "--trust-pickle")
    assert m.exists() and "only load files you trust" in r.err
