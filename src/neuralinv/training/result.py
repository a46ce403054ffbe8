"""TrainResult: what training returns, one per configuration: its networks, loss curve and wall time."""

from __future__ import annotations

from dataclasses import dataclass

from neuralinv.nets.mlp import Network
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Region
from neuralinv.training.config import MatrixData, TrainConfig
from neuralinv.training.engine import StackedMLP


@dataclass
class TrainResult:
    """Per-model networks, the loss curve (steps, per-model losses), wall time."""

    config: TrainConfig
    networks: list[Network]
    curve_steps: list[int]
    curve_losses: list[list[float]]  # [point][model]
    wall_time: float


def network_info(config: TrainConfig, seed: int) -> dict:
    """The metadata a trained network carries into its checkpoint."""
    info = {
        "dataset": config.dataset,
        "model": config.model,
        "seed": seed,
        "steps": config.steps,
        "scaling": config.scaling,
    }
    if config.rule is not None:  # evaluate applies it to samples of the checkpoint's own region
        info["accept"] = config.rule.to_json()
    if isinstance(config.data, MatrixData):
        info["matrices"] = config.data.path
    return info


def split_results(
    members: list[tuple[TrainConfig, Region, Scaling]], stack: StackedMLP, curve: dict, wall: float
) -> list[TrainResult]:
    """One TrainResult per configuration of an ensemble: its models are the next len(config.seeds) of the stack."""
    results, e = [], 0
    for config, region, scaling in members:
        networks, first = [], e
        for seed in config.seeds:
            layers = [(w[e].cpu().clone(), b[e].cpu().clone()) for w, b in stack.layers]
            networks.append(Network(layers, region, scaling, network_info(config, seed)))
            e += 1
        losses = [row[first:e] for row in curve["loss"]]
        results.append(TrainResult(config, networks, list(curve["steps"]), losses, wall))
    return results
