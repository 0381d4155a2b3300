"""Recurrent test artifacts: factory modules with an LSTM/GRU, an rsl_rl-form TorchScript file, and a broken
artifact whose state is reset every step (its state inputs multiplied by zero inside the graph)."""

from __future__ import annotations

from pathlib import Path

NETS = '''
import torch


class GRUPolicy(torch.nn.Module):
    def __init__(self, obs_dim=4, hidden=16, act_dim=2):
        super().__init__()
        self.gru = torch.nn.GRU(obs_dim, hidden)
        self.head = torch.nn.Linear(hidden, act_dim)

    def forward(self, obs, state):
        y, h = self.gru(obs.unsqueeze(0), state)
        return torch.tanh(self.head(y.squeeze(0))), h


class LSTMPolicy(torch.nn.Module):
    def __init__(self, obs_dim=4, hidden=16, act_dim=2):
        super().__init__()
        self.enc = torch.nn.Linear(obs_dim, 8)
        self.lstm = torch.nn.LSTM(8, hidden, num_layers=2)
        self.head = torch.nn.Linear(hidden, act_dim)

    def forward(self, obs, state):
        y, (h, c) = self.lstm(torch.relu(self.enc(obs)).unsqueeze(0), state)
        return self.head(y.squeeze(0)), (h, c)


class RslRlForm(torch.nn.Module):
    """What rsl_rl's exporter writes for an LSTM actor: memory in buffers, reset_memory()."""

    def __init__(self, obs_dim=4, hidden=16, act_dim=2):
        super().__init__()
        self.rnn = torch.nn.LSTM(obs_dim, hidden, num_layers=2)
        self.actor = torch.nn.Sequential(torch.nn.Linear(hidden, 32), torch.nn.ELU(), torch.nn.Linear(32, act_dim))
        self.normalizer = torch.nn.Identity()
        self.register_buffer("hidden_state", torch.zeros(2, 1, hidden))
        self.register_buffer("cell_state", torch.zeros(2, 1, hidden))

    def forward(self, x):
        x = self.normalizer(x)
        y, (h, c) = self.rnn(x.unsqueeze(0), (self.hidden_state, self.cell_state))
        self.hidden_state[:] = h
        self.cell_state[:] = c
        return self.actor(y.squeeze(0))

    @torch.jit.export
    def reset(self):
        pass

    @torch.jit.export
    def reset_memory(self):
        self.hidden_state[:] = 0.0
        self.cell_state[:] = 0.0


def gru():
    torch.manual_seed(0)
    return GRUPolicy()


def lstm():
    torch.manual_seed(0)
    return LSTMPolicy()


def rsl():
    torch.manual_seed(0)
    return RslRlForm()
'''


def write_nets(folder: Path) -> Path:
    path = folder / "recnets.py"
    path.write_text(NETS)
    return path


def rsl_torchscript(folder: Path) -> Path:
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("recnets_rsl", write_nets(folder))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = folder / "policy_lstm.pt"
    torch.jit.script(mod.rsl()).save(str(path))
    return path


def forget_state(src: Path, dst: Path, strip_metadata: bool = False) -> Path:
    """`src` with every state input multiplied by 0 before use: the state is reset at every step, as when a
    deployment ignores the state outputs. Its metadata still says it is recurrent (or none with strip_metadata)."""
    import json

    import onnx
    from onnx import helper

    model = onnx.load(str(src))
    meta = {p.key: p.value for p in model.metadata_props}
    states = [s["input"] for s in json.loads(meta["edgeperf.state"])]
    zero = helper.make_tensor("edgeperf_test_zero", onnx.TensorProto.FLOAT, [], [0.0])
    model.graph.initializer.append(zero)
    nodes = []
    for name in states:
        for node in model.graph.node:
            node.input[:] = [f"{name}_forgotten" if i == name else i for i in node.input]
        nodes.append(helper.make_node("Mul", [name, "edgeperf_test_zero"], [f"{name}_forgotten"]))
    for k, node in enumerate(nodes):
        model.graph.node.insert(k, node)
    if strip_metadata:
        del model.metadata_props[:]
    onnx.save(model, str(dst))
    return dst
