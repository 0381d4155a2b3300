"""Third-party domains by `MODULE:ID` (as gymnasium's make("pkg.module:Env-v0")), re-registration warnings, and
the success contract: an env that never reports info['success'] has no success criterion, it is not 0%."""

import numpy as np
import pytest

from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.validation.paired import validate
from tests.plugins import plugin_module

pytest.importorskip("gymnasium")
onnx = pytest.importorskip("onnx")

PLUGIN = "edgeperf_test_drift"
SOURCE = '''
import gymnasium as gym
import numpy as np

from edgeperf.domains.base import Domain, register


class Drift(gym.Env):
    """A point on a line pushed by noise; the action moves it. Reward -x^2 for 40 steps."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, judged):
        self.judged = judged

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.x = 0, float(self.np_random.uniform(-1, 1))
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x += 0.2 * float(np.clip(action[0], -1, 1)) + 0.05 * float(self.np_random.normal())
        self.t += 1
        done = self.t >= 40
        info = {"success": abs(self.x) < 0.3} if done and self.judged else {}
        return np.array([self.x], np.float32), -self.x**2, False, done, info


def domain(domain_id):
    def make_env(seed, **options):
        env = Drift(judged=domain_id == "drift-judged")
        env.reset(seed=seed)
        return env

    return Domain(id=domain_id, description="drift", make_env=make_env, control_hz=10.0, equivalence_margin=0.5)


register("drift", f"{__name__}:domain")
register("drift-judged", f"{__name__}:domain")
'''


def _gain_onnx(path, gain: float):
    """action = gain * obs, as an ONNX model with a dynamic batch."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Mul", ["obs", "k"], ["action"])],
        "gain",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["b", 1])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["b", 1])],
        [numpy_helper.from_array(np.array([gain], np.float32), "k")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """A third-party module that registers two domains on import, importable here and in spawned workers."""
    with plugin_module(tmp_path_factory.mktemp("plugin"), PLUGIN, SOURCE, domains=("drift", "drift-judged")) as root:
        yield root


@pytest.fixture(scope="module")
def policies(tmp_path_factory):
    d = tmp_path_factory.mktemp("gain")
    return {
        "reference": _gain_onnx(d / "ref.onnx", -2.0),
        "same": _gain_onnx(d / "same.onnx", -2.0),
        "wrong": _gain_onnx(d / "wrong.onnx", 2.0),  # pushes the point away
        "nan": _gain_onnx(d / "nan.onnx", float("nan")),
    }


def test_a_module_id_imports_the_module_that_registers_it(plugin):
    d = base.make(f"{PLUGIN}:drift")
    assert d.id == f"{PLUGIN}:drift"  # the id a worker process can make again
    assert d.control_hz == 10.0 and d.env(3).observation_space.shape == (1,)


@pytest.mark.parametrize(
    ("domain_id", "message"),
    [
        ("edgeperf_no_such_plugin:drift", "cannot import edgeperf_no_such_plugin"),
        (f"{PLUGIN}:drfit", f"{PLUGIN} registers no domain 'drfit'; did you mean 'drift'?"),
        (":drift", "give MODULE:ID"),
    ],
)
def test_bad_module_ids(plugin, domain_id, message):
    with pytest.raises(BadInput, match=message.replace("?", r"\?")):
        base.make(domain_id)


def test_a_plugin_whose_import_fails_is_named(tmp_path, monkeypatch):
    (tmp_path / "edgeperf_broken_plugin.py").write_text("raise RuntimeError('needs a licence key')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BadInput, match="importing edgeperf_broken_plugin failed: RuntimeError: needs a licence key"):
        base.make("edgeperf_broken_plugin:x")


def test_registering_an_id_twice_warns(monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", {})
    base.register("toy", "a:b")
    with pytest.warns(UserWarning, match="domain 'toy' is registered again: c:d replaces a:b"):
        base.register("toy", "c:d")
    assert base._REGISTRY["toy"] == "c:d"


def test_a_family_of_ids_is_built_by_its_entry_point_and_a_registered_id_wins(monkeypatch):
    """Families ("gym:", "mujoco:") are entry-point strings like single ids, so base.py imports no domain."""
    base.make("pendulum/chunks")  # the built-in registrations are in
    monkeypatch.setitem(base._FAMILIES, "pend:", "edgeperf.domains.pendulum:chunks")
    assert base.make("pend:x").id == "pend:x"  # called with the whole id
    monkeypatch.setitem(base._FAMILIES, "pendulum/", "no_such_module:f")
    assert base.make("pendulum/chunks").id == "pendulum/chunks"  # registered one by one: the family is not asked
    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        base.make("pendulum/other")  # not registered: the family's entry point is called


def test_no_success_criterion_is_said_not_scored_zero(plugin, policies):
    """Before: 0% vs 0% success, 'equivalent' on a success rate nobody measured. Now: absent, with the reason."""
    r = validate(policies["same"], f"{PLUGIN}:drift", reference=str(policies["reference"]), episodes=6, workers=1)
    res = r.results
    assert "success_rate" not in res["reference"] and "success_rate" not in res["deployed"]
    assert "no success criterion" in r.unmeasured["success"]
    assert any("verdict rests on returns only" in w for w in r.warnings)
    p = res["paired"]
    assert p["verdict"] == "equivalent" and p["basis"].startswith("returns only")
    assert "success_mcnemar_p" not in p


def test_returns_alone_still_find_a_wrong_policy(plugin, policies):
    r = validate(policies["wrong"], f"{PLUGIN}:drift", reference=str(policies["reference"]), episodes=4, workers=1)
    assert r.results["paired"]["verdict"] == "different"


def test_a_judged_plugin_domain_reports_success_through_workers(plugin, policies):
    """Two spawned workers make `MODULE:ID` again (the plugin is imported there too)."""
    r = validate(
        policies["same"], f"{PLUGIN}:drift-judged", reference=str(policies["reference"]), episodes=4, workers=2
    )
    res = r.results
    assert res["workers"] == 2 and res["domain"]["id"] == f"{PLUGIN}:drift-judged"
    assert 0 <= res["reference"]["success_rate"] <= 1 and "success" not in r.unmeasured
    assert res["paired"]["basis"] == "returns and successes" and res["paired"]["verdict"] == "equivalent"


def test_a_nan_reference_is_blamed_not_the_deployed_policy(plugin, policies):
    with pytest.raises(BadInput, match=r"the reference policy .*nan.onnx is broken: non-finite actions"):
        validate(policies["same"], f"{PLUGIN}:drift", reference=str(policies["nan"]), episodes=3, workers=1)


def test_a_nan_deployed_policy_is_different(plugin, policies):
    r = validate(policies["nan"], f"{PLUGIN}:drift", reference=str(policies["reference"]), episodes=3, workers=1)
    assert r.results["paired"]["verdict"] == "different"
    assert r.results["paired"]["deployed_nonfinite_episodes"] == 3
