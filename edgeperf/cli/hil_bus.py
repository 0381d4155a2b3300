"""`edgeperf hil --bus`: edgeperf plays the robot on DDS for the user's controller (the library: edgeperf.bus.run).

Checks, runs, renders, writes and stores the report; the exit code: 2 when no valid command ever came (after the
report is written), 1 when the controller went silent for good before the episodes ran, or unless the task is
equivalent to SIL (with --reference).
"""

from __future__ import annotations

from edgeperf.bus.run import held_note, run
from edgeperf.errors import BadInput


def hil_bus(domain: str, bus: str, *, json_path, db, no_store, wait: float, **kw) -> None:
    """`edgeperf hil --bus`: check, run, render, write and store the report; the exit code's exception."""
    from edgeperf import verdict
    from edgeperf.cli.common import console, store_target, write_report
    from edgeperf.pipeline import open_policy
    from edgeperf.results import io

    if not domain:
        raise BadInput("give the robot with --domain mujoco:SPEC (its deploy spec)")
    store = store_target(db, no_store)
    io.check_paths({"--json": json_path, "--db": store and store.path}, {})
    con = console(json_path)
    mode = "realtime" if kw.get("realtime") else "lockstep"
    with con.status(
        f"the robot on DDS ({bus}, {kw['interface']}, domain {kw['dds_domain']}, {mode}): start your controller"
    ):
        report = run(domain, bus, opener=open_policy, first_command_timeout_s=wait, **kw)
    render(report, con)
    write_report(report, json_path, con, store=store)
    nc = report.results["bus"]["no_command"]
    if nc is not None:
        c = report.results["bus"]["commands"]
        why = held_note(c["startup_while_held"], c["zero_torque_while_held"]) or (
            f": is the controller running with --bus {bus} on interface {kw['interface']}, DDS domain "
            f"{kw['dds_domain']}?"
        )
        raise BadInput(f"no valid command came on rt/lowcmd within {nc['waited_s']:g} s (episode {nc['episode']}){why}")
    verdict.check(report)  # exit 1: the controller went silent with episodes left, or is not equivalent to SIL


def render(report, out) -> None:
    """The terminal view: the task (and SIL beside it), the verdict, then what the controller did."""
    from edgeperf.results import render as views

    r, b = report.results, report.results["bus"]
    c = b["commands"]
    where = f"{b['family']} ({b['interface']}, DDS domain {b['dds_domain']})"
    title = f"your controller on {where}, {r['domain']['id']}, {r['mode']}"
    if "hil" in r:
        columns = {"SIL": r["sil"], "bus": r["hil"]} if "sil" in r else {"bus": r["hil"]}
        out.print(views._summary_table(title, columns))
    else:
        out.print(title)
    if "paired" in r:
        out.print(views._verdict_line(r["paired"]))
    rate = f"{b['rate_hz']:.1f} Hz" if b["rate_hz"] else "no rate"
    jitter = f", jitter {b['jitter_us']:.0f} us" if b["jitter_us"] is not None else ""
    age = b["age_us"]
    ages = f"; state age p50 {age['p50']:.0f} / p99 {age['p99']:.0f} us" if age else ""
    out.print(f"commands: {c['applied']} applied of {c['received']} received, {rate}{jitter}{ages}")
    link = r["link"]
    out.print(
        f"{link['misses']} of {link['steps']} control steps without a new command (longest streak "
        f"{link['longest_miss_streak']}), {len(link['gaps'])} gaps; refused: {c['bad_crc']} bad CRC, "
        f"{c['nonfinite']} non-finite; {c['wrong_motor_count']} wrong motor count, {c['outside_joint_range']} "
        f"outside joint range, {c['outside_torque_limit']} beyond torque limit; {r['episodes_run']} of "
        f"{r['episodes']} episodes, {r['wall_s']:.1f} s wall for {r['simulated_s']:.1f} s simulated"
    )
    held = c["zero_torque_while_held"] + c["startup_while_held"]
    pressed = b["remote_buttons"]["pressed"]
    if held or pressed:
        keys = ", ".join(f"{p['button']} at {p['s']:.2f} s" for p in pressed)
        out.print(
            f"while held: {c['zero_torque_while_held']} zero-torque and {c['startup_while_held']} start-up commands "
            f"(not applied){'; remote: ' + keys if keys else ''}"
        )
    views._unmeasured_and_warnings(report, out)
