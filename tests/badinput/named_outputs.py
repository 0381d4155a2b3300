"""TorchScript policies whose outputs have names of their own (a dict, a namedtuple), and one whose outputs are not
all tensors, for tests/badinput/test_messages.py. No `from __future__ import annotations` here: TorchScript reads
the NamedTuple's field types, and postponed annotations hide them from it."""

from pathlib import Path
from typing import NamedTuple

import torch


class Out(NamedTuple):
    mu: torch.Tensor
    value: torch.Tensor


class ByName(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)

    def forward(self, obs):
        return {"mu": self.lin(obs), "value": 2 * self.lin(obs)}


class Fields(ByName):
    def forward(self, obs) -> Out:
        return Out(self.lin(obs), 2 * self.lin(obs))


class Nested(ByName):
    def forward(self, obs):
        return self.lin(obs), (self.lin(obs), self.lin(obs))


def save(folder: Path) -> dict[str, Path]:
    paths = {}
    for name, cls in (("dict", ByName), ("namedtuple", Fields), ("nested", Nested)):
        paths[name] = folder / f"{name}.pt"
        torch.jit.save(torch.jit.script(cls()), str(paths[name]))
    return paths
