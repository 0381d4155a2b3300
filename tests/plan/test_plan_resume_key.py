"""A rerun resumes only what still holds: a policy retrained in place (same path, new bytes) is exported and
validated again, never answered with the old policy's steps."""

from __future__ import annotations

import pytest

from edgeperf.planner import steps as st


class Recording:
    """Records the jobs it is given and fails each (the plan then ends after its exports)."""

    def __init__(self):
        self.ran: list = []

    def run(self, todo, output):
        for j in todo:
            self.ran.append(j)
            yield {"id": j.id, "ok": False, "error": "not run here"}


def _export_ids(source, out) -> list[str]:
    from edgeperf.planner import plan

    ex = Recording()
    done = plan(str(source), out, domain="quadruped/trot", candidates="precisions=fp32 backends=onnxruntime "
                "threads=1", episodes=2, duration=1.0, executor=ex)  # fmt: skip
    assert done.recommendation is None
    return [j.id for j in ex.ran if j.params["step"] == "export"]


def test_a_policy_changed_in_place_is_exported_again(tmp_path):
    src = tmp_path / "policy.onnx"
    src.write_bytes(b"the first policy")
    first = _export_ids(src, tmp_path / "plan")
    src.write_bytes(b"the policy retrained")
    again = _export_ids(src, tmp_path / "plan")
    assert first and again and first != again


def test_the_digest_is_the_files_and_none_for_a_pseudo_source(tmp_path):
    src = tmp_path / "policy.onnx"
    src.write_bytes(b"one")
    a = st.source_digest(str(src))
    src.write_bytes(b"two")
    assert a and st.source_digest(str(src)) not in (None, a)
    assert st.source_digest("reference:quadruped/trot") is None


def test_stress_past_what_profile_takes_is_refused_before_the_exports(tmp_path):
    from edgeperf.config.profile import usable_cores
    from edgeperf.errors import BadInput
    from edgeperf.planner import plan

    ex = Recording()
    with pytest.raises(BadInput, match="--stress"):
        plan("reference:quadruped/trot", tmp_path / "p", domain="quadruped/trot", stress=usable_cores() + 1,
             candidates="precisions=fp32 backends=onnxruntime threads=1", executor=ex)  # fmt: skip
    assert ex.ran == [] and not (tmp_path / "p").exists()
