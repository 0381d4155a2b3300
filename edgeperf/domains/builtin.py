"""The domains edgeperf ships, by string entry point (nothing heavy is imported here)."""

from edgeperf.domains.base import register, register_family

# Families of ids built on demand, first match wins
register_family("gym:", "edgeperf.domains.gym:family")  # any installed gymnasium environment
register_family("mujoco:", "edgeperf.domains.mujoco:spec_domain")  # any deploy spec file
register_family("mujoco/a1-", "edgeperf.domains.mujoco:a1_domain")  # the A1 twin with randomisation fixed (a1-trot,..)
register_family("floorplan:", "edgeperf.domains.floorplan:domain")  # any netlist file

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
