"""edgeperf as the robot on DDS: real CycloneDDS on loopback, the controller a real process of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("cyclonedds")
pytest.importorskip("mujoco")

from tests.bus.helpers import FIXTURE, ROOT, controller, dds_domain, running, script, short_spec


@pytest.fixture(scope="session")
def policy(tmp_path_factory):
    """The bundled trot policy exported to ONNX on the A1 deploy spec (its observation and action)."""
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("bus") / "policy.onnx"
    r = subprocess.run(
        [sys.executable, "-m", "edgeperf", "export", "reference:quadruped/trot", "-o", out, "--domain",
         f"mujoco:{FIXTURE}", "--no-store", "--calibration-episodes", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return out


def _run(domain_id, dds, **kw):
    from edgeperf.bus.run import run

    return run(domain_id, "unitree_go", dds_domain=dds, **kw)


def test_example_controller_lockstep_is_equivalent_to_sil_and_tick_restarts(policy, tmp_path):
    """The example controller through the bus in lockstep runs the task as SIL does (paired: equivalent, the same
    distance per seed to a centimetre), every command applied, none missed; each episode waited for its own first
    command (the tick restarted at 0 and the controller started afresh)."""
    domain_id, dds = short_spec(tmp_path, 3.0), dds_domain()
    with running(controller(policy, domain_id, dds)):
        rep = _run(domain_id, dds, episodes=3, reference=str(policy))
    r, b = rep.results, rep.results["bus"]
    assert r["episodes_run"] == 3 and r["paired"]["verdict"] == "equivalent", (r.get("paired"), rep.warnings)
    assert r["sil"]["metrics"]["distance"] == pytest.approx(r["hil"]["metrics"]["distance"], abs=0.02)
    assert b["commands"]["applied"] == b["commands"]["received"] == 3 * 150
    assert r["link"]["misses"] == 0 and len(b["first_command_s"]) == 3
    assert b["controller_compute_us"]["count"] == 450  # the controller's reserve[0] was read
    assert b["commands"]["bad_crc"] == b["commands"]["nonfinite"] == b["commands"]["wrong_motor_count"] == 0


def test_example_controller_realtime_is_equivalent_to_sil_with_its_physics_step(policy, tmp_path):
    """Realtime: a punctual controller's command acts from the physics step after the one whose state it answers;
    the SIL reference models that step (without it this run's verdict is 'different', return difference ~+0.2)."""
    domain_id, dds = short_spec(tmp_path, 3.0), dds_domain()
    with running(controller(policy, domain_id, dds)):
        rep = _run(domain_id, dds, episodes=4, reference=str(policy), realtime=True)
    r, link = rep.results, rep.results["link"]
    assert "one physics step after" in r["bus"]["method"]["reference"]
    if link["misses"] > 0.01 * link["steps"]:  # a loaded machine: the controller was not punctual, the claim is moot
        pytest.skip(f"the controller missed {link['misses']} of {link['steps']} steps here: not punctual")
    assert r["episodes_run"] == 4 and r["paired"]["verdict"] == "equivalent", (r["paired"], link["misses"])


def test_deploy_real_start_up_without_buttons_keeps_the_robot_held_and_says_why(cli, policy, tmp_path):
    """deploy_real.py's zero-torque state (kp = kd = 0, waiting for the remote's start) does not start physics (the
    robot would start limp): the robot stays held, the run ends after --wait and says what came and what to give."""
    domain_id, dds = short_spec(tmp_path, 2.0), dds_domain()
    with running(script("deploy_real_controller", str(policy), domain_id, str(dds), "0.4")):
        r = cli("hil", "--domain", domain_id, "--bus", "unitree_go", "--dds-domain", dds, "-n", "2", "--wait", "3",
                "--json", tmp_path / "r.json", "--no-store")  # fmt: skip
    assert r.code == 2 and "zero-torque commands" in r.err and "--remote-buttons" in r.err, r.err
    assert "while held: " in r.out + r.err  # the terminal view says what came while held
    b = json.loads((tmp_path / "r.json").read_text())["results"]["bus"]
    assert b["commands"]["zero_torque_while_held"] > 20 and b["commands"]["applied"] == 0
    assert b["physics"]["steps"] == 0 and b["commands"]["wrong_motor_count"] == 0


def test_deploy_real_start_up_with_remote_buttons_runs_the_policy(policy, tmp_path):
    """--remote-buttons: the robot presses start while zero-torque commands come, A once the controller holds its
    default pose; the robot stays held through the start-up (nothing of it applied) and physics starts with the
    policy's first command: the A1 trots off as SIL does (no fall, about SIL's distance). The second episode starts
    with the running policy's first command (deploy_real.py does its start-up once)."""
    domain_id, dds = short_spec(tmp_path, 3.0), dds_domain()
    with running(script("deploy_real_controller", str(policy), domain_id, str(dds), "0.4")):
        rep = _run(domain_id, dds, episodes=2, realtime=True, remote_buttons=True, reference=str(policy))
    r, b = rep.results, rep.results["bus"]
    assert [p["button"] for p in b["remote_buttons"]["pressed"]] == ["start", "A"], b["remote_buttons"]
    c = b["commands"]
    assert c["zero_torque_while_held"] >= 1 and c["startup_while_held"] >= 20 + 5, c  # 0.4 s of moving, then held
    assert r["episodes_run"] == 2 and r["hil"]["falls"] == 0, r["hil"]
    assert r["hil"]["metrics"]["distance"] == pytest.approx(r["sil"]["metrics"]["distance"], rel=0.25)
    assert (
        c["wrong_motor_count"] == 0
        and c["applied"] == c["received"] - c["zero_torque_while_held"] - c["startup_while_held"]
    )


def test_sigterm_of_the_controller_mid_run_ends_the_run_with_a_clear_report(cli, policy, tmp_path):
    """The controller SIGTERMed in its first episode (lockstep): the robot waits --wait for its next command, then
    the run ends (no hang) with exit 1, one line and the report saying where the controller went silent."""
    domain_id, dds = short_spec(tmp_path, 2.0), dds_domain()
    ctl = controller(policy, domain_id, dds)
    with running(ctl, script("stop_after", str(dds), str(ctl.pid), "40")):
        t0 = time.monotonic()
        r = cli("hil", "--domain", domain_id, "--bus", "unitree_go", "--dds-domain", dds, "-n", "3", "--wait", "2",
                "--json", tmp_path / "r.json", "--no-store")  # fmt: skip
        assert time.monotonic() - t0 < 30
        assert ctl.wait(timeout=10) == 0  # it ended on the SIGTERM
    assert r.code == 1 and "the controller went silent after step" in r.err and "1 of 3 episodes ran" in r.err, r
    res = json.loads((tmp_path / "r.json").read_text())["results"]
    stopped = res["bus"]["controller_stopped"]
    assert stopped["episode"] == 0 and stopped["seed"] == 0 and 30 <= stopped["step"] < 100, stopped
    assert stopped["silent_s"] >= 2 and res["episodes_run"] == 1


def test_bad_commands_are_counted_and_never_applied(tmp_path):
    """Bad CRC and NaN commands are refused (the robot holds the pose the good ones ask: no fall), a slot the
    robot lacks is a wrong motor count, a target beyond a joint's range is counted."""
    domain_id, dds = short_spec(tmp_path, 1.0), dds_domain()
    with running(script("bad_controller", domain_id, str(dds))):
        rep = _run(domain_id, dds, episodes=2)
    c = rep.results["bus"]["commands"]
    bursts = c["bad_crc"]  # one of each kind per state the controller answered (lockstep may run on before all came)
    assert bursts >= 20 and c["nonfinite"] >= bursts - 1, c
    assert c["wrong_motor_count"] >= bursts - 1 and c["slots_the_robot_lacks"] == [19], c
    assert c["outside_joint_range"] >= bursts - 1, c
    assert c["applied"] == c["received"] - c["bad_crc"] - c["nonfinite"]
    assert rep.results["hil"]["falls"] == 0  # neither the NaN nor the bad-CRC pose was ever applied
    text = " ".join(rep.warnings)
    assert "wrong CRC" in text and "NaN" in text and "wrong motor count" in text


def test_a_controller_that_never_publishes_ends_with_a_report_and_exit_2(cli, tmp_path):
    domain_id, dds = short_spec(tmp_path), dds_domain()
    t0 = time.monotonic()
    r = cli("hil", "--domain", domain_id, "--bus", "unitree_go", "--dds-domain", dds, "-n", "2", "--wait", "1",
            "--json", tmp_path / "r.json", "--no-store")  # fmt: skip
    assert r.code == 2 and "no valid command came on rt/lowcmd within 1 s" in r.err, r.err
    assert time.monotonic() - t0 < 15
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["results"]["bus"]["no_command"]["episode"] == 0 and rep["results"]["episodes_run"] == 0
    assert rep["results"]["bus"]["states_published"] > 100  # it held the robot and published meanwhile


def test_interface_that_does_not_exist_is_one_line(bad, tmp_path):
    r = bad(2, "hil", "--domain", short_spec(tmp_path), "--bus", "unitree_go", "--interface", "nosuch0", "--no-store")
    assert "--interface nosuch0: no such network interface" in r.err
    r = bad(2, "hil", "--domain", short_spec(tmp_path), "--bus", "unitree_xx", "--no-store")
    assert "choose unitree_hg or unitree_go" in r.err
    r = bad(2, "hil", "--domain", "quadruped/trot", "--bus", "unitree_go", "--no-store")
    assert "--bus needs a robot from a deploy spec" in r.err


def test_another_robot_on_the_domain_is_warned(tmp_path):
    domain_id, dds = short_spec(tmp_path), dds_domain()
    with running(script("other_robot", str(dds), "20")) as (other,):
        assert other.stdout.readline().strip() == "publishing"
        rep = _run(domain_id, dds, episodes=2, first_command_timeout_s=0.5)
    assert rep.results["bus"]["other_state_publishers"] >= 1
    assert any("other participant(s) publishing rt/lowstate" in w for w in rep.warnings), rep.warnings


def test_killing_edgeperf_leaves_the_controller_to_end_itself(policy, tmp_path):
    """SIGKILL of edgeperf mid-run: no handler runs; the controller notices the silence and exits (--idle-exit)."""
    domain_id, dds = short_spec(tmp_path, 20.0), dds_domain()
    robot = subprocess.Popen(
        [sys.executable, "-m", "edgeperf", "hil", "--domain", domain_id, "--bus", "unitree_go", "--dds-domain",
         str(dds), "-n", "2", "--realtime", "--no-store"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with running(robot, controller(policy, domain_id, dds)) as (_, ctl):
        time.sleep(6)
        assert robot.poll() is None and ctl.poll() is None
        os.kill(robot.pid, signal.SIGKILL)
        ctl.wait(timeout=15)  # idle-exit 3 s
    assert "no state on rt/lowstate" in ctl.stderr.read()


@pytest.mark.slow
def test_realtime_sleeping_controller_misses_are_reported(policy, tmp_path):
    """A controller that sleeps 30 ms before every 10th command misses control steps in realtime: the report
    counts them (about one per 10 steps), the late intervals show in the jitter, and the task is still run."""
    domain_id, dds = short_spec(tmp_path, 4.0), dds_domain()
    with running(controller(policy, domain_id, dds, "--sleep-every", "10", "--sleep-ms", "30")):
        rep = _run(domain_id, dds, episodes=2, realtime=True, reference=str(policy))
    link, b = rep.results["link"], rep.results["bus"]
    assert link["misses"] >= 0.05 * link["steps"], link
    assert b["interval_us"]["max"] > 40_000
    assert rep.results["episodes_run"] == 2 and "paired" in rep.results


def _robot(tmp_path, mode="lockstep", **kw):
    """A Robot on a participant of its own, with no controller: its methods are called by the test."""
    from edgeperf.bus import dds
    from edgeperf.bus.robot import Robot

    participant = dds.Participant(dds_domain(), "lo")
    return participant, Robot(short_spec(tmp_path, 1.0), "unitree_go", participant, mode=mode, **kw)


def _good_command(bot):
    """A valid command (the default pose on the spec's gains) as the reading thread gets it (its bytes)."""
    from edgeperf.bus import unitree

    cmd = bot.family.cmd()
    for i, s in enumerate(bot.slots):
        m = cmd.motor_cmd[s]
        m.q, m.kp, m.kd = float(bot.spec.default_pos[i]), float(bot.spec.kp[i]), float(bot.spec.kd[i])
    cmd.crc = unitree.crc(cmd)
    return cmd.serialize()


@pytest.mark.parametrize("family", ["unitree_go", "unitree_hg"])
def test_the_drivers_take_each_joint_s_values_from_the_command_s_bytes(family):
    """The motor drivers read a command straight from its bytes: every driven joint gets its own slot's q, dq, tau,
    kp, kd (random values, so a value from the wrong slot or field shows); a non-finite one anywhere is refused."""
    import numpy as np

    from edgeperf.bus import unitree
    from edgeperf.bus.robot import BusLog, Motors, motor_slots, spec_of

    fam, spec = unitree.FAMILIES[family], spec_of(f"mujoco:{FIXTURE}")
    slots, n = motor_slots(spec), spec.n
    motors = Motors(spec, fam, slots, np.zeros((n, 2)), np.zeros(n, bool), np.full(n, 33.5))
    cmd, rng = fam.cmd(), np.random.default_rng(0)
    for m in cmd.motor_cmd:
        m.q, m.dq, m.tau, m.kp, m.kd = (float(np.float32(x)) for x in rng.normal(size=5))
    cmd.crc = unitree.crc(cmd)
    assert motors.take(cmd.serialize(), BusLog())
    fields = ("q", "dq", "tau", "kp", "kd")
    assert motors.cmd.tolist() == [[getattr(cmd.motor_cmd[s], k) for s in slots] for k in fields]
    cmd.motor_cmd[slots[-1]].kd = float("inf")
    cmd.crc = unitree.crc(cmd)
    log = BusLog()
    assert not motors.take(cmd.serialize(), log) and log.nonfinite == 1


def test_a_command_as_the_first_episode_starts_accepting_is_applied(tmp_path):
    """The reading thread may take a command as soon as the robot accepts them: the fields it reads are set by
    then (an AttributeError there would end the reading thread, and every later command would be lost)."""
    from edgeperf.bus.robot import Motors, _bus_env_class

    participant, bot = _robot(tmp_path)
    try:
        env = _bus_env_class()(bot.bus_spec, seed=0)
        env.reset(seed=0)
        b = env.b
        bot.motors = Motors(bot.spec, bot.family, bot.slots, b.ranges, b.limited, b.torque_limit)
        bot._accepting = True  # what episode() does first, before the rest of its set-up
        bot._on_command(0, _good_command(bot))
        env.close()
    finally:
        participant.close()
    assert bot.log.applied == 1


def test_lockstep_waits_for_a_command_after_the_state_it_publishes(tmp_path):
    """Lockstep: a command that came before the control step's state (a second one for the state before, or a
    controller publishing on its own clock) does not answer it: the robot waits, and without a later one the
    step is a miss and the controller stalled."""
    from edgeperf.bus.robot import Motors, _bus_env_class

    participant, bot = _robot(tmp_path, lockstep_timeout_s=0.2)
    try:
        env = _bus_env_class()(bot.bus_spec, seed=0)
        env.robot = bot
        env.reset(seed=0)
        b = env.b
        bot.motors = Motors(bot.spec, bot.family, bot.slots, b.ranges, b.limited, b.torque_limit)
        bot.motors.hold(env.data.qpos[b.qpos].copy(), 0, 0)
        bot._tick0, bot._stalled = 0, False
        bot._accepting = True
        bot._on_command(0, _good_command(bot))  # came during the control step before
        ctrl = env.data.ctrl[b.ctrl]
        bot.physics_step(env, bot.spec.decimation, ctrl)  # a control step's start: publish, then wait
        env.close()
    finally:
        participant.close()
    assert bot.log.steps == 1 and bot.log.misses == 1 and bot._stalled


def test_a_command_that_comes_while_the_state_is_written_answers_that_state(tmp_path):
    """The publish time is kept before the write: a controller that answers before write() returns (loopback)
    is aged from that state, not from the one before (a whole physics period too old)."""
    from edgeperf.bus.robot import _bus_env_class, _now

    participant, bot = _robot(tmp_path)
    seen = []

    class Writer:  # the answer comes while the state is being written
        def write(self, msg):
            seen.append(bot._pub_before(_now()))

    try:
        bot.writer = Writer()
        env = _bus_env_class()(bot.bus_spec, seed=0)
        env.reset(seed=0)
        published = [bot.publish(env, 0), bot.publish(env, 1)]
        env.close()
    finally:
        participant.close()
    assert seen == published
