"""Flags that several commands share, defined once: the region, JSON output, progress, Ray placement.

A command adds them with its own sentence about what the flag does there; the forms accepted and the parsing are
the same everywhere.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from neuralinv.common.errors import InputError
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Region

REGION_METAVAR = "NAME|FILE|JSON"
REGION_FORMS = (
    "a preset name (see `neuralinv presets`), a region file of any shape (JSON, see `neuralinv region`) or a "
    'region as JSON text, e.g. {"center": [[1, 2], [2, 4.5]], "radius": 0.08}'
)


def add_region(parser, purpose: str, *, required: bool = False):
    """--region on parser (or a mutually exclusive group): `purpose` says what the region is for in this command."""
    return parser.add_argument("--region", metavar=REGION_METAVAR, required=required, help=f"{purpose}: {REGION_FORMS}")


def parse_region(spec: str, *, flag: str = "--region") -> Region:
    """A Region from a preset name, a region file of any shape, or a region's JSON as text: {"center": [[1, 2],
    [2, 4.5]], "radius": 0.08} (a box) or {"shape": "ball", "center": ..., "radius": ...}. Errors name `flag`."""
    text = spec.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{flag}: not valid JSON ({err.msg} at character {err.pos}): {spec!r}") from None
        if not isinstance(data, dict) or ("shape" not in data and not {"center", "radius"} <= set(data)):
            raise InputError(
                f"{flag}: expected a JSON object with the keys center and radius (a box), or a region "
                f"with its shape (a region file's JSON), got {spec!r}"
            )
        return load_region(data)
    path = Path(spec)
    if not path.is_file() and (spec.endswith(".json") or "/" in spec or os.sep in spec):
        raise InputError(f"{flag}: no such file {spec!r}")
    return load_region(spec)


def add_json(parser, what: str = "JSON") -> None:
    """--json: print `what` as JSON instead of tables or a summary."""
    parser.add_argument("--json", action="store_true", help=f"print {what}" if what != "JSON" else "print JSON")


def add_quiet(parser, what: str = "progress bars") -> None:
    """--quiet: no progress output on stderr."""
    parser.add_argument("--quiet", action="store_true", help=f"no {what}")


def add_ray(parser, *, address_help: str, unit: str) -> None:
    """--address, --cpus-per-trial and --gpus-per-trial: where Ray runs each `unit` (a trial, a training task)."""
    parser.add_argument("--address", metavar="ADDR", help=address_help)
    parser.add_argument(
        "--cpus-per-trial", type=int, default=1, metavar="K", help=f"CPUs (torch threads) per {unit} (default 1)"
    )
    parser.add_argument(
        "--gpus-per-trial",
        type=float,
        default=0,
        metavar="G",
        help=f"GPUs per {unit}; above 0 they train on CUDA (default 0)",
    )


# The library's parameters as the flags that set them: its errors name parameters, the
# commands' name flags (as_flags).
FLAGS = {
    "budget": "--budget",
    "device": "--device",
    "holdout": "--holdout",
    "matrices": "--matrices",
    "min_abs_det": "--min-abs-det",
    "min_sigma": "--min-sigma",
    "out": "--out",
    "resume": "--resume",
    "scaling": "--scaling",
    "seeds": "--seeds",
    "split_seed": "--split-seed",
    "state_path": "--out",
    "steps": "--steps",
    "test_size": "--test-size",
    "train_size": "--train-size",
}


def as_flags(message: str) -> str:
    """A library error in the command line's words: a leading "parameter:" and each parameter=value become flags
    (resume=True becomes --resume, device=cpu becomes --device cpu)."""
    head, sep, rest = message.partition(": ")
    if sep and head in FLAGS:
        message = FLAGS[head] + sep + rest

    def flag(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        if name not in FLAGS:
            return match.group(0)
        return FLAGS[name] if value == "True" else f"{FLAGS[name]} {value}"

    return re.sub(r"\b([a-z_]+)=([^\s,;)]+)", flag, message)
