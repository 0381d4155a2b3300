"""Bad input to `edgeperf serve` and `edgeperf link`: one line, the documented exit code, no traceback, and no
server left listening."""

import socket

import pytest

TOKEN = "a-shared-token-of-some-length-0123456789"


@pytest.fixture
def token(tmp_path):
    def make(text=TOKEN, mode=0o600, name="token"):
        p = tmp_path / name
        p.write_text(text)
        p.chmod(mode)
        return p

    return make


@pytest.fixture
def busy_port():
    with socket.create_server(("127.0.0.1", 0)) as s:
        yield s.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--bind", "0.0.0.0:7007"], "needs a shared token"),
        (["--bind", "192.168.1.20:7007"], "needs a shared token"),
        (["--bind", "robot.local:7007"], "needs a shared token"),
        (["--bind", "127.0.0.1:99999"], "is not an address"),
        (["--bind", "127.0.0.1:port"], "is not an address"),
        (["--bind", "*:7007"], "is not an address"),
        (["--bind", "127.0.0.1:-1"], "is not an address"),
        (["--max-frame", "10"], "smaller than one frame header"),
        (["--backend", "cobol"], "unknown backend 'cobol'"),
        (["--accelerator", "abacus"], "unknown onnxruntime device 'abacus'"),
    ],
)
def test_serve_arguments(bad, example_onnx, args, words):
    r = bad(2, "serve", example_onnx, *args)
    assert words in r.err


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda t, d: d / "nothing", "does not exist"),
        (lambda t, d: t(mode=0o644), "readable by others (mode 0644)"),
        (lambda t, d: t(mode=0o604), "readable by others (mode 0604)"),
        (lambda t, d: t(mode=0o640), "chmod 600"),
        (lambda t, d: t(text=""), "is empty"),
        (lambda t, d: t(text="  \n"), "is empty"),
        (lambda t, d: t(text="short"), "fewer than 16"),
        (lambda t, d: d, "it is a directory"),
    ],
)
def test_token_files(bad, example_onnx, token, tmp_path, make, words):
    r = bad(2, "serve", example_onnx, "--bind", "0.0.0.0:0", "--token-file", make(token, tmp_path))
    assert words in r.err


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("missing.onnx", "does not exist"),
        ("notes.txt", "cannot tell the format"),
        ("garbage.onnx", "not a valid ONNX model"),
        ("reference:quadruped/trot", "is a policy source, not an artifact"),
        ("", "directory"),
    ],
)
def test_serve_models(bad, tmp_path, model, words):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "garbage.onnx").write_bytes(b"\0garbage")
    target = model if model.startswith("reference:") else tmp_path / model
    r = bad(2, "serve", target, "--bind", "127.0.0.1:0")
    assert words in r.err


def test_serve_port_in_use(bad, example_onnx, busy_port):
    r = bad(2, "serve", example_onnx, "--bind", f"127.0.0.1:{busy_port}")
    assert f"port {busy_port} is in use" in r.err


def test_serve_port_in_use_in_a_fresh_process(bad_proc, example_onnx, busy_port):
    r = bad_proc(2, "serve", example_onnx, "--bind", f"127.0.0.1:{busy_port}")
    assert "is in use" in r.stderr and r.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--listen", "127.0.0.1:x", "--forward", "127.0.0.1:7007"], "--listen '127.0.0.1:x' is not an address"),
        (["--listen", "127.0.0.1:0", "--forward", "nowhere"], "--forward 'nowhere' is not an address"),
        (["--listen", "127.0.0.1:0", "--forward", "127.0.0.1:7007", "--delay", "-5"], "--delay -5"),
        (["--listen", "127.0.0.1:0", "--forward", "127.0.0.1:7007", "--jitter", "-1"], "--jitter -1"),
        (["--listen", "127.0.0.1:0", "--forward", "127.0.0.1:7007", "--loss", "150"], "--loss 150"),
        (["--listen", "127.0.0.1:0", "--forward", "127.0.0.1:7007", "--rto", "1e9"], "--rto 1e+09"),
        (["--listen", "127.0.0.1:0", "--forward", "127.0.0.1:7007", "--duration", "0"], "--duration 0"),
        (["--forward", "127.0.0.1:7007"], "Missing option '--listen'"),
        (["--listen", "0.0.0.0:0", "--forward", "127.0.0.1:7007"], "listens on loopback unless --allow-remote"),
        (["--listen", "127.0.0.1:0", "--forward", "127.0.0.1:0"], "--forward '127.0.0.1:0' is not an address"),
        (["--listen", "127.0.0.1:0", "--forward", "127.0.0.1:7007", "--duration", "1e20"], "at most a week"),
        (["--listen", "127.0.0.1:7311", "--forward", "localhost:7311"], "it would forward to itself"),
    ],
)
def test_link_arguments(bad, args, words):
    r = bad(2, "link", *args)
    assert words in r.err


def test_link_listen_port_in_use(bad, busy_port):
    r = bad(2, "link", "--listen", f"127.0.0.1:{busy_port}", "--forward", "127.0.0.1:7007", "--duration", "1")
    assert "cannot listen there" in r.err
