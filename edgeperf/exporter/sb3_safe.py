"""Stable-Baselines3 .zip policies without running their pickles.

An SB3 zip holds `data` (JSON: SB3's `data_to_json` writes every attribute it can as JSON and the rest as a
cloudpickle blob *beside* readable fields: a space's class, dtype, shape, low and high; policy_kwargs' net_arch,
activation_fn as a string, log_std_init, n_quantiles...) and `policy.pth` (a plain state_dict, which
`torch.load(weights_only=True)` reads without unpickling code). The policy network is rebuilt from those two, no
`:serialized:` blob is ever decoded, and neither SB3 nor gym is imported: agents saved by gym-era SB3 1.x load the
same way.

The algorithm is read from the zip: the policy class's module (`stable_baselines3.sac.policies`,
`sb3_contrib.tqc.policies`, ...) and, for the actor-critic family whose policies share one module, the
hyperparameters each algorithm saves (PPO's clip_range, TRPO's cg_max_steps, A2C's neither). The deterministic
action, as SB3's `predict(deterministic=True)` computes it:

  PPO, A2C, TRPO      flatten -> mlp_extractor.policy_net (+ activation) -> action_net -> clip to the bounds
                      (tanh and unscale with gSDE's squash_output); Discrete: argmax of the logits
  SAC, TQC, CrossQ    flatten -> actor.latent_pi (CrossQ: with BatchRenorm in eval mode) -> actor.mu -> tanh ->
                      unscale to the bounds
  TD3, DDPG           flatten -> actor.mu (ends in tanh) -> unscale
  DQN                 flatten -> q_net.q_net -> argmax;   QR-DQN: quantile_net -> mean over quantiles -> argmax
  ARS                 flatten -> action_net (-> tanh and unscale when squashed, else clip); Discrete: argmax
  MaskablePPO         PPO's path, the logits of actions whose mask (a second input, `action_mask`, read from the
                      env's action_masks() in validation) is 0 set to -1e8 before the argmax
  RecurrentPPO        flatten -> lstm_actor (state (h, c) in and out, zeros at an episode start) -> PPO's path

Every tensor of policy.pth must find a home or belong to a part the action does not use (critics, target
networks, the value head, log-std); the shapes must agree with the JSON (net_arch, the spaces), and every
parameter of the rebuilt network is set from the file. CnnPolicy's NatureCNN is rebuilt from its kernels (its
strides are NatureCNN's own; images are scaled by 1/255 inside, as SB3's preprocessing does); MultiInputPolicy's
CombinedExtractor from the Dict space's readable str() of its Boxes, wrapped as the trusted path wraps SB3's own
policy (exporter/sb3_dict.py). What exists only as a pickle (a custom policy or features-extractor class, a Dict
of other spaces) stops with a message naming the field and `--trust-pickle`.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from edgeperf import spaces
from edgeperf.errors import BadInput, require
from edgeperf.exporter import recurrent, sb3_dict
from edgeperf.exporter.policy import PolicySource
from edgeperf.exporter.sb3_module import POST_NOTES, sb3_policy, vecnormalize_stats
from edgeperf.results.report import sha256_file
from edgeperf.runtime import obsdict

MAX_TOTAL = 2**30  # uncompressed bytes of the whole zip
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MiB: a zip bomb otherwise
MAX_DATA = 64 * 2**20
# policy class module -> algorithm; the shared actor-critic module is told apart by what each algorithm saves
MODULES = {
    "stable_baselines3.sac.policies": "SAC",
    "stable_baselines3.td3.policies": "TD3",
    "stable_baselines3.dqn.policies": "DQN",
    "sb3_contrib.tqc.policies": "TQC",
    "sb3_contrib.qrdqn.policies": "QRDQN",
    "sb3_contrib.ars.policies": "ARS",
    "sb3_contrib.crossq.policies": "CrossQ",
    "sb3_contrib.ppo_mask.policies": "MaskablePPO",
    "sb3_contrib.common.maskable.policies": "MaskablePPO",
    "sb3_contrib.ppo_recurrent.policies": "RecurrentPPO",
    "sb3_contrib.common.recurrent.policies": "RecurrentPPO",
}
ACTOR_CRITIC = ("stable_baselines3.common.policies", "stable_baselines3.ppo.policies", "stable_baselines3.a2c.policies")
BUILTIN_EXTRACTORS = tuple(
    f"<class 'stable_baselines3.common.torch_layers.{name}'>"
    for name in ("FlattenExtractor", "NatureCNN", "CombinedExtractor")
)
# Where each family keeps the features extractor its action path uses (the first that policy.pth holds)
EXTRACTORS = {
    "actor_critic": ("pi_features_extractor", "features_extractor"),
    "recurrent": ("pi_features_extractor", "features_extractor"),
    "sac": ("actor.features_extractor",),
    "td3": ("actor.features_extractor",),
    "dqn": ("q_net.features_extractor",),
    "qrdqn": ("quantile_net.features_extractor",),
    "ars": ("features_extractor",),
}
NATURE_CNN = ((8, 4), (4, 2), (3, 1))  # NatureCNN's (kernel, stride) per conv: the strides are not in policy.pth
ACTIVATIONS = ("ReLU", "Tanh", "ELU", "LeakyReLU", "SiLU", "GELU", "Sigmoid", "Softplus", "Mish", "SELU", "Identity")
# What the deterministic action does not use, per algorithm family (prefixes of policy.pth keys)
UNUSED = {
    "actor_critic": (
        "mlp_extractor.value_net.",
        "value_net.",
        "log_std",
        "vf_features_extractor.",
        "features_extractor.",
        "pi_features_extractor.",
    ),
    "sac": ("actor.log_std", "critic.", "critic_target.", "actor.features_extractor.", "critic.features_extractor."),
    "td3": ("actor_target.", "critic.", "critic_target.", "actor.features_extractor."),
    "dqn": ("q_net_target.", "q_net.features_extractor."),
    "qrdqn": ("quantile_net_target.", "quantile_net.features_extractor."),
    "ars": ("features_extractor.",),
    # RecurrentPPO: the critic's own LSTM (enable_critic_lstm) or its linear stand-in (neither shared nor own)
    "recurrent": (
        "mlp_extractor.value_net.",
        "value_net.",
        "log_std",
        "features_extractor.",
        "pi_features_extractor.",
        "vf_features_extractor.",
        "lstm_critic.",
        "critic.",
    ),
}


FAMILY = {"PPO": "actor_critic", "A2C": "actor_critic", "TRPO": "actor_critic", "SAC": "sac", "TQC": "sac",
          "CrossQ": "sac", "TD3": "td3", "DDPG": "td3", "DQN": "dqn", "QRDQN": "qrdqn", "ARS": "ars",
          "RecurrentPPO": "recurrent", "MaskablePPO": "actor_critic"}  # fmt: skip


def load(path: Path, obs_shape, vecnormalize: str | None, raw_obs_space: spaces.DictSpace | None = None):
    """The PolicySource of an SB3 zip, rebuilt without unpickling anything. `raw_obs_space`: the --domain's
    Dict space, which says the raw layout of a Dict policy's images."""

    torch = require("torch", "export", "to export policies")
    data, state, version = read_zip(path)
    finite_state(state, path)
    algo = algorithm(data, path)
    if _type(data.get("observation_space")).endswith("spaces.dict.Dict'>"):
        return _dict_source(torch, path, data, state, version, algo, obs_shape, vecnormalize, raw_obs_space)
    obs = box_of(data, "observation_space", path)
    act = action_space_of(data, path)
    shape = obs.shape
    if obs_shape and tuple(obs_shape) != shape:
        raise BadInput(f"{path} takes observations of shape {list(shape)} (its observation space), not --obs-shape "
                       f"{list(obs_shape)}")  # fmt: skip
    kwargs = policy_kwargs(data, path)
    features, n_features, used = _extractor(torch, state, FAMILY[algo], shape, path)
    scale_images = is_image(obs) and bool(kwargs.get("normalize_images", True))
    lstm = None
    if algo == "RecurrentPPO":
        lstm, lstm_used = _lstm(torch, state, kwargs, n_features, path)
        used |= lstm_used
    latent = lstm.hidden_size if lstm is not None else n_features  # what the MLP takes
    core, post, tanh, core_used = build_core(torch, algo, state, kwargs, data, (latent,), act, path,
                                             features=None if lstm is not None else features)  # fmt: skip
    used |= core_used
    _check_homes(state, used, algo, path)
    norm, notes = None, []
    if vecnormalize:
        norm, notes = vecnormalize_stats(vecnormalize, shape)
    bounds = act  # sb3_module.sb3_policy reads low/high (a Box) or start (a Discrete)
    notes.insert(0, f"{path.name} was read without unpickling: the network rebuilt from its JSON and state_dict")
    details = {"algorithm": algo, "loaded": "pickle-free", "post_processing": POST_NOTES[post], "sb3_version": version}
    if vecnormalize:
        details["vecnormalize"] = str(vecnormalize)
    common = dict(sha256=sha256_file(path), obs_space=obs, action_space=act, normalization=norm, notes=notes)
    if lstm is not None:
        pre = sb3_policy(torch, features, norm, scale_images, False, "none", bounds)
        head = sb3_policy(torch, core, None, False, tanh, post, bounds)
        policy = _LSTMPolicy(torch, pre, lstm, head, discrete=post == "argmax").eval()
        _check_all_set(policy, used)
        return _recurrent_source(policy, path, shape, post, common, details)
    module = sb3_policy(torch, core, norm, scale_images, tanh, post, bounds).eval()
    _check_all_set(module, used)
    if algo == "MaskablePPO":
        module = _masked(torch, module, path, obs, act, post, common, details)

    def reference(x) -> np.ndarray:
        with torch.no_grad():
            if isinstance(x, dict):
                out = module(*(torch.as_tensor(np.asarray(x[k], np.float32)) for k in ("obs", obsdict.ACTION_MASK)))
            else:
                out = module(torch.as_tensor(np.asarray(x, np.float32)))
        return (out[0] if post == "argmax" else out).numpy()

    return PolicySource(
        module,
        "sb3",
        str(path),
        shape,
        **common,
        details=details,
        discrete=post == "argmax",
        action_shape=act.shape if isinstance(act, spaces.Box) else (),
        reference=reference,
    )


