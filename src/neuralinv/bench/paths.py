"""The exact and classical paths Table 3 times beside the networks, each a function of a (..., n, n) float64 tensor.

Exact: the closed form (n <= 3), numpy's and torch's batched LAPACK. Classical: the methods of
neuralinv.linalg.classical under their names there, with everything that depends on the centre precomputed.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from neuralinv.linalg.classical import Classical, closed_form_inverse


def classical_paths(box, device="cpu") -> dict[str, tuple[str, Callable]]:
    """{name: (kind, fn)}: exact paths (kind "exact") and the classical approximations (kind "classical") on box."""
    paths = {}
    if box.n <= 3:
        paths["exact closed form"] = ("exact", closed_form_inverse)
    if torch.device(device).type == "cpu":
        paths["numpy.linalg.inv"] = ("exact", lambda a: torch.from_numpy(np.linalg.inv(a.numpy())))
    paths["torch.linalg.inv"] = ("exact", torch.linalg.inv)
    for name, fn in Classical(box, device).methods().items():
        paths[name] = ("classical", fn)
    return paths
