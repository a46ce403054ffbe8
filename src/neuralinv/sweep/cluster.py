"""Training groups on a Ray cluster: `neuralinv reproduce --address ADDR` sends each ensemble of Table 1 to a worker.

Each group (the cells of one matrix size and model) trains on a worker into a temporary directory there; its run
directories (checkpoints and run.json) come back through Ray's object store, so the cluster needs no shared file
system, and the driver writes them into DIR/runs atomically, as a local run would. A group already finished in DIR is
not sent again; one that fails is reported with its error while the others go on.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from neuralinv.common.errors import InputError
from neuralinv.common.files import atomic_path

# Ray's own processes: no usage reporting, the old (quiet) Tune output.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0", "RAY_AIR_NEW_OUTPUT": "0"}


def reachable(address: str, timeout: float = 5.0) -> None:
    """A one-line error now if nothing listens at HOST:PORT: ray.init would retry for minutes before giving up."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # "auto", a ray:// client address and the like: left to Ray
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise InputError(
            f"--address {address}: no Ray head answers there ({err.strerror or err}); start one with "
            "`ray start --head --port=PORT` or check the address"
        ) from None


def trial_device(cpus_per_trial: int, gpus_per_trial: float) -> str:
    """Check --cpus-per-trial and --gpus-per-trial; the device a trial trains on ("cuda" with GPUs)."""
    if cpus_per_trial < 1:
        raise InputError(f"--cpus-per-trial: expected a positive integer, got {cpus_per_trial}")
    if gpus_per_trial < 0:
        raise InputError(f"--gpus-per-trial: expected a number >= 0, got {gpus_per_trial}")
    return "cuda" if gpus_per_trial > 0 else "cpu"


def ray_init(address: str | None, cpus: int | None = None, gpus: int | None = None):
    """Join the cluster at address (callers check it with `reachable` first, before writing anything), or start a
    local Ray (this machine's cores, or cpus)."""
    import ray

    for key, value in RAY_ENV.items():
        os.environ.setdefault(key, value)
    logging.getLogger("ray.tune").setLevel(logging.CRITICAL)  # failed trials are recorded by the caller instead
    kwargs = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        try:
            return ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise InputError(
                f"--address {address}: cannot join a Ray cluster there ({str(err).splitlines()[0]})"
            ) from None
    # Ray binds a local instance to the machine's interface address, whatever ray.init is told (it turns 127.0.0.1
    # into a "remotely reachable" address): where it must not, run the command in a network namespace of its own
    # (benchmarks/loopback.sh), where only loopback exists.
    return ray.init(num_cpus=cpus, num_gpus=gpus, **kwargs)


def _train_remote(configs_json: list[dict], names: list[str], device: str) -> dict[str, bytes]:
    """On a worker: train the group into a temporary directory; every file of its run directories, as bytes."""
    from neuralinv.sweep.pack import node_name
    from neuralinv.training.runs import run_group
    from neuralinv.training.train import TrainConfig

    configs = [TrainConfig.from_json(c) for c in configs_json]
    trained = [replace(c, device=device) for c in configs]
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / name for name in names]
        run_group(trained, outs, state_path=Path(tmp) / "state.safetensors", progress=False)
        files = {}
        for config, out in zip(configs, outs):
            run = json.loads((out / "run.json").read_text())
            # The driver's configuration (its device) identifies the run; where it trained is recorded beside it.
            run["config"], run["trained_on"] = config.to_json(), {"device": device, "node": node_name()}
            (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
            for path in out.iterdir():
                files[f"{out.name}/{path.name}"] = path.read_bytes()
        return files


def train_groups(
    groups: list[tuple[str, list, list[Path]]],
    *,
    address: str,
    cpus_per_trial: int = 1,
    gpus_per_trial: float = 0,
    progress: bool = True,
) -> list[str]:
    """Train (name, configs, run dirs) groups on the cluster at address; returns the errors of groups that failed."""
    import ray
    from tqdm import tqdm

    device = trial_device(cpus_per_trial, gpus_per_trial)
    started_here = not ray.is_initialized()
    if started_here:
        ray_init(address)
    errors = []
    try:
        remote = ray.remote(num_cpus=cpus_per_trial, num_gpus=gpus_per_trial, max_retries=0)(_train_remote)
        pending = {
            remote.remote([c.to_json() for c in configs], [d.name for d in dirs], device): (name, dirs)
            for name, configs, dirs in groups
        }
        bar = tqdm(total=len(pending), desc="training groups on Ray", unit="group", disable=not progress)
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            name, dirs = pending.pop(ref)
            try:
                files = ray.get(ref)
            except Exception as err:  # noqa: BLE001 - a failed group is reported, the others go on
                errors.append(f"{name}: {str(err).strip().splitlines()[-1]}")
            else:
                parent = dirs[0].parent
                for rel, data in sorted(files.items(), key=lambda kv: kv[0].endswith("run.json")):
                    with atomic_path(parent / rel) as tmp:  # run.json last: it marks a run finished
                        tmp.write_bytes(data)
            bar.update(1)
        bar.close()
    finally:
        if started_here:
            ray.shutdown()
    return errors
