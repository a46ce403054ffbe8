"""neuralinv presets: the paper's data sets and model presets."""

from __future__ import annotations

from neuralinv.cli.output import print_json, print_table
from neuralinv.nets.mlp import MODELS
from neuralinv.paper.presets import DATASETS


def register(sub) -> None:
    """`neuralinv presets` on the subparsers sub."""
    p = sub.add_parser(
        "presets",
        help="list the data set and model presets",
        description="List the paper's data sets (centre, size, half-width, training data, steps) "
        "and the model presets with their layer sizes on each data set.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(run=run)


def presets_json() -> dict:
    """The data set presets (region, sizes, steps) and the model presets (layer sizes per data set) as JSON."""
    datasets = {
        name: {
            "title": p.title,
            "n": p.n,
            "center": p.region.center.tolist(),
            "radius": p.region.radius,
            "center_sigma_min": p.region.center_sigma_min,
            "certified_distance": p.region.certified_distance,
            "train_size": p.train_size,
            "paper_steps": p.paper_steps,
            "quick_steps": p.quick_steps,
            "test_size": p.test_size,
        }
        for name, p in DATASETS.items()
    }
    models = {
        name: {
            "title": m.title,
            "hidden_layers": m.depth,
            "layer_sizes": {d: m.layer_sizes(p.n) for d, p in DATASETS.items()},
        }
        for name, m in MODELS.items()
    }
    return {"datasets": datasets, "models": models}


def run(args) -> int:
    """`neuralinv presets`: the presets as tables, or as JSON with --json; exit 0."""
    data = presets_json()
    if args.json:
        print_json(data)
        return 0
    rows = []
    for name, d in data["datasets"].items():
        n = d["n"]
        center = str(d["center"]) if n <= 3 else f"{n}x{n}, entries in -2..2 (paper.presets.CENTER_16X16)"
        rows.append(
            [
                name,
                f"{d['n']}x{d['n']}",
                center,
                d["radius"],
                d["center_sigma_min"],
                d["train_size"] or "streamed",
                d["paper_steps"],
                d["quick_steps"],
            ]
        )
    print("Data sets (uniform samples in the box |A_ij - A0_ij| <= c)")
    print_table(["name", "size", "centre A0", "c", "sigma_min(A0)", "train set", "paper steps", "quick steps"], rows)
    print("\nModels (ReLU MLPs; layer sizes per data set)")
    rows = [
        [name, m["title"], *("-".join(map(str, m["layer_sizes"][d])) for d in DATASETS)]
        for name, m in data["models"].items()
    ]
    print_table(["name", "title", *DATASETS], rows)
    return 0
