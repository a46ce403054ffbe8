"""A run directory: the trained checkpoints, run.json with configuration, metrics, curve and machine."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from neuralinv.common.errors import InputError
from neuralinv.common.files import write_json
from neuralinv.common.machine import describe
from neuralinv.nets.checkpoint import save_network
from neuralinv.training.config import MatrixData, TrainConfig
from neuralinv.training.evaluation import evaluate
from neuralinv.training.loop import train_group
from neuralinv.training.pairs import evaluation_pairs
from neuralinv.training.result import TrainResult

RUN_FILE = "run.json"
STATE_FILE = "train-state.safetensors"  # present only while a run is unfinished


def checkpoint_name(seed: int) -> str:
    """The file name of a seed's checkpoint in a run directory."""
    return f"seed-{seed}.safetensors"


def summarize_result(result: TrainResult) -> dict:
    """run.json's content for a finished training result."""
    config = result.config
    region = result.networks[0].region
    # One test set for the networks and the linear approximation (Taylor-1), as run.json promises: the held-out
    # matrices of a --matrices run, else seeded samples of the region (kept by the rejection rule, if any).
    stats: dict = {}
    test_a, _ = evaluation_pairs(config, stats=stats)
    rows = evaluate({str(s): net for s, net in zip(config.seeds, result.networks)}, region, matrices=test_a)
    maes = [rows[str(s)]["mae"] for s in config.seeds]
    return {
        "config": config.to_json(),
        "data": data_summary(config, region, len(test_a), stats),
        "per_seed": {str(s): rows[str(s)] for s in config.seeds},
        "test_mae": {str(s): m for s, m in zip(config.seeds, maes)},
        "mae_mean": statistics.fmean(maes),
        "mae_std": statistics.stdev(maes) if len(maes) > 1 else 0.0,
        # None when the centre is singular: the linear approximation expands around A0^-1, which does not exist.
        "linear_mae": rows["taylor1"]["mae"] if "taylor1" in rows else None,
        "steps": config.steps,
        "schedule_epochs": config.schedule_epochs,
        "wall_time_s": result.wall_time,
        "curve": {"steps": result.curve_steps, "loss": result.curve_losses},
        "checkpoints": {str(s): checkpoint_name(s) for s in config.seeds},
        "machine": describe(),
    }


def data_summary(config: TrainConfig, region, test_count: int, stats: dict) -> dict:
    """run.json's "data": where the training and test matrices came from and how many there were."""
    data = {
        "source": config.source,
        "region": region.describe(),
        "train_count": config.train_size,
        "test_count": test_count,
    }
    source = config.data
    if isinstance(source, MatrixData):
        data.update(
            matrices=source.path,
            sha256=source.sha256,
            shape=list(source.shape),
            holdout=source.holdout,
            split_seed=source.split_seed,
            test_set="the held-out matrices of the file",
        )
    if config.rule is not None:
        data["accept"] = config.rule.to_json()
        data["accept_rule"] = config.rule.describe()
        if stats.get("drawn"):
            data["test_acceptance_rate"] = stats["accepted"] / stats["drawn"]
    return data


def read_run(out: str | Path) -> dict:
    """run.json of the run directory out; a one-line InputError when there is none."""
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


def run_training(
    config: TrainConfig, out: str | Path, *, progress: bool = True, resume: bool = False, save_every_s: float = 30.0
) -> dict:
    """Train config into out (checkpoints and run.json, each written atomically) and return run.json's content.

    The training state is saved to out/train-state.safetensors every save_every_s seconds and on Ctrl-C/SIGTERM;
    resume=True continues from it (or returns the finished run.json of the same configuration).
    """
    out = Path(out)
    if not resume and (out / STATE_FILE).is_file():
        raise InputError(
            f"out: {str(out)!r} holds an interrupted run: continue it with resume=True, or choose another directory"
        )
    return run_group([config], [out], state_path=out / STATE_FILE, progress=progress, save_every_s=save_every_s)[0]


def run_group(
    configs: list[TrainConfig],
    outs: list[str | Path],
    *,
    state_path: str | Path,
    progress: bool = True,
    save_every_s: float = 30.0,
) -> list[dict]:
    """Train configurations that share one ensemble (train_group) into their own run directories.

    Runs already finished in their directory are reused; if all are, nothing trains. An interrupted group resumes
    from state_path, which is removed once every run.json is written.
    """
    outs = [Path(o) for o in outs]
    done = [finished(o, c) for c, o in zip(configs, outs)]
    if all(d is not None for d in done):
        return done
    todo = [(c, o) for c, o, d in zip(configs, outs, done) if d is None]
    state_path = Path(state_path)
    make_directory(state_path.parent)  # before training: a bad --out fails at once
    results = train_group([c for c, _ in todo], progress=progress, state_path=state_path, save_every_s=save_every_s)
    for (config, out), result in zip(todo, results):
        make_directory(out)
        for seed, net in zip(config.seeds, result.networks):
            save_network(net, out / checkpoint_name(seed))
        write_json(out / RUN_FILE, summarize_result(result))
    state_path.unlink(missing_ok=True)
    return [finished(o, c) for c, o in zip(configs, outs)]


def make_directory(path: Path) -> None:
    """mkdir -p path; a one-line InputError naming it when it cannot be made (no such parent, not allowed, a file)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"out: cannot create the directory {str(path)!r} ({err.strerror or err})") from None
