"""The reproduce report's "Why can't" section: train small nets, run every why-can't experiment, draw the figures.

report_section returns the numbers and the Markdown (written by neuralinv.experiments.limits.section).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import torch

from neuralinv.experiments.limits.counterexamples import counterexample
from neuralinv.experiments.limits.distance import error_vs_distance
from neuralinv.experiments.limits.model_error import Model
from neuralinv.experiments.limits.moments import moment_growth
from neuralinv.experiments.limits.plots import plot_error_vs_distance, plot_moments, plot_tail
from neuralinv.experiments.limits.section import section_markdown
from neuralinv.experiments.limits.settings import FIGURES, SAFE_BOX, SINGULAR_BOX, THRESHOLD
from neuralinv.linalg.classical import taylor_inverse
from neuralinv.paper.budgets import get_budget
from neuralinv.regions.shapes import Box

# The tail index of every net is estimated again on at most this many fresh samples.
_HILL_SAMPLES = 200_000


def linear_model(box: Box) -> tuple[str, Model]:
    """The Eq. 11 net (exact linear approximation) if the construction module is there, else Taylor-1 itself."""
    try:
        from neuralinv.nets.construction import linear_network

        return "Eq. 11 net", linear_network(box)
    except ImportError:
        center = torch.tensor(box.center)
        model = lambda a: taylor_inverse(a, center, 1)  # noqa: E731
        model.box = box
        return "linear approx.", model


def train_nets(box: Box, settings: dict, *, progress: bool, models=("2fc", "3fc")) -> tuple[dict, dict]:
    """Nets trained on box with the budget's settings, one per model and seed, named "2-FC" (or "2-FC s1" with
    several seeds), and what each training did: {name: Network}, {name: {model, seed, steps, ..., final_loss}}."""
    from neuralinv.training.train import TrainConfig, train_ensemble

    nets, info = {}, {}
    for model in models:
        config = TrainConfig.on_region(
            box,
            model,
            steps=settings["steps"],
            train_size=settings["train_size"],
            seeds=settings["seeds"],
            lr=settings["lr"],
        )
        result = train_ensemble(config, progress=progress)
        title = {"2fc": "2-FC", "3fc": "3-FC"}[model]
        for seed, net in zip(config.seeds, result.networks):
            name = title if len(config.seeds) == 1 else f"{title} s{seed}"
            nets[name] = net
            info[name] = {
                "model": model,
                "seed": seed,
                "steps": config.steps,
                "train_size": config.train_size,
                "final_loss": result.curve_losses[-1][config.seeds.index(seed)] if result.curve_losses else None,
                "wall_time_s": result.wall_time / len(config.seeds),
            }
    return nets, info


@contextmanager
def _timed(timings: dict, key: str):
    """timings[key] = the seconds the block took."""
    start = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - start


def report_section(out_dir: str | Path, *, budget: str = "quick", progress: bool = True) -> dict:
    """Run every why-can't experiment and write its figures into out_dir.

    Returns {"markdown": the "Why can't" section (figures referenced by file name, relative to out_dir),
    "results": every number as JSON-able data, "figures": [paths of the PNGs written]}.
    """
    settings = get_budget(budget).limits
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    timings = {}
    with _timed(timings, "training_s"):
        nets, train_info = train_nets(SINGULAR_BOX, settings, progress=progress)
        safe_nets, safe_info = train_nets(
            SAFE_BOX, settings | {"seeds": settings["seeds"][:1]}, progress=progress, models=("2fc",)
        )
    linear_name, linear = linear_model(SINGULAR_BOX)
    first = {name: net for name, net in nets.items() if name in ("2-FC", "3-FC", "2-FC s0", "3-FC s0")}
    safe_name = next(iter(safe_nets))
    with _timed(timings, "counterexamples_s"):
        # at E = 10^6 on each trained net, on the linear net, and on the safe net (its box widened)
        ces = {name: counterexample(net, THRESHOLD) for name, net in {**nets, linear_name: linear}.items()}
        ces[f"{safe_name} (safe box)"] = counterexample(safe_nets[safe_name], THRESHOLD)
        certificate = counterexample(safe_nets[safe_name], THRESHOLD, region=SAFE_BOX)
    with _timed(timings, "error_vs_distance_s"):
        evd = error_vs_distance({**first, linear_name: linear}, SINGULAR_BOX, samples=settings["scatter"])
    moment_name = next(iter(first))
    with _timed(timings, "moments_s"):
        moments = _moments(nets, nets[moment_name], safe_nets[safe_name], settings["moment_samples"])
    labels = (f"singular box, {moment_name}", f"safe box, {safe_name}")
    figures = _figures(out_dir, evd, ces, moments, labels)
    timings["total_s"] = time.perf_counter() - start
    results = {
        "budget": budget,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "singular_box": _box_json(SINGULAR_BOX),
        "safe_box": _box_json(SAFE_BOX),
        "training": {**train_info, **{f"{k} (safe box)": v for k, v in safe_info.items()}},
        "counterexamples": {name: ce.to_json() for name, ce in ces.items()},
        "safe_box_certificate": certificate.to_json(),
        "error_vs_distance": evd["summary"],
        "moments": {
            "singular": moments["singular"]["summary"],
            "safe": moments["safe"]["summary"],
            "singular_model": moment_name,
            "safe_model": safe_name,
        },
        "tail_index_per_model": moments["tail_index_per_model"],
        "tail_index_per_model_samples": moments["hill_samples"],
        "timings": timings,
    }
    markdown = section_markdown(results, [p.name for p in figures])
    return {"markdown": markdown, "results": results, "figures": [str(p) for p in figures]}


def _moments(nets: dict, singular_net, safe_net, samples: int) -> dict:
    """Moment growth of one net on the singular box and of the safe net on the safe box, and every net's tail index
    again on fresh samples (seed 2), so each has its own independent estimate."""
    hill_samples = min(_HILL_SAMPLES, samples)
    return {
        "singular": moment_growth(singular_net, SINGULAR_BOX, max_samples=samples),
        "safe": moment_growth(safe_net, SAFE_BOX, max_samples=samples),
        "tail_index_per_model": {
            name: moment_growth(net, SINGULAR_BOX, max_samples=hill_samples, seed=2)["summary"]["tail_index"]
            for name, net in nets.items()
        },
        "hill_samples": hill_samples,
    }


def _figures(out_dir: Path, evd: dict, ces: dict, moments: dict, labels: tuple[str, str]) -> list[Path]:
    """The section's three figures (FIGURES, in order), the moment plots labelled (singular, safe)."""
    singular, safe = labels
    return [
        plot_error_vs_distance(
            evd, out_dir / FIGURES[0], paths={name: ces[name].path for name in evd["errors"] if name in ces}
        ),
        plot_moments(
            {singular: moments["singular"]["summary"], safe: moments["safe"]["summary"]}, out_dir / FIGURES[1]
        ),
        plot_tail({singular: moments["singular"]["errors"], safe: moments["safe"]["errors"]}, out_dir / FIGURES[2]),
    ]


def _box_json(box: Box) -> dict:
    """A box's JSON with its centre's sigma_min and its certified distance to the singular set."""
    return {**box.to_json(), "center_sigma_min": box.center_sigma_min, "certified_distance": box.certified_distance}
