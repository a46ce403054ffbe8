"""The resumable training state: weights, Adam moments, data streams and loss curve, as one safetensors file.

safetensors holds tensors and a JSON header only, so loading a state runs no code. The configurations are stored with
it, and a state is resumed only into the very configurations that wrote it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from neuralinv.common.errors import InputError
from neuralinv.common.files import atomic_path
from neuralinv.training.engine import FusedAdam, StackedMLP

if TYPE_CHECKING:
    from neuralinv.training.config import TrainConfig
    from neuralinv.training.data import BatchStream

META_KEY = "neuralinv-train-state"


def save_state(
    path,
    configs: list[TrainConfig],
    step: int,
    chunk_start: int,
    stack: StackedMLP,
    opt: FusedAdam,
    stream_states: list[dict],
    curve: dict,
) -> None:
    """Write the state atomically: after step steps, the data drawn from the streams' states at chunk_start."""
    tensors = {
        "params": stack.flat.detach().cpu(),
        "exp_avg": opt.exp_avg.cpu(),
        "exp_avg_sq": opt.exp_avg_sq.cpu(),
        "adam_step": opt.step_count.reshape(1).cpu(),
    }
    for i, st in enumerate(stream_states):
        tensors[f"stream.{i}.generator"] = st["generator"]
        tensors[f"stream.{i}.order"] = st["order"]
    meta = {"configs": [c.to_json() for c in configs], "step": step, "chunk_start": chunk_start, "curve": curve}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta)})


def load_state(
    path, configs: list[TrainConfig], stack: StackedMLP, opt: FusedAdam, streams: list[BatchStream]
) -> tuple[int, int, dict]:
    """Restore a saved state into stack, opt and streams; returns (step, chunk_start, curve). A state of other
    configurations is a one-line InputError naming the file."""
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()[META_KEY])
    if meta["configs"] != [c.to_json() for c in configs]:
        raise InputError(
            f"state_path: {str(path)!r} holds the state of another configuration; choose another directory or "
            "delete that file"
        )
    tensors = load_file(str(path))
    device = stack.flat.device
    with torch.no_grad():
        stack.flat.copy_(tensors["params"].to(device))
        opt.exp_avg.copy_(tensors["exp_avg"])
        opt.exp_avg_sq.copy_(tensors["exp_avg_sq"])
        opt.step_count.copy_(tensors["adam_step"].reshape(()))
    for i, s in enumerate(streams):
        s.restore({"generator": tensors[f"stream.{i}.generator"], "order": tensors[f"stream.{i}.order"]})
    return meta["step"], meta["chunk_start"], meta["curve"]
