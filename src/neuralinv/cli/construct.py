"""neuralinv construct: the exact Eq. 11 network (equal to the linear approximation) as a checkpoint."""

from __future__ import annotations

from neuralinv.nets.checkpoint import save_network
from neuralinv.nets.construction import linear_network
from neuralinv.paper.presets import DATASETS, get_dataset


def register(sub) -> None:
    """`neuralinv construct` on the subparsers sub."""
    p = sub.add_parser(
        "construct",
        help="build the exact Eq. 11 network for a data set",
        description="Write the paper's Eq. 11 construction as a checkpoint: a 2-layer ReLU net with 2 n^2 hidden "
        "units, y = ReLU(M x) - ReLU(-M x) with M = -kron(A0^-1, A0^-T), in the paper scaling "
        "x = vec(A - A0)/c, y = vec(A^-1 - A0^-1)/c. Its output equals the linear approximation "
        "A0^-1 - A0^-1 (A - A0) A0^-1 to float64 rounding. (The paper prints h+ + h-; the minus sign is "
        "the correct one.)",
    )
    p.add_argument("--dataset", required=True, choices=list(DATASETS), help="data set preset (its box)")
    p.add_argument("--out", required=True, metavar="CHECKPOINT", help="output .safetensors file")
    p.set_defaults(run=run)


def run(args) -> int:
    """`neuralinv construct`: the Eq. 11 network on the data set's box, written as a checkpoint; exit 0."""
    box = get_dataset(args.dataset).region
    net = linear_network(box)
    net.info["dataset"] = args.dataset
    save_network(net, args.out)
    print(f"wrote {args.out}: Eq. 11 network {'-'.join(map(str, net.layer_sizes))} on {args.dataset}")
    return 0
