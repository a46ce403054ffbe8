"""neuralinv region: how far a region is from the singular set; `neuralinv region fit`: a region fitted to one's own
matrices."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from neuralinv.cli.options import add_region, parse_region
from neuralinv.cli.output import print_json, print_table
from neuralinv.common.errors import InputError
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.fit import FIT_NORMS, FIT_SHAPES, fit_region
from neuralinv.regions.shapes import Box, Region, as_matrix, singular_center


def register(sub) -> None:
    """`neuralinv region` (certify a region) and its subcommand `region fit` on the subparsers sub."""
    p = sub.add_parser(
        "region",
        help="certify a region against the singular set, or fit one to your matrices (region fit)",
        description="For a region (a preset, a region file, or the box |A_ij - A0_ij| <= c): sigma_min of the "
        "centre, the certified lower bound on the distance from any matrix of the region to the singular "
        "set (sigma_min(A0) - n c for a box; sigma_min(A0) - r for a ball; Weyl's inequality for "
        "symmetric perturbations), a sampled minimum (over samples, the shape's worst points, and A0 "
        "itself), and whether the region avoids M_eps. Exit 0 when the region is certified clear of the "
        "singular set, 3 when it may touch it (unusable for training; always so when the centre itself "
        "is singular), 2 on bad input. `neuralinv region fit MATS.npy --out REGION.json` fits a region "
        "to your own matrices: see `neuralinv region fit --help`.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", metavar="NAME", help="a data set preset (see `neuralinv presets`)")
    add_region(src, "the region to check")
    src.add_argument(
        "--center", metavar="MATRIX", help="the centre A0 as JSON text, e.g. '[[2,2],[2,3]]', or a .npy file"
    )
    p.add_argument("--radius", type=float, metavar="C", help="half-width c of the box (with --center)")
    p.add_argument("--eps", type=float, default=0.0, metavar="E", help="the eps of M_eps (default 0)")
    p.add_argument("--samples", type=int, default=100_000, help="samples for the sampled minimum (default 100000)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)
    _register_fit(p.add_subparsers(dest="region_command", metavar="fit"))


def _register_fit(sub) -> None:
    """`neuralinv region fit MATS.npy --out REGION.json` and its options."""
    f = sub.add_parser(
        "fit",
        help="fit a region to your own matrices",
        description="Fit a region to sample matrices MATS.npy, shape (m, n, n): the centre (the mean, or k-means "
        "centers with --centers K), the radius that holds the share --coverage of the sample, and "
        "diagonal equilibration D A D (powers of two) when variable scales differ; inverses and bounds "
        "stay those of the original matrices. Prints the certificate, the share of the sample the fast "
        "path certifies within --tol, and the measured speed of `invert --method auto` against the "
        "faster of torch.linalg.inv and numpy.linalg.inv, both on a sub-sample. Writes REGION.json "
        "(use it as --region FILE with invert, train, evaluate, analyze, limits, bench and region).",
    )
    f.add_argument("matrices", metavar="MATS.npy", help="sample matrices, shape (m, n, n)")
    f.add_argument("--out", required=True, metavar="REGION.json", help="where to write the region file")
    f.add_argument(
        "--shape",
        choices=FIT_SHAPES,
        default="auto",
        help="auto: symmetric perturbations when every sample is symmetric, else a ball (default auto)",
    )
    f.add_argument(
        "--norm",
        choices=FIT_NORMS,
        default="auto",
        help="norm of a ball or of symmetric perturbations; relative: ||A0^-1/2 E A0^-1/2||, for symmetric "
        "perturbations of a positive definite centre (default auto: for symmetric samples whichever of "
        "spectral and relative certifies further from the singular set, else spectral)",
    )
    f.add_argument("--centers", type=int, default=1, metavar="K", help="number of centers (default 1)")
    # The old spelling, hidden: using it is a one-line error naming --centers (run_fit).
    f.add_argument("--centres", dest="old_centres", nargs="?", const="", default=None, help=argparse.SUPPRESS)
    f.add_argument(
        "--coverage",
        type=float,
        default=1.0,
        metavar="Q",
        help="share of the sample the region holds, in (0, 1] (default 1: all of it)",
    )
    f.add_argument(
        "--equilibrate",
        choices=["auto", "yes", "no"],
        default="auto",
        help="diagonal equilibration D A D (auto: when variable scales differ by more than 10x)",
    )
    f.add_argument("--tol", type=float, default=1e-4, help="tolerance for the fast-path measurement (default 1e-4)")
    f.add_argument(
        "--sub-sample",
        type=int,
        default=2000,
        metavar="N",
        help="matrices for the fast-path measurement (default 2000)",
    )
    f.add_argument("--seed", type=int, default=0, help="seed of k-means and of the sub-sample (default 0)")
    f.add_argument("--json", action="store_true", help="print JSON")
    f.set_defaults(run=run_fit)


def describe(region: Region, eps: float, samples: int) -> dict:
    """What `neuralinv region --json` prints for region: its certificate against M_eps and a sampled minimum of
    sigma_min over `samples` matrices (and the shape's worst points and A0)."""
    s0 = region.center_sigma_min
    # A centre singular to rounding is in the region: no certificate (Region.avoids), whatever sigma_min(A0) - n c
    # says, since that sigma_min(A0) is rounding noise.
    return {
        "n": region.n,
        "shape": region.shape,
        "description": region.describe(),
        "region": region.to_json(),
        "center": region.center.tolist(),
        "radius": region.radius,
        "radius_meaning": region.radius_meaning,  # the entry bound, which a relative shape rewrites from its r
        "eps": eps,
        "center_sigma_min": s0,
        "center_singular": region.center_singular,
        "certified_distance": region.certified_distance,
        "positive_definite": region.positive_definite,
        "sampled_min_distance": min(region.sampled_min_distance(samples), s0),
        "samples": samples,
        "avoids_M_eps": region.avoids(eps),
    }


CERTIFICATES = {
    "box": "sigma_min(A0) - ||W||_2, W the half-widths (n c when uniform)",
    "ball": "sigma_min(A0) - r",
    "symmetric": "min |lambda(A0)| - r (Weyl), or (1 - r) lambda_min(A0) relative to A0",
    "union": "the smallest over the centres",
    "equilibrated": "the inner region's, over max(d)^2",
}


def run(args) -> int:
    """`neuralinv region`: exit 0 when the region is certified clear of the singular set, 3 when it may touch it."""
    if args.center is not None:
        if args.radius is None:
            raise InputError("--radius C is required with --center")
        region = Box(as_matrix(args.center, name="--center"), args.radius)
    else:
        if args.radius is not None:
            raise InputError("--radius goes with --center; a preset or region file has its own radius")
        if args.dataset is None and args.region is None:
            raise InputError("give --dataset NAME, --region NAME|FILE or --center MATRIX --radius C (or: region fit)")
        region = get_dataset(args.dataset).region if args.dataset else parse_region(args.region)
    if not (np.isfinite(args.eps) and args.eps >= 0):
        raise InputError(f"--eps: expected a number >= 0, got {args.eps}")
    if args.samples <= 0:
        raise InputError(f"--samples: expected a positive integer, got {args.samples}")
    s0 = region.center_sigma_min
    singular = singular_center(region)  # a singular centre: the region holds singular matrices, A0 among them
    info = describe(region, args.eps, args.samples)
    if args.json:
        print_json(info)
    else:
        print(f"region: {region.describe()}")
        print(f"sigma_min(A0)                    {s0:.6g}")
        print(f"certified distance to singular   {info['certified_distance']:.6g}   ({CERTIFICATES[region.shape]})")
        print(
            f"sampled minimum sigma_min        {info['sampled_min_distance']:.6g}   "
            f"({args.samples} samples, a corner, the centre)"
        )
        verdict = "avoids" if info["avoids_M_eps"] else "touches" if singular else "may touch"
        print(f"region {verdict} M_eps for eps = {args.eps:g}")
    if singular is not None:
        print(
            f"warning: the region is not certified clear of the singular set: {singular}, so it holds "
            f"singular matrices, A0 among them (certified distance {info['certified_distance']:.3g}; sampled "
            f"minimum {info['sampled_min_distance']:.3g}); do not train on it, or only with --scaling raw to "
            f"show the failure",
            file=sys.stderr,
        )
        return 3
    if info["certified_distance"] <= 0:
        sampled = info["sampled_min_distance"]
        print(
            f"warning: the region is not certified clear of the singular set (certified distance "
            f"{info['certified_distance']:.3g} <= 0; sampled minimum {sampled:.3g}); do not train on it",
            file=sys.stderr,
        )
        return 3
    if not info["avoids_M_eps"]:
        print(
            f"warning: the region may touch M_eps: certified distance {info['certified_distance']:.3g} <= eps "
            f"{args.eps:g}",
            file=sys.stderr,
        )
    return 0


def run_fit(args) -> int:
    """`neuralinv region fit`: fit, write the region file, measure the fast path on a sub-sample, print; exit 0."""
    from neuralinv.bench.certified import assess
    from neuralinv.common.files import read_matrices

    if args.old_centres is not None:
        raise InputError("--centres is now spelled --centers: use --centers K")
    if not (0 < args.tol < 1):
        raise InputError(f"--tol: expected a number in (0, 1), got {args.tol}")
    if args.sub_sample <= 0:
        raise InputError(f"--sub-sample: expected a positive integer, got {args.sub_sample}")
    a = read_matrices(args.matrices, name=args.matrices)
    equilibrate = {"auto": "auto", "yes": True, "no": False}[args.equilibrate]
    region = fit_region(
        a,
        shape=args.shape,
        norm=args.norm,
        centers=args.centers,
        coverage=args.coverage,
        equilibrate=equilibrate,
        seed=args.seed,
    )
    region.save(args.out)
    speed = assess(region, a, tol=args.tol, sample=args.sub_sample, seed=args.seed)
    if args.json:
        print_json(
            {
                "matrices": args.matrices,
                "out": args.out,
                "region": region.to_json(),
                "description": region.describe(),
                "certified_distance": region.certified_distance,
                "center_sigma_min": region.center_sigma_min,
                "positive_definite": region.positive_definite,
                "fit": region.info,
                "fast_path": speed,
            }
        )
        return 0
    _print_fit(args, a.shape[-1], region)
    print_table(["on a sub-sample", "value", "detail"], _speed_rows(speed, args.tol))
    print(f"wrote {args.out}")
    return 0


def _print_fit(args, n: int, region: Region) -> None:
    """The fit in words: the sample, the region, the share it holds and its certificate."""
    fit = region.info
    print(f"{fit['fitted_from']} {n}x{n} matrices from {args.matrices}")
    print(f"region: {region.describe()}")
    print(
        f"holds {fit['coverage']:.1%} of the sample (requested {fit['requested_coverage']:.0%})"
        + (f"; variable scales span {fit['variable_scale_spread']:.3g}x, equilibrated" if fit["equilibrated"] else "")
    )
    cert = region.certified_distance
    verdict = (
        f"every matrix of the region is at least {cert:.3g} from the singular set"
        if region.avoids(0)
        else "no certificate: the region may hold singular matrices (the fast path still bounds every answer it "
        "gives, one by one)"
    )
    print(f"certificate: {verdict} ({CERTIFICATES[region.shape]}; sigma_min(A0) = {region.center_sigma_min:.3g})")


def _speed_rows(speed: dict, tol: float) -> list[list]:
    """Table rows of the fast-path measurement (assess's answer) on the sub-sample."""
    route = speed["auto_route"]
    steps = ", ".join(f"{k}: {v}" for k, v in speed["steps"].items()) or "-"
    return [
        [
            "fast path certifies",
            f"{speed['fast_share']:.1%}",
            (
                f"none: {speed['fast_unavailable']}"
                if speed["fast_unavailable"]
                else f"of {speed['matrices']} within tol {tol:g} (Newton-Schulz steps {steps})"
            )
            + f"; bound violations {speed['violations']}",
        ],
        [
            "invert --method auto",
            f"{speed['auto_s'] * 1e3:.3g} ms",
            f"{route['chosen']} path; {speed['auto_fast_share']:.0%} fast ({route['why']})",
        ],
        [
            "best exact inverse",
            f"{speed['auto_s'] / speed['time_vs_best_exact'] * 1e3:.3g} ms",
            f"torch.linalg.inv {speed['torch_inv_s'] * 1e3:.3g} ms, numpy.linalg.inv "
            + (
                f"{speed['numpy_inv_s'] * 1e3:.3g} ms"
                if speed["numpy_inv_s"] is not None
                else "refuses the singular matrices"
            ),
        ],
        [
            "predicted speed",
            f"{1 / speed['time_vs_best_exact']:.2f}x",
            f"of the best exact inverse (medians; {speed['processor']}, {speed['threads']} threads)",
        ],
    ]
