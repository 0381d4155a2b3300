"""YAML read as data, never as objects.

PyYAML's SafeLoader already refuses `!!python/object`; here every tag it does not know (`!!python/tuple`,
`!!python/object/apply:...`, a custom `!Foo`) is read as the plain mapping, list or string under it: nothing is
constructed and nothing runs, whatever the file says. Aliases are read as shared values (no expansion), and the
file size is capped by the caller.
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.errors import BadInput, require

yaml = require("yaml", "mujoco", "to read YAML deploy files", package="pyyaml")


class _DataLoader(yaml.SafeLoader):
    pass


def _plain(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_DataLoader.add_multi_constructor("", _plain)
_DataLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)


def load_yaml(text: str, path: Path):
    try:
        return yaml.load(text, Loader=_DataLoader)  # a SafeLoader whose unknown tags become plain data
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{path}: not valid YAML{line} ({problem})") from None
    except RecursionError:
        raise BadInput(f"{path}: YAML nested too deep to be a deploy spec") from None
