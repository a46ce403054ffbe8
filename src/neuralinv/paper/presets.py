"""The paper's data sets (a named region each, with its training-set size and step counts) and the cells of its
Table 1. The one copy: bench, reproduce and training import these rather than restate them."""

from __future__ import annotations

from dataclasses import dataclass

from neuralinv.common.errors import InputError
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Box

# ---------------------------------------------------------------------------------------------------------------------
# The paper's data sets


@dataclass(frozen=True, eq=False)
class DatasetPreset:
    """One of the paper's data sets: the region (a named region file), the training set size (None: fresh samples
    every step), step counts."""

    name: str
    title: str
    region: Box
    train_size: int | None
    paper_steps: int
    quick_steps: int
    test_size: int = 10_000
    # Steps per schedule "epoch" at the paper's budget (see README: the epoch for streamed data).
    paper_epoch_steps: float = 7812.5

    @property
    def n(self) -> int:
        """The matrix size of the data set."""
        return self.region.n


BATCH = 128  # the paper's batch size: a schedule "epoch" is train_size / BATCH steps
STREAMED_EPOCH = 1_000_000  # samples in a schedule "epoch" of a streamed set (fresh samples every step), as for 2x2

# name, title, training set size (None: streamed), the paper's steps, our quick budget's steps. A streamed set's
# "epoch" is 1,000,000 samples, as for 2x2, so 16x16's 200,000 steps span 25.6 schedule epochs.
# fmt: off
_TABLE = [
    ("2x2-first",  "2x2 (First)",  1_000_000, 156_250, 80_000),
    ("2x2-second", "2x2 (Second)", 1_000_000, 156_250, 80_000),
    ("3x3",        "3x3",          100_000,   200_000, 120_000),
    ("16x16",      "16x16",        None,      200_000, 300),
]
# fmt: on

DATASETS: dict[str, DatasetPreset] = {
    name: DatasetPreset(
        name,
        title,
        load_region(name),
        train_size=size,
        paper_steps=paper,
        quick_steps=quick,
        paper_epoch_steps=(size or STREAMED_EPOCH) / BATCH,
    )
    for name, title, size, paper, quick in _TABLE
}

# Table 1: every data set (in this order) with the 2-FC and 3-FC nets.
TABLE1_DATASETS = tuple(DATASETS)
TABLE1_MODELS = ("2fc", "3fc")

# Drawn once with numpy.random.default_rng(seed).integers(-2, 3, (16, 16)) for seed = 0, 1, ...; seed 1 was the first
# whose box of half-width 0.01 is certified clear of the singular set (sigma_min(A0) = 0.3488 >= 2 n c = 0.32).
# Stored in presets/16x16.json so it never changes with a library's random stream.
CENTER_16X16 = DATASETS["16x16"].region.center.astype(int).tolist()


def get_dataset(name: str) -> DatasetPreset:
    """The paper's data set `name` (2x2-first, 2x2-second, 3x3, 16x16); a one-line InputError naming the choices."""
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(f"dataset: unknown preset {name!r}; choose one of {', '.join(DATASETS)}") from None
