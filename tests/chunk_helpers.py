"""Chunk test artifacts: a broken artifact whose chunks come out in the wrong order (reversed in time)."""

from __future__ import annotations

from pathlib import Path


def reverse_chunks(src: Path, dst: Path) -> Path:
    """`src` with its action output [batch, H, A] reversed along H: action H-1 first."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    out = model.graph.output[0].name
    inner = f"{out}_in_order"
    for node in model.graph.node:
        node.output[:] = [inner if o == out else o for o in node.output]
    for name, value in (("rc_starts", [-1]), ("rc_ends", [-(2**62)]), ("rc_axes", [1]), ("rc_steps", [-1])):
        model.graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
    model.graph.node.append(helper.make_node("Slice", [inner, "rc_starts", "rc_ends", "rc_axes", "rc_steps"], [out]))
    onnx.save(model, str(dst))
    return dst
