"""Write the A1 scene of the test fixtures (tests/fixtures/mujoco/unitree_rl_gym/resources/robots/a1/a1.xml):
pybullet_data's Unitree A1 as MuJoCo compiles it (a floating base, a floor, the trunk at its standing height,
one motor per joint with the A1's 33.5 N m limit, in the URDF's joint order FR, FL, RR, RL), the scene that the
unitree_rl_gym- and edgeperf-format fixtures name. Run: .venv/bin/python scripts/make_a1_mjcf.py
"""

from __future__ import annotations

from pathlib import Path

import mujoco

from edgeperf.domains.mujoco.a1 import JOINTS, mjspec
from edgeperf.domains.quadruped.task import STAND_HEIGHT, TORQUE_LIMIT

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mujoco"
OUT = FIXTURES / "unitree_rl_gym" / "resources" / "robots" / "a1" / "a1.xml"


def main() -> None:
    ms = mjspec()
    for mesh in list(ms.meshes):  # visual meshes only: MuJoCo discards a URDF's visuals
        ms.delete(mesh)
    for name in JOINTS:
        act = ms.add_actuator()
        act.name = name.replace("_joint", "")
        act.target = name
        act.trntype = mujoco.mjtTrn.mjTRN_JOINT
        act.set_to_motor()
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.ctrlrange = [-TORQUE_LIMIT, TORQUE_LIMIT]
    ms.body("trunk").pos = [0.0, 0.0, STAND_HEIGHT]  # standing on the floor in the default pose
    ms.modelname = "a1"
    ms.compile()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(ms.to_xml())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
