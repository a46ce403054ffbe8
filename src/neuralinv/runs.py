"""A run directory: the trained checkpoints, run.json with configuration, metrics, curve and machine."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from neuralinv import checkpoint
from neuralinv.environment import describe
from neuralinv.errors import InputError
from neuralinv.evaluate import evaluate, linear_mae
from neuralinv.files import write_json
from neuralinv.train import TrainConfig, TrainResult, train_ensemble

RUN_FILE = "run.json"


def checkpoint_name(seed: int) -> str:
    return f"seed-{seed}.safetensors"


def summarize_result(result: TrainResult) -> dict:
    """run.json's content for a finished training result."""
    config = result.config
    box = result.networks[0].box
    rows = evaluate({str(s): net for s, net in zip(config.seeds, result.networks)}, box,
                    test_size=config.test_size, baselines=False)
    maes = [rows[str(s)]["mae"] for s in config.seeds]
    return {
        "config": config.to_json(),
        "per_seed": {str(s): rows[str(s)] for s in config.seeds},
        "test_mae": {str(s): m for s, m in zip(config.seeds, maes)},
        "mae_mean": statistics.fmean(maes),
        "mae_std": statistics.stdev(maes) if len(maes) > 1 else 0.0,
        "linear_mae": linear_mae(box, test_size=config.test_size),
        "steps": config.steps,
        "schedule_epochs": config.schedule_epochs,
        "wall_time_s": result.wall_time,
        "curve": {"steps": result.curve_steps, "loss": result.curve_losses},
        "checkpoints": {str(s): checkpoint_name(s) for s in config.seeds},
        "machine": describe(),
    }


def read_run(out: str | Path) -> dict:
    path = Path(out) / RUN_FILE
    if not path.is_file():
        raise InputError(f"run: no {RUN_FILE} in {str(out)!r}")
    return json.loads(path.read_text())


def finished(out: str | Path, config: TrainConfig) -> dict | None:
    """run.json of a finished run of exactly this configuration in out, else None."""
    path = Path(out) / RUN_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data if data.get("config") == config.to_json() else None


def run_training(config: TrainConfig, out: str | Path, *, progress: bool = True) -> dict:
    """Train config into out (checkpoints and run.json, each written atomically) and return run.json's content."""
    out = Path(out)
    result = train_ensemble(config, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    for seed, net in zip(config.seeds, result.networks):
        checkpoint.save(net, out / checkpoint_name(seed))
    summary = summarize_result(result)
    write_json(out / RUN_FILE, summary)
    return summary
