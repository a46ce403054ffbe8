"""neuralinv import: a ReLU MLP trained elsewhere (.npz weights) as a neuralinv checkpoint."""

from __future__ import annotations

from neuralinv.common.errors import InputError
from neuralinv.nets.checkpoint import save_network
from neuralinv.nets.construction import import_weights
from neuralinv.nets.scaling import SCALINGS
from neuralinv.regions.shapes import Box, as_matrix


def register(sub) -> None:
    """`neuralinv import` on the subparsers sub."""
    p = sub.add_parser(
        "import",
        help="turn .npz weights of a ReLU MLP into a checkpoint",
        description="Read W1, b1, W2, b2, ... (PyTorch's (out, in) layout, ReLU between layers, none after the last) "
        "from an .npz file and write a checkpoint bound to the box and scaling the network was trained "
        "with, so that `neuralinv analyze` and `neuralinv evaluate` work on it. An optional array "
        "'activation' must be 'relu'.",
    )
    p.add_argument("--weights", required=True, metavar="FILE.npz", help="the weights")
    p.add_argument(
        "--center",
        required=True,
        metavar="MATRIX",
        help="the box centre A0 as JSON text, e.g. '[[2,2],[2,3]]', or a .npy file",
    )
    p.add_argument("--radius", required=True, type=float, metavar="C", help="half-width c of the box")
    p.add_argument(
        "--scaling",
        choices=SCALINGS,
        default="paper",
        help="paper: x = vec(A - A0)/c, y = vec(A^-1 - A0^-1)/c; raw: vec(A) -> vec(A^-1) (default paper)",
    )
    p.add_argument("--out", required=True, metavar="CHECKPOINT", help="output .safetensors file")
    p.set_defaults(run=run)


def run(args) -> int:
    """`neuralinv import`: the weights bound to the box --center/--radius, written as a checkpoint; exit 0."""
    box = Box(as_matrix(args.center, name="--center"), args.radius)
    if box.center_singular:
        raise InputError(
            f"--center is singular (sigma_min(A0) = {box.center_sigma_min:.3g}); no network can invert a box around it"
        )
    net = import_weights(args.weights, box, scaling=args.scaling)
    save_network(net, args.out)
    print(
        f"wrote {args.out}: ReLU MLP {'-'.join(map(str, net.layer_sizes))} on a {box.n}x{box.n} box "
        f"(c = {box.radius:g}, {args.scaling} scaling)"
    )
    return 0
