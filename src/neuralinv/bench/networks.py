"""The networks Table 3 times: the Table 1 presets, untrained (timing does not depend on the weights' values),
trained ones found in run directories, or ones trained briefly here so the figure can show their error."""

from __future__ import annotations

from pathlib import Path

from neuralinv.common.errors import InputError
from neuralinv.nets import checkpoint
from neuralinv.nets.mlp import Network, get_model, init_layers
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import TABLE1_DATASETS, get_dataset
from neuralinv.training.runs import RUN_FILE, read_run
from neuralinv.training.train import TrainConfig, train_ensemble


def random_network(dataset: str, model: str, *, seed: int = 0) -> Network:
    """An untrained network of the preset's shape: timing does not depend on the weights' values."""
    box = get_dataset(dataset).region
    layers = init_layers(get_model(model).layer_sizes(box.n), seed)
    return Network(layers, box, Scaling.for_region(box), {"dataset": dataset, "model": model, "trained": False})


def networks_from_runs(paths) -> dict[tuple[str, str], Network]:
    """Trained networks keyed by (dataset, model) from run directories (found recursively under each path).

    The lowest seed of each run is used; a later run of the same (dataset, model) replaces an earlier one.
    """
    found = {}
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(f"runs: no such directory {str(path)!r}")
        for run_file in sorted(path.rglob(RUN_FILE)) if path.is_dir() else []:
            run = read_run(run_file.parent)
            config = run.get("config", {})
            key = (config.get("dataset"), config.get("model"))
            if key[0] not in TABLE1_DATASETS or not run.get("checkpoints"):
                continue
            seed = min(run["checkpoints"], key=int)
            found[key] = checkpoint.load_network(run_file.parent / run["checkpoints"][seed])
    return found


def short_training(datasets, models, *, steps: int | None = None, device="cpu") -> dict[tuple[str, str], Network]:
    """One seed of each (dataset, model) trained for steps (default and 16x16 cap: the preset's quick steps)."""
    out = {}
    for ds in datasets:
        quick = get_dataset(ds).quick_steps
        for model in models:
            n_steps = quick if steps is None else min(steps, quick) if get_dataset(ds).n > 3 else steps
            config = TrainConfig.resolve(ds, model, steps=n_steps, seeds=(0,), device=str(device))
            net = train_ensemble(config, progress=False).networks[0]
            net.info["trained_steps"] = n_steps
            out[(ds, model)] = net
    return out
