"""edgeperf as the robot on a DDS bus (hil --bus): the unitree_sdk2 layouts, the DDS transport, the simulated robot
and the run that judges a controller on it."""