def _recurrent_source(policy, path: Path, shape, post: str, common: dict, details: dict):
    """RecurrentPPO: its one-step module in the explicit-state form exporter/recurrent.py exports."""

    step, rec, action_shape = recurrent.from_factory(policy, shape, path.name)
    rec.form = (
        "RecurrentPPO's actor LSTM (lstm_actor), state (h, c) carried between steps and zeroed at an episode start, "
        "as SB3's episode_starts does"
    )
    if post == "argmax":
        details["post_processing"] += "; the action index is the only action output (no logits)"
    return PolicySource(
        step, "sb3", str(path), shape, **common, details=details, action_shape=action_shape, recurrent=rec
    )


def _masked(torch, module, path: Path, obs: spaces.Box, act: spaces.Space, post: str, common: dict, details: dict):
    """MaskablePPO: the policy with the action mask as its second input, and the Dict space of both inputs."""
    if post != "argmax":
        raise BadInput(f"{path}: a MaskablePPO agent with a {act.kind} action space; edgeperf exports Discrete")
    common["obs_space"] = spaces.dict_space({"obs": obs, obsdict.ACTION_MASK: spaces.box(0.0, 1.0, (act.n,))})
    details["post_processing"] = (
        f"the chosen action is the argmax of the logits, those of actions whose {obsdict.ACTION_MASK} value is 0 set "
        f"to {MASKED_LOGIT:g} first (MaskablePPO's own masking; a mask of all ones is no mask); the logits are the "
        "second output"
    )
    return _MaskedPolicy(torch, module).eval()


