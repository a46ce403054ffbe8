import numpy as np
import pytest
import torch

from neuralinv.common.errors import InputError
from neuralinv.paper.presets import CENTER_16X16, DATASETS
from neuralinv.regions.shapes import Box, as_matrix, sigma_min


@pytest.mark.parametrize("name", list(DATASETS))
def test_samples_lie_in_their_box(name, gen):
    """Every uniform sample lies in the box, and the samples spread over most of it."""
    box = DATASETS[name].region
    a = box.sample(2000, generator=gen).numpy()
    assert box.contains(a).all()
    spread = np.abs(a - box.center).max(axis=0)
    assert spread.min() > 0.9 * box.radius


def test_sample_is_reproducible():
    box = DATASETS["3x3"].region
    a = box.sample(10, generator=torch.Generator().manual_seed(7))
    b = box.sample(10, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", list(DATASETS))
def test_certified_distance_is_a_lower_bound(name, gen):
    """sigma_min over samples never falls below sigma_min(A0) - n c."""
    box = DATASETS[name].region
    s = sigma_min(box.sample(5000, generator=gen).numpy())
    assert s.min() >= box.certified_distance - 1e-12
    assert box.sampled_min_distance(2000) >= box.certified_distance - 1e-12


def test_center16_is_certified_with_margin():
    """The stored 16x16 centre has entries in -2..2 and sigma_min >= 2 n c."""
    a = np.array(CENTER_16X16)
    assert a.shape == (16, 16) and set(np.unique(a)) <= {-2, -1, 0, 1, 2}
    assert sigma_min(a) >= 2 * 16 * 0.01
    assert DATASETS["16x16"].region.avoids(0.1)


def test_center16_matches_its_documented_draw():
    """The literal is what the documented draw gave (documentation check, numpy's PCG64 stream)."""
    draw = np.random.default_rng(1).integers(-2, 3, size=(16, 16))
    assert np.array_equal(draw, np.array(CENTER_16X16))


def test_box_touching_singular_set_is_not_certified():
    box = Box(np.array([[1.0, 2.0], [2.0, 4.001]]), 0.01)
    assert box.certified_distance < 0 and not box.avoids(0.0)


@pytest.mark.parametrize(
    "bad, match",
    [
        ([[1, 2, 3], [4, 5, 6]], "shape"),
        ([[1, float("nan")], [0, 1]], "finite"),
        ("[[1, 2], [3", "JSON"),
        ([], "shape"),
    ],
)
def test_bad_matrices_are_named(bad, match):
    with pytest.raises(InputError, match=match):
        as_matrix(bad)


def test_bad_radius():
    with pytest.raises(InputError, match="radius"):
        Box(np.eye(2), -1.0)


def test_matrix_from_npy(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.eye(3))
    assert np.array_equal(as_matrix(str(path)), np.eye(3))


def test_table1_cells_are_the_four_data_sets_and_two_nets():
    """Table 1's cells, defined once with the paper's presets: 2x2 (first, second), 3x3 and 16x16, 2-FC and 3-FC."""
    from neuralinv.nets.mlp import MODELS
    from neuralinv.paper.presets import TABLE1_DATASETS, TABLE1_MODELS

    assert TABLE1_DATASETS == ("2x2-first", "2x2-second", "3x3", "16x16")
    assert TABLE1_MODELS == ("2fc", "3fc") and set(TABLE1_MODELS) <= set(MODELS)
    assert [DATASETS[d].n for d in TABLE1_DATASETS] == [2, 2, 3, 16]
