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

MAX_BYTES = 4 * 1024 * 1024  # a deploy spec is a few KB; anything this large is not one
FORMATS = (edgeperf_format, unitree_rl_gym, isaaclab, mjlab)


def load(path: str | Path, scene: str | None = None) -> DeploySpec:
    """The DeploySpec in `path`, whatever its format; `scene` overrides (or supplies) the MJCF it names."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"deploy spec {path} does not exist" if not path.exists() else f"{path} is not a file")
    if path.suffix.lower() == ".onnx":  # a policy that carries its contract (mjlab's exporter writes it)
        data = mjlab.read_onnx_metadata(path)
        if not mjlab.recognises(data):
            raise BadInput(
                f"{path}: this ONNX carries no deploy metadata (mjlab's {', '.join(mjlab.KEYS)}); "
                "give a deploy spec file instead"
            )
    elif path.stat().st_size > MAX_BYTES:
        raise BadInput(f"{path} is {path.stat().st_size / 2**20:.0f} MiB: too large for a deploy spec")
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
    text = _text(path)
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BadInput(f"{path}: not valid TOML ({exc})") from None
    else:
        from edgeperf.domains.mujoco.formats.yamlfile import load_yaml

        data = load_yaml(text, path)
    if not isinstance(data, dict):
        raise BadInput(f"{path}: a deploy spec is a mapping of keys, this file holds a {type(data).__name__}")
    _check_finite(data, path, "")
    return data


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text: is it a deploy spec?") from None
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None


def _check_finite(value, path: Path, where: str, depth: int = 0) -> None:
    """NaN or inf anywhere in a spec is refused with its key (YAML spells them .nan and .inf)."""
    if depth > 32:
        raise BadInput(f"{path}: nested deeper than 32 levels at {where}: not a deploy spec")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput(f"{path}: {where or 'a value'} is {value}; a deploy spec holds finite numbers only")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, path, f"{where}.{k}" if where else str(k), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, path, f"{where}[{i}]", depth + 1)