# --- the zip ------------------------------------------------------------------------------------------------


def read_zip(path: Path) -> tuple[dict, dict, str | None]:
    """(data JSON, policy.pth state_dict, SB3 version); sizes checked before anything is decompressed."""
    torch = require("torch", "export", "to export policies")
    try:
        with zipfile.ZipFile(path) as z:
            infos = {i.filename: i for i in z.infolist()}
            total = sum(i.file_size for i in infos.values())
            if total > MAX_TOTAL:
                raise BadInput(f"{path} would unpack to {total / 2**30:.1f} GiB: not an SB3 model edgeperf reads")
            for i in infos.values():
                if i.file_size > 2**20 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                    ratio = i.file_size // max(i.compress_size, 1)
                    raise BadInput(f"{path}: {i.filename} unpacks {ratio}x its size: a zip bomb?")
            for need in ("data", "policy.pth"):
                if need not in infos:
                    raise BadInput(f"{path} has no '{need}' entry: not a Stable-Baselines3 model (or a damaged one)")
            if infos["data"].file_size > MAX_DATA:
                raise BadInput(f"{path}: its 'data' entry is {infos['data'].file_size / 2**20:.0f} MiB: not SB3's JSON")
            data = json.loads(z.read("data"))
            blob = z.read("policy.pth")
            tag = "_stable_baselines3_version"
            version = z.read(tag).decode().strip()[:40] if tag in infos else None
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        raise BadInput(f"{path} is not a Stable-Baselines3 model: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: its 'data' entry is not a JSON object: not a Stable-Baselines3 model")
    try:
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BadInput(f"{path}: policy.pth is not a plain state_dict ({type(exc).__name__}: {_first(exc)})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BadInput(f"{path}: policy.pth does not hold a state_dict of tensors")
    return data, state, version


def _first(exc: Exception) -> str:
    return (str(exc).splitlines() or ["(no message)"])[0][:160]


def algorithm(data: dict, path: Path) -> str:
    pc = data.get("policy_class")
    module = pc.get("__module__") if isinstance(pc, dict) else None
    if not isinstance(module, str):
        raise BadInput(f"{path}: data.policy_class has no readable __module__: not a Stable-Baselines3 model")
    if module in MODULES:
        algo = MODULES[module]
        pk = data.get("policy_kwargs") if isinstance(data.get("policy_kwargs"), dict) else {}
        if algo == "TD3" and pk.get("n_critics") == 1 and data.get("policy_delay") == 1:
            algo = "DDPG"  # SB3's DDPG: TD3's policy with one critic and no delay
    elif module in ACTOR_CRITIC:
        algo = "PPO" if "clip_range" in data else "TRPO" if "cg_max_steps" in data else "A2C"
    else:
        raise BadInput(
            f"{path}: its policy class is defined in {module}, a custom policy that exists only as a pickle; "
            "export it with --trust-pickle if you trust the file (that runs its code)"
        )
    return algo


def _type(entry) -> str:
    return str(entry.get(":type:", "")) if isinstance(entry, dict) else ""


def _array(text, shape, path: Path, where: str) -> np.ndarray:
    """A bound as SB3's JSON keeps it: str() of a numpy array, or a number."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return np.full(shape, float(text))
    if not isinstance(text, str):
        raise BadInput(f"{path}: {where} is not readable without its pickle ({str(text)[:60]!r}); --trust-pickle")
    summarized = "..." in text  # numpy's str() of an array of over 1000 values shows its corners only
    try:
        values = np.array([float(v) for v in re.sub(r"[\[\],]", " ", text.replace("...", " ")).split()])
    except ValueError:
        raise BadInput(f"{path}: {where} is not a list of numbers ({text[:60]!r})") from None
    if summarized:
        # Every corner value equal (an image's 0 and 255, a vector's -inf): the space is uniform, as gymnasium
        # builds such spaces from one number. Corners that differ cannot be filled in.
        if values.size == 0 or not np.all(values == values[0]):
            raise BadInput(f"{path}: {where} is summarized by numpy ({text[:60]!r}) and not uniform; --trust-pickle")
        return np.full(shape, values[0])
    n = int(np.prod(shape)) if shape else 1
    if values.size == 1:
        return np.full(shape, values[0])
    if values.size != n:
        raise BadInput(f"{path}: {where} has {values.size} values for shape {list(shape)}")
    return values.reshape(shape)


def _shape(entry: dict, path: Path, key: str) -> tuple[int, ...]:
    shape = entry.get("_shape", entry.get("shape"))
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise BadInput(f"{path}: {key} has no readable shape ({shape!r})")
    return tuple(shape)


def box_of(data: dict, key: str, path: Path) -> spaces.Box:
    entry = data.get(key)
    kind = _type(entry)
    if not kind.endswith("spaces.box.Box'>"):
        what = kind or type(entry).__name__
        raise BadInput(
            f"{path}: {key} is {what}; edgeperf rebuilds Box observation spaces without pickles (Dict and image "
            "observations: --trust-pickle)"
        )
    shape = _shape(entry, path, key)
    low = _array(entry.get("low"), shape, path, f"{key}.low")
    high = _array(entry.get("high"), shape, path, f"{key}.high")
    return spaces.box(low, high, shape, "uint8" if str(entry.get("dtype")) == "uint8" else None)


def is_image(space: spaces.Box) -> bool:
    """SB3's is_image_space: uint8, 0..255 everywhere, three axes (SB3 stores it channel-first)."""
    return (
        space.dtype == "uint8"
        and len(space.shape) == 3
        and space.low is not None
        and np.all(np.asarray(space.low) == 0)
        and np.all(np.asarray(space.high) == 255)
    )


def action_space_of(data: dict, path: Path) -> spaces.Box | spaces.Discrete:
    entry = data.get("action_space")
    kind = _type(entry)
    if kind.endswith("spaces.discrete.Discrete'>"):
        try:
            n, start = int(str(entry.get("n"))), int(str(entry.get("start", 0)))
        except ValueError:
            raise BadInput(f"{path}: action_space.n is {entry.get('n')!r}: not a whole number") from None
        if n < 1:
            raise BadInput(f"{path}: action_space.n is {n}")
        return spaces.discrete(n, start)
    if kind.endswith("spaces.box.Box'>"):
        shape = _shape(entry, path, "action_space")
        low = _array(entry.get("low"), shape, path, "action_space.low")
        high = _array(entry.get("high"), shape, path, "action_space.high")
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise BadInput(f"{path}: action_space has unbounded dimensions: SB3 needs finite action bounds")
        return spaces.box(low, high, shape)
    raise BadInput(f"{path}: action_space is {kind or entry!r}; edgeperf exports Box or Discrete actions")


def policy_kwargs(data: dict, path: Path) -> dict:
    pk = data.get("policy_kwargs") or {}
    if not isinstance(pk, dict):
        raise BadInput(f"{path}: policy_kwargs is {type(pk).__name__}, not a mapping")
    out = {k: v for k, v in pk.items() if not k.startswith(":")}
    for key in ("features_extractor_class",):
        v = out.get(key)
        if v is not None and str(v) not in BUILTIN_EXTRACTORS:
            raise BadInput(
                f"{path}: policy_kwargs.{key} is {v}, which exists only as a pickle; --trust-pickle loads it through "
                "SB3 if you trust the file (that runs its code)"
            )
    return out


def activation(torch, kwargs: dict, default: str, path: Path):
    text = kwargs.get("activation_fn")
    name = default if text is None else str(text).rstrip("'>").rsplit(".", 1)[-1]
    if name not in ACTIVATIONS:
        raise BadInput(
            f"{path}: policy_kwargs.activation_fn is {text}: not one of torch.nn's ({', '.join(ACTIVATIONS)}); "
            "--trust-pickle"
        )
    return getattr(torch.nn, name)


# --- the network --------------------------------------------------------------------------------------------


def mlp(torch, state: dict, prefix: str, act, used: set, *, latent: bool, eps: float = 1e-3):
    """The Sequential SB3 saved under `prefix` (`prefix.{i}.weight`...): each indexed layer with tensors is a
    Linear (or BatchRenorm, evaluated with its running statistics); an index without tensors is the activation;
    a latent net ends in one. Returns (module, [(in, out) per Linear])."""
    nn = torch.nn
    layers: dict[int, dict] = {}
    pat = re.compile(re.escape(prefix) + r"\.(\d+)\.(\w+)$")
    for key, value in state.items():
        m = pat.match(key)
        if m:
            layers.setdefault(int(m.group(1)), {})[m.group(2)] = (key, value)
    if not layers:
        return None, []
    modules, sizes = [], []
    for i in range(max(layers) + 1):
        params = layers.get(i)
        if params is None:
            modules.append(act())
        elif "weight" in params and params["weight"][1].dim() == 2:
            w = params["weight"][1]
            lin = nn.Linear(w.shape[1], w.shape[0], bias="bias" in params)
            _assign(lin.weight, params["weight"], used)
            if "bias" in params:
                _assign(lin.bias, params["bias"], used)
            modules.append(lin)
            sizes.append((w.shape[1], w.shape[0]))
        elif {"scale", "bias", "ra_mean", "ra_var"} <= set(params):
            modules.append(_BatchRenormEval(torch, params, eps, used))
        else:
            raise BadInput(f"{prefix}.{i} holds {sorted(params)}: not a layer edgeperf rebuilds; --trust-pickle")
    if latent and isinstance(modules[-1], nn.Linear):
        modules.append(act())
    return nn.Sequential(*modules), sizes


def _assign(param, entry, used: set) -> None:
    key, value = entry
    param.data.copy_(value.to(param.dtype))  # .data: a plain copy, outside autograd
    param._edgeperf_from_file = True
    used.add(key)


def _BatchRenormEval(torch, params: dict, eps: float, used: set):
    class BatchRenormEval(torch.nn.Module):
        """sb3_contrib's BatchRenorm in eval mode: (x - ra_mean) / sqrt(ra_var + eps) x scale + bias."""

        def __init__(self):
            super().__init__()
            n = params["scale"][1].shape[0]
            self.scale = torch.nn.Parameter(torch.ones(n))
            self.bias = torch.nn.Parameter(torch.zeros(n))
            self.register_buffer("ra_mean", torch.zeros(n))
            self.register_buffer("ra_var", torch.ones(n))
            for name in ("scale", "bias", "ra_mean", "ra_var"):
                _assign(getattr(self, name), params[name], used)
            if "steps" in params:
                used.add(params["steps"][0])
            self.eps = eps

        def forward(self, x):
            return (x - self.ra_mean) / torch.sqrt(self.ra_var + self.eps) * self.scale + self.bias

    return BatchRenormEval()


def _arch(kwargs: dict, key: str) -> list[int] | None:
    """The hidden sizes the JSON's net_arch gives for one network (pi, qf or a plain list)."""
    arch = kwargs.get("net_arch")
    if isinstance(arch, dict):
        arch = arch.get(key)
    if isinstance(arch, list) and arch and isinstance(arch[0], dict):  # SB3 1.x: [dict(pi=[..], vf=[..])]
        arch = arch[0].get(key)
    return arch if isinstance(arch, list) and all(isinstance(v, int) for v in arch) else None


def build_core(  # noqa: PLR0913 - the zip's parts, read once by the caller
    torch, algo: str, state: dict, kwargs: dict, data: dict, obs_shape, act: spaces.Space, path: Path, features=None
):
    """(core module, post: unscale|clip|argmax, tanh before unscale, the state keys it used). `features`: the
    features extractor in front (a flatten when None); obs_shape is then its output's."""
    used: set = set()
    discrete = isinstance(act, spaces.Discrete)
    n_out = act.n if discrete else int(np.prod(act.shape))
    a = activation(torch, kwargs, "Tanh" if FAMILY[algo] in ("actor_critic", "recurrent") else "ReLU", path)
    net = _Net(torch, state, used, a, path, float(kwargs.get("batch_norm_eps", 1e-3)))
    build = {"PPO": _actor_critic, "A2C": _actor_critic, "TRPO": _actor_critic, "SAC": _sac, "TQC": _sac,
             "CrossQ": _sac, "TD3": _td3, "DDPG": _td3, "DQN": _dqn, "QRDQN": _dqn, "ARS": _ars,
             "RecurrentPPO": _actor_critic, "MaskablePPO": _actor_critic}[algo]  # fmt: skip
    layers, post, tanh, first_in, last_out = build(net, algo, kwargs, data, discrete, n_out)
    _check_io(path, obs_shape, first_in, last_out, n_out)
    return torch.nn.Sequential(features or torch.nn.Flatten(), *layers), post, tanh, used


class _Net:
    """What the builders share: the state_dict, the keys used, the activation, the file (for messages)."""

    def __init__(self, torch, state, used, act, path, eps):
        self.torch, self.state, self.used, self.act, self.path, self.eps = torch, state, used, act, path, eps

    def mlp(self, prefix: str, latent: bool):
        return mlp(self.torch, self.state, prefix, self.act, self.used, latent=latent, eps=self.eps)

    def linear(self, prefix: str, what: str):
        w = self.state.get(f"{prefix}.weight")
        if w is None or w.dim() != 2:
            raise BadInput(f"{self.path}: policy.pth has no {prefix}: not {what}")
        lin = self.torch.nn.Linear(w.shape[1], w.shape[0], bias=f"{prefix}.bias" in self.state)
        _assign(lin.weight, (f"{prefix}.weight", w), self.used)
        if lin.bias is not None:
            _assign(lin.bias, (f"{prefix}.bias", self.state[f"{prefix}.bias"]), self.used)
        return lin

    def need(self, module, prefix: str, what: str):
        if module is None:
            raise BadInput(f"{self.path}: policy.pth has no {prefix}: not {what}")
        return module


def _actor_critic(net: _Net, algo, kwargs, data, discrete, n_out):
    # SB3 before 1.8: net_arch [64, dict(pi=[..], vf=[..])] put layers shared by actor and critic first
    shared, shared_sizes = net.mlp("mlp_extractor.shared_net", latent=True)
    latent, sizes = net.mlp("mlp_extractor.policy_net", latent=True)
    head = net.linear("action_net", "an actor-critic policy SB3 saved")
    if shared is None:
        _check_arch(net.path, "pi", kwargs, sizes)
    squash = bool(kwargs.get("squash_output", False)) and bool(data.get("use_sde", False))
    post = "argmax" if discrete else ("unscale" if squash else "clip")
    first_in = (shared_sizes or sizes or [(head.in_features, None)])[0][0]
    layers = [m for m in (shared, latent) if m is not None]
    return [*layers, head], post, squash, first_in, head.out_features


def _sac(net: _Net, algo, kwargs, data, discrete, n_out):
    latent, sizes = net.mlp("actor.latent_pi", latent=True)
    net.need(latent, "actor.latent_pi", f"a {algo} policy")
    if "actor.mu.0.weight" in net.state:  # gSDE: mu clipped to +-clip_mean (SB3's Actor, clip_mean > 0)
        head = net.linear("actor.mu.0", f"a {algo} policy")
        clip = float(kwargs.get("clip_mean", 2.0))
        layers = [latent, head, net.torch.nn.Hardtanh(-clip, clip)]
    else:
        head = net.linear("actor.mu", f"a {algo} policy")
        layers = [latent, head]
    _check_arch(net.path, "pi", kwargs, sizes)
    return layers, "unscale", True, sizes[0][0], head.out_features


def _td3(net: _Net, algo, kwargs, data, discrete, n_out):
    mu, sizes = net.mlp("actor.mu", latent=False)
    net.need(mu, "actor.mu", "a TD3/DDPG policy")
    _check_arch(net.path, "pi", kwargs, sizes[:-1])
    return [mu, net.torch.nn.Tanh()], "unscale", False, sizes[0][0], sizes[-1][1]


def _dqn(net: _Net, algo, kwargs, data, discrete, n_out):
    prefix = "q_net.q_net" if algo == "DQN" else "quantile_net.quantile_net"
    q, sizes = net.mlp(prefix, latent=False)
    net.need(q, prefix, f"a {algo} policy")
    _check_arch(net.path, "qf", kwargs, sizes[:-1])
    layers, out = [q], sizes[-1][1]
    if algo == "QRDQN":
        quantiles = int(data.get("n_quantiles") or kwargs.get("n_quantiles") or 200)
        if out != quantiles * n_out:
            raise BadInput(f"{net.path}: the quantile net gives {out} values; {quantiles} quantiles x {n_out} "
                           f"actions is {quantiles * n_out}")  # fmt: skip
        layers.append(_QuantileMean(net.torch, quantiles, n_out))
        out = n_out
    return layers, "argmax", False, sizes[0][0], out


def _ars(net: _Net, algo, kwargs, data, discrete, n_out):
    body, sizes = net.mlp("action_net", latent=False)
    net.need(body, "action_net", "an ARS policy")
    linear = len(sizes) == 1 and "action_net.0.bias" not in net.state  # ARSLinearPolicy: no bias, no squash
    squash = not discrete and bool(kwargs.get("squash_output", not linear))
    post = "argmax" if discrete else ("unscale" if squash else "clip")
    return [body] + ([net.torch.nn.Tanh()] if squash else []), post, False, sizes[0][0], sizes[-1][1]


def _lstm(torch, state: dict, kwargs: dict, n_features: int, path: Path):
    """RecurrentPPO's actor LSTM (`lstm_actor.*`: torch's own nn.LSTM keys), set from the file; (lstm, keys)."""
    layers = 0
    while f"lstm_actor.weight_hh_l{layers}" in state:
        layers += 1
    if layers == 0:
        raise BadInput(f"{path}: policy.pth has no lstm_actor: not a RecurrentPPO policy SB3 saved")
    w_ih, w_hh = state["lstm_actor.weight_ih_l0"], state["lstm_actor.weight_hh_l0"]
    hidden, n_in = int(w_hh.shape[1]), int(w_ih.shape[1])
    if n_in != n_features:
        raise BadInput(f"{path}: the observation's features have {n_features} values but policy.pth's lstm_actor "
                       f"takes {n_in}")  # fmt: skip
    for key, want in (("lstm_hidden_size", hidden), ("n_lstm_layers", layers)):
        said = kwargs.get(key)
        if said is not None and said != want:
            raise BadInput(f"{path}: policy_kwargs.{key} says {said} but policy.pth's lstm_actor has {want}")
    lstm = torch.nn.LSTM(n_in, hidden, num_layers=layers, bias="lstm_actor.bias_ih_l0" in state)
    used: set = set()
    for name, param in lstm.named_parameters():
        key = f"lstm_actor.{name}"
        if key not in state or tuple(state[key].shape) != tuple(param.shape):
            got = list(state[key].shape) if key in state else "nothing"
            raise BadInput(f"{path}: policy.pth's {key} is {got}, an LSTM of {hidden} units needs {list(param.shape)}")
        _assign(param, (key, state[key]), used)
    return lstm.eval(), used


def _extractor(torch, state: dict, family: str, obs_shape, path: Path):
    """(the features extractor the action path uses, its output size, the keys it used): SB3's NatureCNN when
    policy.pth holds one (CnnPolicy: three convs with NatureCNN's kernels, a linear layer, ReLUs), else a flatten."""
    prefix = next((p for p in EXTRACTORS[family] if f"{p}.cnn.0.weight" in state), None)
    if prefix is None:
        return torch.nn.Flatten(), int(np.prod(obs_shape)) if obs_shape else 1, set()
    return _nature_cnn(torch, state, prefix, obs_shape, path)


def _nature_cnn(torch, state: dict, prefix: str, obs_shape, path: Path):
    """SB3's NatureCNN saved under `prefix`, rebuilt: (module, features, keys used)."""
    used: set = set()
    if len(obs_shape) != 3:
        raise BadInput(f"{path}: policy.pth holds a CNN ({prefix}.cnn) but the observation space is {list(obs_shape)}")
    nn, layers, channels = torch.nn, [], obs_shape[0]
    for i, (kernel, stride) in enumerate(NATURE_CNN):
        key = f"{prefix}.cnn.{2 * i}"
        w = state.get(f"{key}.weight")
        if w is None or w.dim() != 4 or tuple(w.shape[2:]) != (kernel, kernel) or w.shape[1] != channels:
            got = list(w.shape) if w is not None else "nothing"
            raise BadInput(f"{path}: policy.pth's {key}.weight is {got}, not NatureCNN's conv of {kernel}x{kernel} "
                           f"kernels on {channels} channels: a custom CNN? --trust-pickle")  # fmt: skip
        conv = nn.Conv2d(channels, w.shape[0], kernel, stride=stride, bias=f"{key}.bias" in state)
        _assign(conv.weight, (f"{key}.weight", w), used)
        if conv.bias is not None:
            _assign(conv.bias, (f"{key}.bias", state[f"{key}.bias"]), used)
        layers += [conv, nn.ReLU()]
        channels = w.shape[0]
    if f"{prefix}.cnn.{2 * len(NATURE_CNN)}.weight" in state:
        raise BadInput(f"{path}: {prefix}.cnn has more layers than NatureCNN: a custom CNN? --trust-pickle")
    cnn = nn.Sequential(*layers, nn.Flatten())
    try:
        with torch.no_grad():
            n_flat = int(cnn(torch.zeros(1, *obs_shape)).shape[1])
    except RuntimeError:
        raise BadInput(f"{path}: an image of {list(obs_shape)} is too small for NatureCNN's convolutions") from None
    linear = _Net(torch, state, used, nn.ReLU, path, 0.0).linear(f"{prefix}.linear.0", "NatureCNN's linear layer")
    if linear.in_features != n_flat:
        raise BadInput(f"{path}: NatureCNN on {list(obs_shape)} gives {n_flat} values but policy.pth's "
                       f"{prefix}.linear.0 takes {linear.in_features}")  # fmt: skip
    return nn.Sequential(cnn, linear, nn.ReLU()), linear.out_features, used


def _combined(torch, state: dict, family: str, stored: dict, path: Path):
    """SB3's CombinedExtractor for a Dict observation, rebuilt: per key a NatureCNN (an image) or a flatten, their
    features concatenated in the space's key order. (module of the preprocessed dict, features, keys used)."""
    prefixes = EXTRACTORS[family]
    prefix = next((p for p in prefixes if any(k.startswith(f"{p}.extractors.") for k in state)), prefixes[0])
    parts, n, used = [], 0, set()
    for key, (box, image) in stored.items():
        sub = f"{prefix}.extractors.{key}"
        if f"{sub}.cnn.0.weight" in state:
            module, size, keys = _nature_cnn(torch, state, sub, box.shape, path)
            used |= keys
        elif image:
            raise BadInput(f"{path}: observation key '{key}' is an image but policy.pth has no {sub}.cnn")
        else:
            module, size = torch.nn.Flatten(), int(np.prod(box.shape))
        parts.append((key, module))
        n += size

    class CombinedExtractor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.keys = [k for k, _ in parts]
            self.extractors = torch.nn.ModuleList([m for _, m in parts])

        def forward(self, obs: dict):
            return torch.cat([m(obs[k]) for k, m in zip(self.keys, self.extractors, strict=True)], dim=1)

    return CombinedExtractor(), n, used


# `'key': Box(low, high, (shape), dtype)` in str() of a Dict space's `spaces` (numpy's str of an array has no comma)
_DICT_ENTRY = re.compile(r"'((?:[^'\\]|\\.)*)': Box\(([^,]*), ([^,]*), \(([\d, ]*)\), (\w+)\)")


def dict_spaces(data: dict, path: Path) -> dict:
    """key -> (Box space as SB3 stored it, is an image) of a Dict observation space, from the JSON's readable
    str() of its subspaces; a subspace that is not a Box stops with its name."""
    text = data["observation_space"].get("spaces")
    if not isinstance(text, str) or not text.startswith("{"):
        raise BadInput(f"{path}: observation_space.spaces is not readable without its pickle; --trust-pickle")
    found = list(_DICT_ENTRY.finditer(text))
    entries = len(re.findall(r"'(?:[^'\\]|\\.)*': \w+\(", text))
    if not found or len(found) != entries:
        raise BadInput(
            f"{path}: observation_space is a Dict of spaces edgeperf reads only as Boxes ({text[:80]!r}); "
            "--trust-pickle"
        )
    out = {}
    for m in found:
        key, low, high, dims, dtype = m.groups()
        shape = tuple(int(d) for d in dims.replace(",", " ").split())
        where = f"observation_space['{key}']"
        low, high = _array(low, shape, path, f"{where}.low"), _array(high, shape, path, f"{where}.high")
        box = spaces.box(low, high, shape, "uint8" if dtype == "uint8" else None)
        out[key] = (box, is_image(box))
    return out


def _dict_source(  # noqa: PLR0913 - the zip's parts, read once by the caller
    torch, path: Path, data: dict, state: dict, version, algo: str, obs_shape, vecnormalize, raw
):
    """A MultiInputPolicy: the CombinedExtractor and the algorithm's action path, wrapped as the trusted path
    wraps SB3's own policy (exporter/sb3_dict.py: raw keys in, transposition, /255, VecNormalize per key)."""

    if obs_shape:
        raise BadInput(f"{path} takes a Dict observation: drop --obs-shape")
    if algo in ("RecurrentPPO", "MaskablePPO"):
        raise BadInput(f"{path}: a {algo} agent with a Dict observation; edgeperf rebuilds Dict observations for "
                       "the other algorithms (--trust-pickle loads custom forms through SB3)")  # fmt: skip
    stored = dict_spaces(data, path)
    act = action_space_of(data, path)
    kwargs = policy_kwargs(data, path)
    combined, n_features, used = _combined(torch, state, FAMILY[algo], stored, path)
    core, post, tanh, core_used = build_core(torch, algo, state, kwargs, data, (n_features,), act, path,
                                             features=combined)  # fmt: skip
    used |= core_used
    _check_homes(state, used, algo, path)
    inner = sb3_policy(torch, core, None, False, tanh, post, act).eval()
    _check_all_set(inner, used)
    normalize_images = bool(kwargs.get("normalize_images", True))
    module, subspaces, norm, notes, preprocessing = sb3_dict.assemble(
        path, stored, normalize_images, raw, vecnormalize, inner
    )
    notes.insert(0, f"{path.name} was read without unpickling: the network rebuilt from its JSON and state_dict")
    details = {"algorithm": algo, "loaded": "pickle-free", "post_processing": POST_NOTES[post], "sb3_version": version,
               "preprocessing": preprocessing}  # fmt: skip
    if vecnormalize:
        details["vecnormalize"] = str(vecnormalize)
    return PolicySource(
        module,
        "sb3",
        str(path),
        (),
        sha256=sha256_file(path),
        obs_space=spaces.dict_space(subspaces),
        action_space=act,
        normalization=norm,
        notes=notes,
        details=details,
        discrete=post == "argmax",
        action_shape=act.shape if isinstance(act, spaces.Box) else (),
    )


def _LSTMPolicy(torch, pre, lstm, head, *, discrete: bool):
    class LSTMPolicy(torch.nn.Module):
        """forward(obs, (h, c)) -> (action, (h, c)), state [layers, batch, hidden]: one step of RecurrentPPO's
        deterministic path (normalize, flatten -> lstm_actor -> mlp_extractor.policy_net -> action_net -> clip or
        argmax), the form exporter/recurrent.py takes from a factory."""

        def __init__(self):
            super().__init__()
            self.pre, self.lstm, self.head = pre, lstm, head

        def forward(self, obs, state):
            y, state = self.lstm(self.pre(obs).unsqueeze(0), state)
            out = self.head(y.squeeze(0))
            return (out[0] if discrete else out), state

    return LSTMPolicy()


MASKED_LOGIT = -1e8  # sb3_contrib's MaskableCategorical puts this logit on a masked action


def _MaskedPolicy(torch, policy):
    class MaskedPolicy(torch.nn.Module):
        """forward(obs, action_mask) -> (action, logits): MaskablePPO's deterministic action, the argmax over the
        actions the mask allows (value > 0.5)."""

        def __init__(self):
            super().__init__()
            self.policy = policy

        def forward(self, obs, action_mask):
            _, logits = self.policy(obs)
            logits = torch.where(action_mask > 0.5, logits, torch.full_like(logits, MASKED_LOGIT))
            action = torch.argmax(logits, dim=1)
            return (action + self.policy.start if self.policy.start else action), logits

    return MaskedPolicy()


def _QuantileMean(torch, quantiles: int, actions: int):
    class QuantileMean(torch.nn.Module):
        """QR-DQN's Q-values: the quantile net's output as (quantiles, actions), averaged over the quantiles."""

        def forward(self, x):
            return x.view(-1, quantiles, actions).mean(dim=1)

    return QuantileMean()


def _check_io(path: Path, obs_shape, first_in: int, last_out: int, n_out: int) -> None:
    n_obs = int(np.prod(obs_shape)) if obs_shape else 1
    if first_in != n_obs:
        raise BadInput(f"{path}: the JSON's observation space has {n_obs} values (shape {list(obs_shape)}) but "
                       f"policy.pth's first layer takes {first_in}")  # fmt: skip
    if last_out != n_out:
        raise BadInput(f"{path}: the JSON's action space needs {n_out} outputs but policy.pth's last layer gives "
                       f"{last_out}")  # fmt: skip


def _check_arch(path: Path, key: str, kwargs: dict, sizes) -> None:
    arch = _arch(kwargs, key)
    found = [o for _, o in sizes]
    if arch is not None and arch != found:
        raise BadInput(f"{path}: policy_kwargs.net_arch says hidden layers {arch} but policy.pth holds {found}")


def _check_homes(state: dict, used: set, algo: str, path: Path) -> None:
    family = FAMILY[algo]
    unused = UNUSED[family]
    stray = [k for k in state if k not in used and not k.startswith(unused)]
    if stray:
        raise BadInput(
            f"{path}: policy.pth holds tensors a {algo} policy has no place for: {', '.join(stray[:6])}"
            + (f" and {len(stray) - 6} more" if len(stray) > 6 else "")
            + " (a custom policy? --trust-pickle)"
        )


def _check_all_set(module, used: set) -> None:
    unset = [n for n, p in module.named_parameters() if not getattr(p, "_edgeperf_from_file", False)]
    if unset:  # a bug, not bad input: every parameter is built from a tensor of the file
        raise AssertionError(f"parameters left at their initial values: {unset}")


def finite_state(state: dict, path: Path) -> None:
    for k, v in state.items():
        if v.is_floating_point() and not bool(v.isfinite().all()):
            raise BadInput(f"{path}: policy.pth's {k} holds NaN or inf")
