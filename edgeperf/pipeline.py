"""The main job, in the library: open any policy, profile it (here, in a fresh process, or on a device over ssh),
validate it, run it in the loop (hil), in two simulators (sim2sim), diagnose it (doctor). The public API
(`edgeperf.profile`, `edgeperf.validate`), `profile --host`, plan's and sweep's jobs and `edgeperf demo`
(edgeperf/deploy.py, end to end) all go through here; the CLI modules only parse and render.

It imports the exporter (which loads policy sources, torch included), the profilers and validation; plan, sweep
and deploy import it (the layers: pyproject.toml's import-linter contract).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf import fresh
from edgeperf.config import DoctorConfig, HilConfig, ProfileConfig, Sim2simConfig, ValidateConfig
from edgeperf.devices import remote
from edgeperf.domains.mujoco.formats.write import write
from edgeperf.errors import BadInput, EdgeperfError, HardwareMissing, VerdictFailed
from edgeperf.exporter.sources import open_policy
from edgeperf.processes import die_with_parent
from edgeperf.profilers.run import run_profile
from edgeperf.results.report import Report
from edgeperf.runtime import openpi as op
from edgeperf.runtime import wire
from edgeperf.runtime.remote import RemoteSession
from edgeperf.runtime.session import check_model_file
from edgeperf.validation import hil as loop
from edgeperf.validation.latency import LatencyModel, parse

# -- profile ------------------------------------------------------------------------------------------------------


def profile(
    model,
    config: ProfileConfig | None = None,
    *,
    isolate: bool = False,
    host: str | None = None,
    csv: str | Path | None = None,
    **options,
) -> Report:
    """Profile `model` and return its report, as `config` says or as `options` (ProfileConfig's fields:
    edgeperf.config.ProfileConfig) say. csv: every inference's timings, written to that file.

    isolate: in a fresh Python process, as on a robot: a process that has loaded torch (an export, say)
    otherwise measures a larger memory (the report warns when that happened). host: on that device over ssh
    (see profile_remote, whose remote_edgeperf, ssh_options and connect_timeout go in `options` then).

    Args:
        model (str | Path): The artifact (.onnx, OpenVINO .xml, TensorRT .engine, TorchScript .pt) or any policy source
            `export` reads (`reference:quadruped/trot`, an SB3 .zip), which then runs on torch.
        config: The whole profile configuration as one `edgeperf.config.ProfileConfig`; `options` then
            replace some of its fields.
        isolate: Measure in a fresh Python process (edgeperf.fresh) instead of this one.
        host: `user@device`: copy the artifact there over ssh and profile it there.
        csv: A file path: every inference's timings written there as CSV (not with `host`).
        **options (Any): ProfileConfig's fields by name (backend, device, iterations, duration, warmup, threads,
            batch, rate, deadline_ms, stress, seed, power, ...); with `host`, also remote_edgeperf,
            ssh_options and connect_timeout.

    Returns:
        The profile report (`edgeperf.profile/1`): `results["latency_us"]` holds p50, p99, p99_9, ...

    Raises:
        BadInput: A model or option that cannot be used (exit code 2).
        DependencyMissing: The backend's package is not installed (exit code 3).

    Examples:
        >>> import edgeperf
        >>> _ = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> report = edgeperf.profile("policy.onnx", iterations=200, duration=0.1, warmup=10)
        >>> report.schema, report.results["latency_us"]["count"] >= 200
        ('edgeperf.profile/1', True)
        >>> from edgeperf.config import ProfileConfig
        >>> cfg = ProfileConfig(iterations=200, duration=0.1, warmup=10, threads=1)
        >>> edgeperf.profile("policy.onnx", cfg).config["threads"]
        1
    """
    if host is not None:
        remote = {k: options.pop(k) for k in ("remote_edgeperf", "ssh_options", "connect_timeout") if k in options}
        if csv is not None:
            raise TypeError("csv= is for a profile here; profile_remote brings the remote timings back (csv=True)")
        return profile_remote(host, model, ProfileConfig.of(config, options), **remote).report
    if isolate:
        return profile_fresh(model, config, csv=csv, **options)

    return run_profile(model, config, opener=open_policy, csv=csv, **options).report


def profile_fresh(model, config: ProfileConfig | None = None, *, csv: str | Path | None = None, **options) -> Report:
    """`model` profiled in a fresh interpreter (edgeperf.fresh), as `config` or `options` say; its error, if any,
    is raised here as itself, with its exit code. csv: where the run's raw per-inference timings go."""

    return fresh.profile(model, ProfileConfig.of(config, options).check(), csv=csv)


