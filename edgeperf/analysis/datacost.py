"""The energy a policy cost to make, as A2Perf charges it.

- Training: a `edgeperf measure` report of the training run. A2Perf's checkpoint rule: checkpoint k of K (the
  k-th of K evenly spaced checkpoints, K the last) costs k/K of the training run's energy, since training up to
  it took k/K of the run.
- Data (imitation learning, offline RL): a `edgeperf measure` report of the data collection and the number of
  samples (transitions) it produced: the data cost per sample is its energy / samples, and the whole dataset's
  is charged to every policy trained from it.
An energy the measure report labels an estimate stays labelled; one it could not measure is absent, with its
reason, never 0.
"""

from __future__ import annotations

from edgeperf.errors import BadInput
from edgeperf.results import figures
from edgeperf.results.kinds import MeasureResults
from edgeperf.results.report import load_report

CHECKPOINT_RULE = "checkpoint k of K costs k/K of the training run's energy (A2Perf)"


def parse_checkpoint(text: str) -> tuple[int, int]:
    """'k/K' -> (k, K), 1 <= k <= K."""
    try:
        k, total = (int(p) for p in str(text).split("/"))
    except ValueError:
        raise BadInput(f"--checkpoint {text}: give k/K, e.g. 3/10 (the 3rd of 10 evenly spaced checkpoints)") from None
    if not 1 <= k <= total:
        raise BadInput(f"--checkpoint {text}: k must be from 1 to K")
    return k, total


def _energy(path: str, role: str) -> tuple[dict, str | None]:
    """({energy_J, estimate, source, report}, why unmeasured) from a measure report."""
    doc = figures.document(load_report(path, "measure").to_dict())
    res: MeasureResults = doc.results
    power = res.power
    energy = figures.walk(power, "total", "energy_J")
    if energy is None:
        why = doc.why("energy", "power", default="the report has no energy")
        return {"report": str(path), "run_id": doc.run_id}, f"the {role} report {path} measured no energy: {why}"
    return {
        "report": str(path),
        "run_id": doc.run_id,
        "energy_J": float(energy),
        "estimate": bool(power.estimate),
        "source": power.source,
        "wall_s": res.wall_s,
    }, None


def cost(
    training: str | None = None, checkpoint: str | None = None, data: str | None = None, samples: int | None = None
) -> tuple[dict, dict]:
    """(the `cost` block of a report, unmeasured)."""
    out, unmeasured = {}, {}
    charged: list[tuple[dict, str]] = []  # (a part's block, the key of the energy it charges)
    if checkpoint is not None and training is None:
        raise BadInput("--checkpoint needs --training MEASURE.json (the energy of the training run)")
    if (data is None) != (samples is None):
        raise BadInput("--data MEASURE.json and --samples N go together (the data collection and what it produced)")
    if samples is not None and samples < 1:
        raise BadInput(f"--samples must be at least 1, got {samples}")
    k, total = parse_checkpoint(checkpoint) if checkpoint is not None else (1, 1)
    if training is not None:
        block, why = _energy(training, "training")
        block.update(rule=CHECKPOINT_RULE, checkpoint=k, checkpoints=total)
        if why:
            unmeasured["cost.training"] = why
        else:
            block["checkpoint_energy_J"] = block["energy_J"] * k / total
            charged.append((block, "checkpoint_energy_J"))
        out["training"] = block
    if data is not None:
        block, why = _energy(data, "data collection")
        block["samples"] = samples
        if why:
            unmeasured["cost.data"] = why
        else:
            block["per_sample_J"] = block["energy_J"] / samples
            block["dataset_J"] = block["energy_J"]
            charged.append((block, "dataset_J"))
        out["data"] = block
    if out and not unmeasured:
        # The parts given: the checkpoint's share of training, plus the dataset it was trained from.
        out["total_J"] = sum(b[key] for b, key in charged)
        out["total_parts"] = [name for name in ("training", "data") if name in out]
        out["estimate"] = any(b["estimate"] for b, _ in charged)
    return out, unmeasured
