"""Deploy spec formats, told apart by their keys: each module reads one format into a DeploySpec.

| format          | file                                  | keys that tell it                                   |
|-----------------|---------------------------------------|-----------------------------------------------------|
| edgeperf        | .toml / .yaml                         | schema = "edgeperf.deploy/1"                        |
| unitree_rl_gym  | deploy/deploy_mujoco/configs/*.yaml   | xml_path, kps, kds, default_angles, num_obs         |
| isaaclab        | params/deploy.yaml (unitree_rl_lab)   | joint_ids_map, step_dt, actions, observations       |
| mjlab           | the policy's .onnx (metadata_props)   | joint_names, default_joint_pos, observation_names   |
"""

from __future__ import annotations

import math
from pathlib import Path

from edgeperf.domains.mujoco.formats import edgeperf_format, isaaclab, mjlab, unitree_rl_gym
from edgeperf.domains.mujoco.spec import DeploySpec
from edgeperf.errors import BadInput
from edgeperf.results.io import read_document

MAX_BYTES = 4 * 1024 * 1024  # a deploy spec is a few KB; anything this large is not one
MAX_DEPTH = 32  # a deploy spec nests a few levels (observations -> term -> params)
FORMATS = (edgeperf_format, unitree_rl_gym, isaaclab, mjlab)


def load(path: str | Path, scene: str | None = None) -> DeploySpec:
    """The DeploySpec in `path`, whatever its format; `scene` overrides (or supplies) the MJCF it names."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":  # a policy that carries its contract (mjlab's exporter writes it)
        if not path.is_file():
            raise BadInput(f"deploy spec {path} does not exist" if not path.exists() else f"{path} is not a file")
        data = mjlab.read_onnx_metadata(path)
        if not mjlab.recognises(data):
            raise BadInput(
                f"{path}: this ONNX carries no deploy metadata (mjlab's {', '.join(mjlab.KEYS)}); "
                "give a deploy spec file instead"
            )
    else:
        data = read_mapping(path)
    for fmt in FORMATS:
        if fmt.recognises(data):
            spec = fmt.read(data, path, Path(scene) if scene else None)
            return spec.check()
    known = "; ".join(f"{f.NAME} ({', '.join(f.KEYS)})" for f in FORMATS)
    raise BadInput(
        f"{path}: not a deploy spec format edgeperf knows (its keys: {', '.join(sorted(map(str, data))[:12])}). "
        f"Known formats, by their keys: {known}"
    )


def read_mapping(path: Path) -> dict:
    """A TOML or YAML deploy file's mapping, read by results.io.read_document: a regular file of at most
    MAX_BYTES, UTF-8, nested at most 32 deep (a value under a YAML alias counted once), a mapping at the top."""
    if path.suffix.lower() == ".toml":
        data = read_document(path, "deploy spec", max_bytes=MAX_BYTES, fmt="toml", max_depth=MAX_DEPTH)
    else:
        from edgeperf.domains.mujoco.formats.yamlfile import load_yaml

        data = read_document(
            path, "deploy spec", max_bytes=MAX_BYTES, parse=lambda text: load_yaml(text, path), max_depth=MAX_DEPTH
        )
    _check_finite(data, path, "", set())
    return data


def _check_finite(value, path: Path, where: str, seen: set[int]) -> None:
    """NaN or inf anywhere in a spec is refused with its key (YAML spells them .nan and .inf). A value shared by
    YAML aliases is looked at once (a "billion laughs" file would be walked 10^9 times); the nesting is bounded."""
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput(f"{path}: {where or 'a value'} is {value}; a deploy spec holds finite numbers only")
    if isinstance(value, (dict, list)):
        if id(value) in seen:
            return
        seen.add(id(value))
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, path, f"{where}.{k}" if where else str(k), seen)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, path, f"{where}[{i}]", seen)
