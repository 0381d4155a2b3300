"""Bad arguments to `edgeperf generalize`: one line, exit 2, before any episode runs."""

from __future__ import annotations

import pytest

pytest.importorskip("gymnasium")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--domains", "gym:Pendulum-v1,gym:Pendulum-v1"], "given twice"),
        (["--domains", ","], "give one or more domain ids"),
        (["--domains", "quadruped/trott"], "did you mean 'quadruped/trot'"),
        (["--domains", "gym:Pendulum-v1", "--reference", "gym:CartPole-v1=x.onnx"], "not in --domains"),
        (["--domains", "gym:Pendulum-v1", "--reference", "nonsense"], "DOMAIN=SOURCE"),
        (["--domains", "gym:Pendulum-v1", "--checkpoint", "3/10"], "--checkpoint needs --training"),
        (["--domains", "gym:Pendulum-v1", "--samples", "10"], "go together"),
        (["--domains", "gym:Pendulum-v1", "-n", "1"], "--episodes must be from 2"),
    ],
)
def test_bad_arguments(bad, args, says):
    assert says in bad(2, "generalize", "reference:gym:Pendulum-v1", *args).err


def test_a_task_the_policy_does_not_fit(bad):
    # The Pendulum policy takes 3 observations; CartPole gives 4.
    r = bad(2, "generalize", "reference:gym:Pendulum-v1", "--domains", "gym:Pendulum-v1,gym:CartPole-v1")
    assert "shape" in r.err


def test_bad_checkpoint_and_training_report(tmp_path, bad):
    (tmp_path / "t.json").write_text("{}")
    args = ["generalize", "reference:gym:Pendulum-v1", "--domains", "gym:Pendulum-v1"]
    assert "give k/K" in bad(2, *args, "--training", tmp_path / "t.json", "--checkpoint", "three").err
    assert "not an edgeperf report" in bad(2, *args, "--training", tmp_path / "t.json", "--checkpoint", "1/2").err
