"""The examples at the end of each command's --help (its epilog) and of its page in docs/reference/cli/.

Each is a few command lines a user can adapt; tests/docs/test_cli_help.py checks that every command has some and
that each names a command and options that exist."""

from __future__ import annotations

EXAMPLES: dict[str, list[str]] = {
    "export": [
        "edgeperf export policy_1.pt -o policy.onnx --obs-shape 48",
        "edgeperf export ppo.zip --vecnormalize vecnormalize.pkl -o policy.onnx --domain gym:Pendulum-v1",
        "edgeperf export reference:quadruped/trot -o trot.xml --precision int8 --domain quadruped/trot",
        "edgeperf export --factory nets.py:make_policy --weights policy.pt -o policy.onnx --obs-shape 48",
    ],
    "profile": [
        "edgeperf profile policy.onnx --rate 50 --duration 20 --json profile.json",
        "edgeperf profile policy.onnx --observations domain:quadruped/trot --csv timings.csv --plot latency.png",
        "edgeperf profile policy.onnx --device jetson --host user@robot --rate 50",
        "edgeperf profile chunks.onnx --chunk-steps 8 --rate 20",
    ],
    "validate": [
        "edgeperf validate policy.onnx --domain quadruped/trot --latency-from profile.json",
        "edgeperf validate ppo.onnx --domain gym:Pendulum-v1 --reference ppo.zip --episodes 50",
        "edgeperf validate policy.onnx --domain quadruped/trot --latency-sweep 0,20,40,80",
        "edgeperf validate chunks.onnx --domain pendulum/chunks --chunk-exec open-loop --chunk-steps 8",
    ],
    "sim2sim": [
        "edgeperf sim2sim trot.onnx --domain quadruped/trot --to mujoco/a1-trot -n 20",
        "edgeperf sim2sim trot.onnx --domain quadruped/trot --to mujoco:go2.toml --randomize friction=1,0.5,0.3",
    ],
    "doctor": [
        "edgeperf doctor policy.onnx --domain mujoco:g1.yaml -o fixed.yaml",
        "edgeperf doctor policy.onnx --domain mujoco:g1.yaml --recording rollout.npz --latency-from profile.json",
    ],
    "devices": ["edgeperf devices", "edgeperf devices --list --json"],
    "measure": [
        "edgeperf measure --json train.json -- python train.py",
        "edgeperf measure --power estimate -- python collect_demos.py",
    ],
    "hil": [
        "edgeperf hil trot.onnx --domain quadruped/trot --connect robot.local:7007 --token-file token",
        "edgeperf hil trot.onnx --domain quadruped/trot --host user@robot",
        "edgeperf hil --domain mujoco:go2.toml --bus unitree_go --reference policy.onnx",
    ],
    "demo": ["edgeperf demo", "edgeperf demo --out out/demo --episodes 10"],
    "serve": [
        "edgeperf serve policy.onnx",
        "edgeperf serve policy.onnx --bind 0.0.0.0:7007 --token-file token",
        "edgeperf serve policy.onnx --protocol openpi --bind 127.0.0.1:8000",
    ],
    "link": ["edgeperf link --listen 127.0.0.1:7008 --forward 127.0.0.1:7007 --delay 50 --jitter 30 --loss 10"],
    "history": [
        "edgeperf history",
        "edgeperf history --schema profile --device jetson-orin-nano --since 7d",
        "edgeperf history --import old/*.json",
    ],
    "compare": [
        "edgeperf compare 3f2a9c 8b1d04",
        "edgeperf compare baseline.json profile.json --threshold 5 --fail-on-regression",
    ],
    "check": ["edgeperf check --budget edgeperf.toml export.json profile.json validate.json"],
    "reliability": [
        "edgeperf reliability runs/ppo/seed0 runs/ppo/seed1 runs/ppo/seed2 --json ppo.json",
        "edgeperf reliability tb/PPO_1 tb/PPO_2 tb/PPO_3 --tag eval/mean_reward",
    ],
    "generalize": [
        "edgeperf generalize trot.onnx --domains quadruped/trot,quadruped/pace,quadruped/spin -n 10",
    ],
    "sweep": ["edgeperf sweep fleet.toml", "edgeperf sweep fleet.toml --executor ray --address head:6379"],
    "report": [
        "edgeperf report 3f2a9c -o report.html",
        "edgeperf report profile.json --timings timings.csv -o report.html",
    ],
    "plan": [
        "edgeperf plan reference:quadruped/trot --domain quadruped/trot -o out/plan --budget 'p99<=10ms,miss<=1%'",
    ],
}


def epilog(name: str) -> str | None:
    """The epilog of command `name`: its examples as a fenced code block, rendered by --help's markdown (typer
    dedents an epilog, so an indented block would become a paragraph)."""
    lines = EXAMPLES.get(name)
    if not lines:
        return None
    return "Examples:\n\n```sh\n" + "\n".join(lines) + "\n```"
