"""neuralinv region: how far a box is from the singular set."""

from __future__ import annotations

import sys

import numpy as np

from neuralinv.cli.output import print_json
from neuralinv.data import singular_center
from neuralinv.errors import InputError
from neuralinv.regions import Box, as_matrix, get_dataset


def register(sub) -> None:
    p = sub.add_parser(
        "region", help="certify a box against the singular set",
        description="For the box |A_ij - A0_ij| <= c: sigma_min of the centre, the certified lower bound "
                    "sigma_min(A0) - n c on the distance from any matrix of the box to the singular set, a sampled "
                    "minimum (over uniform samples, the corner furthest along -u v^T of A0's smallest singular "
                    "pair, and A0 itself), and whether the box avoids M_eps. Exit 0 when the box is certified clear "
                    "of the singular set, 3 when it may touch it (unusable for training; always so when the centre "
                    "itself is singular), 2 on bad input.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", metavar="NAME", help="a data set preset (see `neuralinv presets`)")
    src.add_argument("--center", metavar="MATRIX", help="the centre A0 as JSON text, e.g. '[[2,2],[2,3]]', or a .npy file")
    p.add_argument("--radius", type=float, metavar="C", help="half-width c of the box (with --center)")
    p.add_argument("--eps", type=float, default=0.0, metavar="E", help="the eps of M_eps (default 0)")
    p.add_argument("--samples", type=int, default=100_000, help="samples for the sampled minimum (default 100000)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def describe(box: Box, eps: float, samples: int) -> dict:
    s0 = box.center_sigma_min
    # A singular centre (to rounding, see data.singular_center) is in the box: no certificate, whatever
    # sigma_min(A0) - n c says, since that sigma_min(A0) is rounding noise.
    singular = singular_center(box) is not None
    return {"n": box.n, "center": box.center.tolist(), "radius": box.radius, "eps": eps,
            "center_sigma_min": s0, "center_singular": singular, "certified_distance": box.certified_distance,
            "sampled_min_distance": min(box.sampled_min_distance(samples), s0), "samples": samples,
            "avoids_M_eps": box.avoids(eps) and not singular}


def run(args) -> int:
    if args.center is not None:
        if args.radius is None:
            raise InputError("--radius C is required with --center")
        box = Box(as_matrix(args.center, name="--center"), args.radius)
    else:
        if args.radius is not None:
            raise InputError("--radius goes with --center; a --dataset preset has its own radius")
        box = get_dataset(args.dataset).box
    if not (np.isfinite(args.eps) and args.eps >= 0):
        raise InputError(f"--eps: expected a number >= 0, got {args.eps}")
    if args.samples <= 0:
        raise InputError(f"--samples: expected a positive integer, got {args.samples}")
    s0 = box.center_sigma_min
    singular = singular_center(box)  # the centre itself is singular: the box holds singular matrices, A0 among them
    info = describe(box, args.eps, args.samples)
    if args.json:
        print_json(info)
    else:
        print(f"box: {box.n}x{box.n}, half-width c = {box.radius:g}")
        print(f"sigma_min(A0)                    {s0:.6g}")
        print(f"certified distance to singular   {info['certified_distance']:.6g}   (sigma_min(A0) - n c)")
        print(f"sampled minimum sigma_min        {info['sampled_min_distance']:.6g}   "
              f"({args.samples} samples, a corner, the centre)")
        verdict = "avoids" if info["avoids_M_eps"] else "touches" if singular else "may touch"
        print(f"box {verdict} M_eps for eps = {args.eps:g}")
    if singular is not None:
        print(f"warning: the box is not certified clear of the singular set: {singular}, so the box holds "
              f"singular matrices, A0 among them (certified distance {info['certified_distance']:.3g}; sampled "
              f"minimum {info['sampled_min_distance']:.3g}); do not train on it, or only with --scaling raw to "
              f"show the failure", file=sys.stderr)
        return 3
    if info["certified_distance"] <= 0:
        sampled = info["sampled_min_distance"]
        print(f"warning: the box is not certified clear of the singular set (certified distance "
              f"{info['certified_distance']:.3g} <= 0; sampled minimum {sampled:.3g}); do not train on it",
              file=sys.stderr)
        return 3
    if not info["avoids_M_eps"]:
        print(f"warning: the box may touch M_eps: certified distance {info['certified_distance']:.3g} <= eps "
              f"{args.eps:g}", file=sys.stderr)
    return 0
