"""The data a configuration trains and is tested on: its fixed training pairs, its test pairs, its batch streams.

Samples of the region (kept by the rejection rule, if any), or the seeded split of one's own matrices, whose file is
checked against the sha256 the configuration recorded.
"""

from __future__ import annotations

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.common.files import read_matrices
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Region
from neuralinv.training.config import MatrixData, TrainConfig
from neuralinv.training.data import (
    TEST_SEED,
    BatchStream,
    file_sha256,
    matrix_pairs,
    sample_pairs,
    sample_test_set,
    split_matrices,
)

SCALING_SAMPLE = 10_000  # samples the "data" scaling is measured on when the training data are streamed


def own_matrices(source: MatrixData, n: int) -> np.ndarray:
    """The matrices of a run on matrices of one's own, (m, n, n) float64, checked against the recorded sha256."""
    a = read_matrices(source.path, name="matrices", n=n)
    digest = file_sha256(source.path)
    if digest != source.sha256:
        raise InputError(
            f"matrices: {source.path!r} changed since the run was configured (sha256 "
            f"{digest[:12]}..., recorded {str(source.sha256)[:12]}...)"
        )
    return a


def split_own_matrices(config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out) matrices of a run on matrices of one's own: the seeded split of its file."""
    source = config.data
    a = own_matrices(source, config.region.n)
    train_idx, test_idx = split_matrices(len(a), source.holdout, source.split_seed)
    return a[train_idx], a[test_idx]


def training_pairs(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The fixed training set as float64 pairs (A, A^-1), (train_size, n, n) each, or None for streamed data.

    Samples of the region (kept by the rejection rule, if any, drawn with data_seed), or the training share of one's
    own matrices with A^-1 from numpy.linalg.inv in float64.
    """
    if isinstance(config.data, MatrixData):
        return matrix_pairs(split_own_matrices(config)[0])
    if config.train_size is None:
        return None
    return sample_pairs(
        config.region, config.train_size, generator=torch.Generator().manual_seed(config.data_seed), rule=config.rule
    )


def evaluation_pairs(config: TrainConfig, *, stats: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The test set run.json's metrics are computed on, float64 pairs (A, A^-1): the held-out matrices of a run on
    matrices of one's own, else test_size seeded samples (TEST_SEED) of the region kept by the rejection rule, if any
    (stats receives the draws, see sample_matrices)."""
    if isinstance(config.data, MatrixData):
        return matrix_pairs(split_own_matrices(config)[1])
    return sample_test_set(config.region, config.test_size, TEST_SEED, rule=config.rule, stats=stats)


def make_streams(config: TrainConfig) -> tuple[Region, Scaling, list[BatchStream]]:
    """(region, scaling, one BatchStream per seed) of a configuration: the scaling measured on the training pairs
    (or on SCALING_SAMPLE samples when the data are streamed), the pairs encoded once and shared by the streams."""
    region = config.region
    pairs = training_pairs(config)
    measured = pairs
    if measured is None and config.scaling == "data":
        measured = sample_pairs(
            region, SCALING_SAMPLE, generator=torch.Generator().manual_seed(config.data_seed), rule=config.rule
        )
    scaling = Scaling.for_region(region, config.scaling, data=measured)
    data = None
    if pairs is not None:  # float32 inputs and targets, one copy on the device, shared by the streams
        data = (
            scaling.encode(pairs[0]).float().to(config.device),
            scaling.encode_target(pairs[1]).float().to(config.device),
        )
    del pairs, measured
    streams = [
        BatchStream(
            seed=s,
            batch_size=config.batch_size,
            region=region,
            scaling=scaling,
            data=data,
            device=config.device,
            rule=config.rule,
        )
        for s in config.seeds
    ]
    return region, scaling, streams
