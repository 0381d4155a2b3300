"""A corrected spec written back in the input's own format, and read again as the same spec."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

pytest.importorskip("mujoco")
pytest.importorskip("yaml")

import yaml

from edgeperf.domains.mujoco.formats import load
from edgeperf.domains.mujoco.formats.write import write
from tests.conftest import FIXTURES
from tests.domains.mujoco.test_specs import A1_XML, isaac_yaml

MJ = FIXTURES / "mujoco"
UNITREE = MJ / "unitree_rl_gym"


def _same(a, b, skip=("source", "format", "reference")):
    for f in dataclasses.fields(a):
        if f.name == "scene":
            assert a.scene.resolve() == b.scene.resolve()
        elif f.name not in skip:
            assert getattr(a, f.name) == getattr(b, f.name), f.name


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_edgeperf_format_round_trips(tmp_path, suffix):
    spec = load(MJ / "a1_trot.toml")
    out = tmp_path / f"fixed{suffix}"
    assert write(spec, spec, out) == "edgeperf"
    _same(load(out), spec)


def test_unitree_rl_gym_stays_a_unitree_rl_gym_config(tmp_path, monkeypatch):
    monkeypatch.delenv("LEGGED_GYM_ROOT_DIR", raising=False)
    root = tmp_path / "checkout"
    shutil.copytree(UNITREE, root)
    cfg = root / "deploy" / "deploy_mujoco" / "configs" / "a1.yaml"
    spec = load(cfg)
    terms = tuple(dataclasses.replace(t, scale=0.05) if t.name == "joint_vel" else t for t in spec.observation)
    fixed = spec.replace(observation=terms, kp=tuple(v * 2 for v in spec.kp))
    out = cfg.with_name("a1_fixed.yaml")
    assert write(fixed, spec, out) == "unitree_rl_gym"
    data = yaml.safe_load(out.read_text())
    assert data["dof_vel_scale"] == 0.05 and data["kps"][0] == spec.kp[0] * 2
    assert data["xml_path"] == yaml.safe_load(cfg.read_text())["xml_path"]  # its own keys, placeholder and all
    _same(load(out), fixed)


def test_a_change_unitree_rl_gym_cannot_say_is_written_as_edgeperf(tmp_path, monkeypatch):
    monkeypatch.delenv("LEGGED_GYM_ROOT_DIR", raising=False)
    cfg = UNITREE / "deploy" / "deploy_mujoco" / "configs" / "a1.yaml"
    spec = load(cfg)
    fixed = spec.replace(joints=spec.joints[3:6] + spec.joints[:3] + spec.joints[6:])
    out = tmp_path / "fixed.yaml"
    written = write(fixed, spec, out)
    assert written.startswith("edgeperf") and "cannot change joints" in written
    _same(load(out), fixed)


def test_isaaclab_deploy_yaml_keeps_its_orders(tmp_path):
    spec = load(isaac_yaml(tmp_path), scene=str(A1_XML))
    ids = list(spec.joints)
    swapped = tuple(ids[3:6] + ids[:3] + ids[6:])
    terms = tuple(dataclasses.replace(t, scale=0.25) if t.name == "base_ang_vel" else t for t in spec.observation)
    fixed = spec.replace(joints=swapped, observation=terms)
    out = tmp_path / "fixed_deploy.yaml"
    assert write(fixed, spec, out) == "isaaclab"
    again = load(out, scene=str(spec.scene))
    _same(again, fixed, skip=("source", "format", "reference", "scene"))
