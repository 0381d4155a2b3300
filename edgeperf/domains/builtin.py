"""The domains edgeperf ships, by string entry point (nothing heavy is imported here)."""

from edgeperf.domains.base import register

for _task in ("trot", "pace", "spin", "trot-push"):
    register(f"quadruped/{_task}", "edgeperf.domains.quadruped:domain")
for _task in ("trot", "pace", "spin", "trot-push"):
    register(f"mujoco/a1-{_task}", "edgeperf.domains.mujoco:a1_domain")
register("pendulum/no-velocity", "edgeperf.domains.pendulum:no_velocity")
register("pendulum/chunks", "edgeperf.domains.pendulum:chunks")

for _netlist in ("toy", "ariane-like"):
    register(f"floorplan/{_netlist}", "edgeperf.domains.floorplan:domain")

for _task in ("click-button", "click-checkboxes", "enter-text", "login-user", "click-tab", "multi-orderings"):
    register(f"web/{_task}", "edgeperf.domains.web:domain")

register("vision/pendulum", "edgeperf.domains.vision:domain")