def _child_error(code: int, stderr: str, what: str):
    """The error of a child `edgeperf` command (LocalServer's `edgeperf serve`) from its exit code and the last line
    it wrote: a CLI child speaks no other way. (A fresh-process profile sends its error typed: edgeperf.fresh.)"""
    lines = [ln for ln in (stderr or "").splitlines() if ln.strip()]
    said = lines[-1].removeprefix("edgeperf: error: ") if lines else f"exit code {code}"
    cls = {1: VerdictFailed, 2: BadInput, 3: HardwareMissing}.get(code, EdgeperfError)
    return cls(f"{what} failed: {said}")


@dataclass
class RemoteProfile:
    report: Report
    files: dict[str, bytes] = field(default_factory=dict)  # "timings.csv", "latency.png" when asked for


def profile_remote(
    host: str,
    model,
    config: ProfileConfig | None = None,
    *,
    csv: bool = False,
    plot: bool = False,
    remote_edgeperf: str = "edgeperf",
    ssh_options=(),
    connect_timeout: float = 10.0,
    **options,
) -> RemoteProfile:
    """Copy the artifact (and its companions) to `host` over ssh, profile it there as `config` (or `options`:
    ProfileConfig's fields) says, bring the report back. The device runs `edgeperf profile` with the config's
    options (its edgeperf may be another version: the CLI is the interface that stays); what depends on the
    device's cores is checked there."""

    cfg = ProfileConfig.of(config, options).check(this_machine=False)

    outputs = {"--csv": "timings.csv"} if csv else {}
    if plot:
        outputs["--plot"] = "latency.png"
    done = remote.run_profile(
        host,
        Path(model),
        cfg.to_argv(),
        edgeperf=remote_edgeperf,
        options=ssh_options,
        connect_timeout=connect_timeout,
        outputs=outputs,
    )
    try:
        report = Report.from_dict(json.loads(done.files[remote.REPORT]), source=f"the report from {host}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"the report {host} sent back is not JSON ({exc})") from None
    report.config["remote"] = {"host": host, "via": "ssh", "model_path_there": report.model.path}
    report.model.path = str(model)
    return RemoteProfile(report, {k: v for k, v in done.files.items() if k != remote.REPORT})


# -- validate -----------------------------------------------------------------------------------------------------


def validate(model, domain: str | None = None, config: ValidateConfig | None = None, **options) -> Report:
    """Paired validation of `model` against its reference in `domain`, as `config` says or as `options`
    (ValidateConfig's fields) say; `model` and `reference` may be any policy `export` reads. `latency`:
    milliseconds, a profile report path, or a LatencyModel. `vecnormalize`: the SB3 reference's VecNormalize
    statistics, so it sees normalised observations as in training; `trust_pickle`: SB3 zips loaded through SB3
    itself (which runs their code), for what the pickle-free reader cannot rebuild.

    Args:
        model (str | Path): The policy under test: an artifact or any policy source `export` reads.
        domain: The task both policies run in (`quadruped/trot`, `pendulum/no-velocity`, `mujoco:deploy.yaml`,
            `gym:Pendulum-v1`, ...); with `config`, None or the config's own domain.
        config: The whole validation as one `edgeperf.config.ValidateConfig`; `options` then replace some of
            its fields.
        **options (Any): ValidateConfig's fields by name: reference (default: the domain's bundled reference policy),
            episodes, seed, latency, sweep_ms, workers, margin, chunking, vecnormalize, trust_pickle.

    Returns:
        The validate report (`edgeperf.validate/1`): `results["paired"]["verdict"]` is equivalent, different or
        inconclusive, with the paired statistics behind it.

    Raises:
        BadInput: A model, domain or option that cannot be used (exit code 2).
        DependencyMissing: The domain's simulator is not installed (exit code 3).

    Examples:
        >>> import edgeperf
        >>> _ = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> report = edgeperf.validate("policy.onnx", "quadruped/trot", episodes=2, workers=1)
        >>> report.results["paired"]["verdict"] in ("equivalent", "different", "inconclusive")
        True
    """
    import functools

    from edgeperf.validation.paired import validate as paired

    cfg = ValidateConfig(domain=domain, **options) if config is None else ValidateConfig.of(config, options)
    if config is not None and domain not in (None, cfg.domain):
        raise TypeError(f"domain {domain!r} is not the config's ({cfg.domain!r})")
    latency = cfg.latency
    if latency is not None and not isinstance(latency, LatencyModel):
        latency = parse(latency, None) if isinstance(latency, (int, float)) else parse(None, str(latency))
        cfg = cfg.replace(latency=latency)
    opener = functools.partial(open_policy, trust_pickle=True) if cfg.trust_pickle else open_policy
    ref_opener = functools.partial(opener, vecnormalize=str(cfg.vecnormalize)) if cfg.vecnormalize else None
    return paired(model, config=cfg, opener=opener, reference_opener=ref_opener)


def sim2sim(
    model, domain: str | None = None, to: str | None = None, config: Sim2simConfig | None = None, **options
) -> Report:
    """The same policy in two simulators, as `config` says or as `options` (Sim2simConfig's fields) say
    (edgeperf.validation.sim2sim.sim2sim); `model` may be any policy `export` reads.

    Args:
        model (str | Path): The policy: an artifact or any policy source `export` reads.
        domain: The simulator it is known in (`quadruped/trot`, pybullet); with `config`, None or the config's.
        to: The other simulator's domain (`mujoco/a1-trot`, MuJoCo); with `config`, None or the config's.
        config: The whole run as one `edgeperf.config.Sim2simConfig`; `options` then replace some of its fields.
        **options (Any): Sim2simConfig's fields by name: episodes, seed, workers, randomize.

    Returns:
        The sim2sim report (`edgeperf.sim2sim/1`): each simulator's returns and success rate (`results["a"]`,
        `results["b"]`) and `results["transfer"]["verdict"]` (transfers, degrades, fails or inconclusive).

    Raises:
        BadInput: A model, domain or option that cannot be used (exit code 2).
        DependencyMissing: pybullet or MuJoCo is not installed (exit code 3).

    Examples:
        >>> import edgeperf
        >>> report = edgeperf.sim2sim("reference:quadruped/trot", "quadruped/trot", "mujoco/a1-trot", episodes=2)
        >>> report.schema, report.results["episodes"]
        ('edgeperf.sim2sim/1', 2)
    """
    from edgeperf.validation.sim2sim import sim2sim as run

    return run(model, domain, to, config, opener=open_policy, **options)


def doctor(
    model,
    domain: str | None = None,
    config: DoctorConfig | None = None,
    *,
    output: str | Path | None = None,
    **options,
):
    """Why `model` fails in `domain`, as `config` says or as `options` (DoctorConfig's fields) say, and (with
    `output`) the corrected spec written in the input's format (edgeperf.validation.doctor.doctor). Returns
    (Report, Diagnosis); the report's results say where the corrected spec went.

    Args:
        model (str | Path): The policy: an artifact or any policy source `export` reads.
        domain: Where it fails: a deploy spec (`mujoco:deploy.yaml`), whose contract mistakes doctor names and
            cures, or another domain (then only the baseline is measured); with `config`, None or the config's.
        config: The whole diagnosis as one `edgeperf.config.DoctorConfig`; `options` then replace some of its
            fields.
        output: Where the corrected deploy spec is written (in the input's format), when there is a cure.
        **options (Any): DoctorConfig's fields by name: reference, recording, latency_from, budget_s, episodes, seed.

    Returns:
        (Report, Diagnosis): the doctor report (`edgeperf.doctor/1`, `results["verdict"]`) and the findings.

    Raises:
        BadInput: A model, domain or option that cannot be used (exit code 2).
        DependencyMissing: MuJoCo is not installed (exit code 3).

    Examples:
        >>> import edgeperf
        >>> report, diagnosis = edgeperf.doctor("reference:quadruped/trot", "mujoco/a1-trot", episodes=2)
        >>> report.schema, diagnosis.verdict == report.results["verdict"]
        ('edgeperf.doctor/1', True)
    """
    from edgeperf.validation.doctor import _spec_of
    from edgeperf.validation.doctor import doctor as run

    report, diag = run(model, domain, config, opener=open_policy, **options)
    if output is not None and diag.fixed is not None:
        written = write(diag.fixed, _spec_of(report.config["domain"]), Path(output))
        report.results["fixed_spec"] = {"path": str(output), "format": written}
    return report, diag


# -- hardware in the loop ----------------------------------------------------------------------------------------


def hil(
    connect: str | None = None,
    domain: str | None = None,
    config: HilConfig | None = None,
    *,
    token: str | bytes | None = None,
    **options,
) -> Report:
    """HIL episodes against `edgeperf serve` at `connect`, as `config` says or as `options` (HilConfig's fields:
    model, host, remote_edgeperf, ssh_options, token_file, connect_timeout, episodes, seed, mode, on_miss,
    deadline_ms, margin, workers, chunking) say, all checked before connecting; `model`, the same artifact here,
    adds the SIL comparison. With `host` instead of `connect`, the model is copied to that device over ssh, served
    there on its loopback, reached through an ssh tunnel, and the server is stopped at the end, however the run
    ends. `token`: the server's shared token (else read from `token_file`)."""

    cfg = HilConfig(domain=domain, connect=connect, **options) if config is None else HilConfig.of(config, options)
    cfg.check()
    connect, host, model, connect_timeout = cfg.connect, cfg.host, cfg.model, cfg.connect_timeout
    todo = loop.plan(cfg)
    if model is not None:
        check_model_file(Path(model))
    if cfg.token_file is not None:
        token = wire.read_token_file(str(cfg.token_file))
    openpi = connect is not None and connect.startswith(("ws://", "wss://"))
    if openpi:
        op.check_uri(connect)
    elif connect is not None:
        wire.parse_address(connect, "--connect", listen=False)
    with contextlib.ExitStack() as stack:
        if host is not None:
            served = remote.RemoteServer(
                host,
                Path(model),
                edgeperf=cfg.remote_edgeperf,
                options=list(cfg.ssh_options),
                connect_timeout=connect_timeout,
            )
            connect = stack.enter_context(served).address
        if openpi:  # an openpi server: edgeperf's announces its io, another one is sent the domain's observation
            env = todo.domain.env(0)
            try:
                shapes = {"obs_shape": env.observation_space.shape, "action_shape": env.action_space.shape}
            finally:
                env.close()
            session = stack.enter_context(
                op.OpenpiSession.connect(connect, token=token, timeout_s=1.0, connect_s=connect_timeout, **shapes)
            )
        else:
            session = stack.enter_context(
                RemoteSession.connect(connect, token=token, timeout_s=1.0, connect_s=connect_timeout)
            )
        return loop.run(session, todo)  # its config says where the server ran (--host)


class LocalServer:
    """`edgeperf serve MODEL` in a child process on loopback (a free port): the demo's robot, and a test's.
    A context manager; the server is stopped (SIGTERM, then SIGKILL) however the block ends, and dies with
    this process even when it is killed outright."""

    def __init__(self, model: str | Path, bind: str = "127.0.0.1:0"):
        import re

        self._said: str | None = None  # the server's stderr, once it has ended
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edgeperf", "serve", str(model), "--bind", bind],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent(),
        )
        found = re.search(r" at tcp://(\S+),", self.proc.stdout.readline())  # the banner says where it listens
        if not found:
            self.stop()
            raise _child_error(self.proc.returncode or 2, self._said, "edgeperf serve")
        self.address = found.group(1)

    def stop(self) -> None:
        if self._said is not None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            _, self._said = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, self._said = self.proc.communicate()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
