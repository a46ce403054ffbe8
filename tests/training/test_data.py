"""Sampling and data streams: seeded and reproducible, pairs (A, A^-1) exact in float64, rejection rules that hold,
seeded splits of one's own matrices."""

import hashlib

import numpy as np
import pytest
import torch

from neuralinv.common.errors import InputError
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Box
from neuralinv.training import data
from neuralinv.training.data import (
    AcceptRule,
    BatchStream,
    file_sha256,
    matrix_pairs,
    sample_matrices,
    sample_pairs,
    sample_test_set,
    split_matrices,
)

BOX = Box(np.array([[2.0, 1.0], [1.0, 3.0]]), 0.3)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_pairs_are_matrices_of_the_region_and_their_float64_inverses():
    a, a_inv = sample_pairs(BOX, 500, generator=gen(0))
    assert a.dtype == a_inv.dtype == torch.float64 and a.shape == a_inv.shape == (500, 2, 2)
    assert (a - torch.tensor(BOX.center)).abs().max() <= 0.3
    assert torch.allclose(a_inv, torch.linalg.inv(a), rtol=1e-13, atol=0)
    eye = torch.eye(2, dtype=torch.float64).expand(500, 2, 2)
    assert torch.allclose(a @ a_inv, eye, rtol=0, atol=1e-13)


def test_sample_test_set_is_seeded():
    a1, _ = sample_test_set(BOX, 100, seed=5)
    a2, _ = sample_test_set(BOX, 100, seed=5)
    a3, _ = sample_test_set(BOX, 100, seed=6)
    assert torch.equal(a1, a2) and not torch.equal(a1, a3)
    assert not hasattr(data, "test_set")  # renamed: pytest would collect it


def make_stream(seed: int, fixed: bool) -> BatchStream:
    scaling = Scaling.for_region(BOX)
    pairs = None
    if fixed:
        a, a_inv = sample_pairs(BOX, 256, generator=gen(1))
        pairs = scaling.encode(a).float(), scaling.encode_target(a_inv).float()
    return BatchStream(seed=seed, batch_size=32, region=BOX, scaling=scaling, data=pairs)


@pytest.mark.parametrize("fixed", [True, False])
def test_streams_are_seeded_and_resume_where_they_stopped(fixed):
    """Same seed: the same batches; another seed: others; state() then restore() continues the very stream."""
    first, again, other = make_stream(3, fixed), make_stream(3, fixed), make_stream(4, fixed)
    x1, y1 = first.next(5)
    x2, _ = again.next(5)
    x3, _ = other.next(5)
    assert x1.shape == y1.shape == (5, 32, 4) and x1.dtype == torch.float32
    assert torch.equal(x1, x2) and not torch.equal(x1, x3)
    state = first.state()
    ahead, _ = first.next(7)  # runs across the end of the 8-batch epoch of the fixed set
    resumed = make_stream(3, fixed)
    resumed.restore(state)
    assert torch.equal(resumed.next(7)[0], ahead)


def test_streamed_targets_are_the_exact_inverses():
    """A fresh-sample stream's targets decode to A^-1 of its inputs (float32 rounding only)."""
    stream = make_stream(0, fixed=False)
    x, y = stream.next(2)
    scaling = stream.scaling
    a = torch.tensor(BOX.center).reshape(1, 4) + x.reshape(-1, 4).double() * scaling.input_scale
    a_inv = np.linalg.inv(a.reshape(-1, 2, 2).numpy())
    c_inv = np.linalg.inv(BOX.center).reshape(1, 4)
    target = (a_inv.reshape(-1, 4) - c_inv) / scaling.target_scale
    assert np.allclose(y.reshape(-1, 4).numpy(), target, rtol=1e-4, atol=1e-4)


def test_a_rule_keeps_only_what_it_accepts():
    region = Box(np.zeros((2, 2)), 1.0)
    rule = AcceptRule(min_abs_det=0.2, min_sigma=0.1)
    stats: dict = {}
    a = sample_matrices(region, 300, generator=gen(2), rule=rule, stats=stats)
    assert a.shape == (300, 2, 2)
    assert np.all(np.abs(np.linalg.det(a.numpy())) > 0.2)
    assert np.all(np.linalg.svd(a.numpy(), compute_uv=False)[:, -1] > 0.1)
    assert stats["accepted"] >= 300 and stats["drawn"] > stats["accepted"]
    assert rule.accepts(torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]])).tolist() == [True, False]
    assert rule.describe() == "|det A| > 0.2 and sigma_min(A) > 0.1"
    assert AcceptRule.from_json(rule.to_json()) == rule and AcceptRule.make() is None


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "0.1"])
def test_a_bad_rule_names_the_parameter(value):
    with pytest.raises(InputError, match=r"^min_sigma: expected a finite number >= 0"):
        AcceptRule(min_sigma=value)


def test_split_is_a_seeded_partition():
    train, test = split_matrices(50, 0.2, 7)
    assert len(test) == 10 and len(train) == 40
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(50))
    again, other = split_matrices(50, 0.2, 7), split_matrices(50, 0.2, 8)
    assert np.array_equal(again[1], test) and not np.array_equal(other[1], test)
    assert len(split_matrices(3, 0.01, 0)[1]) == 1  # at least one held out
    with pytest.raises(InputError, match=r"^holdout: expected a share in \(0, 1\)"):
        split_matrices(50, 1.0, 0)


def test_matrix_pairs_inverts_in_float64_and_refuses_singular_ones():
    a = np.random.default_rng(0).normal(size=(20, 3, 3)) + 3 * np.eye(3)
    t, t_inv = matrix_pairs(a)
    assert t.dtype == torch.float64 and torch.allclose(t_inv, torch.linalg.inv(t), rtol=1e-12, atol=1e-14)
    a[4] = [[1, 2, 3], [2, 4, 6], [0, 0, 1]]
    with pytest.raises(InputError, match=r"^matrices: 1 matrices are singular \(the first at index 4\)"):
        matrix_pairs(a)


def test_file_sha256(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 9000)  # more than one 1 MiB block
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
