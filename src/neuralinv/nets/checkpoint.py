"""Checkpoints: one safetensors file per network, weights as tensors and the metadata as JSON in its header.

Tensors: "layers.{i}.weight" (out, in) and "layers.{i}.bias" (out,). Header metadata key "neuralinv" holds JSON:
format, format_version, layer_sizes, activation, region (a region file's JSON: {center, radius} for a box, or
any shape with its "shape" key), scaling {...}, dtype, info {...}.
Loading reads tensors and JSON only: nothing from the file is executed.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from neuralinv.common.errors import InputError
from neuralinv.common.files import atomic_path
from neuralinv.nets.mlp import Network
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.files import region_from_json

FORMAT = "neuralinv-checkpoint"
FORMAT_VERSION = 1


def save_network(net: Network, path: str | Path) -> Path:
    """Write net to path as a checkpoint (atomically); returns path."""
    path = Path(path)
    tensors = {}
    for i, (w, b) in enumerate(net.layers):
        tensors[f"layers.{i}.weight"] = w.detach().cpu().contiguous()
        tensors[f"layers.{i}.bias"] = b.detach().cpu().contiguous()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "layer_sizes": net.layer_sizes,
        "activation": "relu",
        "region": net.region.to_json(),
        "scaling": net.scaling.to_json(),
        "dtype": str(net.layers[0][0].dtype).removeprefix("torch."),
        "info": net.info,
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"neuralinv": json.dumps(meta)})
    return path


def read_metadata(path: str | Path) -> dict:
    """The neuralinv metadata of the checkpoint at path, checked (format, version, activation) without reading its
    tensors; a one-line InputError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint: no such file {str(path)!r}")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise InputError(f"checkpoint: {str(path)!r} is not a safetensors file ({err})") from None
    if "neuralinv" not in header:
        raise InputError(f"checkpoint: {str(path)!r} has no neuralinv metadata (see README: checkpoint format)")
    meta = json.loads(header["neuralinv"])
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"checkpoint: {str(path)!r} has format {meta.get('format')!r} version "
            f"{meta.get('format_version')!r}; this neuralinv reads {FORMAT!r} version {FORMAT_VERSION}"
        )
    if meta.get("activation") != "relu":
        raise InputError(f"checkpoint: activation {meta.get('activation')!r} is not supported (only 'relu')")
    return meta


def load_network(path: str | Path, *, n: int | None = None) -> Network:
    """The network in path; n, when given, is the matrix size the caller expects."""
    meta = read_metadata(path)
    tensors = load_file(str(path))
    count = len(meta["layer_sizes"]) - 1
    try:
        layers = [(tensors[f"layers.{i}.weight"], tensors[f"layers.{i}.bias"]) for i in range(count)]
    except KeyError as err:
        raise InputError(f"checkpoint: {str(path)!r} lacks tensor {err.args[0]!r}") from None
    net = Network(layers, region_from_json(meta["region"]), Scaling.from_json(meta["scaling"]), meta.get("info", {}))
    if net.layer_sizes != meta["layer_sizes"]:
        raise InputError(f"checkpoint: tensors have sizes {net.layer_sizes}, metadata says {meta['layer_sizes']}")
    if n is not None and net.n != n:
        raise InputError(f"checkpoint: {str(path)!r} is for {net.n}x{net.n} matrices, expected {n}x{n}")
    return net


# The old names, kept while callers move to the new ones.
save = save_network
load = load_network
