"""FastNetwork, the path Network.__call__ runs, computes what Network.forward_reference does, on the networks
Table 3 times."""

import pytest
import torch

from neuralinv.bench import networks
from neuralinv.linalg.classical import taylor_inverse
from neuralinv.nets import mlp as models
from neuralinv.nets.construction import linear_network
from neuralinv.paper.presets import get_dataset
from neuralinv.training.data import sample_test_set

EPS32 = float(torch.finfo(torch.float32).eps)


def assert_matches_plain(fast_out, plain_out, net):
    """Equal to float32 rounding in the network's own units, y = (A^-1 - offset) / s."""
    scale = net.scaling.target_scale
    y = (plain_out - torch.tensor(net.scaling.target_offset).view(plain_out.shape[-2:])) / scale
    atol = 100 * EPS32 * scale * (1 + float(y.abs().max()))
    assert fast_out.dtype == torch.float64
    assert fast_out.shape == plain_out.shape
    assert float((fast_out - plain_out).abs().max()) <= atol


@pytest.mark.parametrize("dataset", ["2x2-first", "3x3"])
@pytest.mark.parametrize("model", ["2fc", "3fc", "2fc-small"])
@pytest.mark.parametrize("rows", [1, 5, 300])
def test_fast_network_matches_network_call(dataset, model, rows):
    """FastNetwork equals Network.forward_reference to float32 rounding on both plans (float64 small, float32 large)."""
    net = networks.random_network(dataset, model, seed=3)
    fast = models.FastNetwork(net)
    a, _ = sample_test_set(net.region, rows, seed=7)
    assert fast.plan_name(rows) == ("float64" if rows <= fast.SMALL_ROWS else "float32")
    assert_matches_plain(fast(a), net.forward_reference(a), net)


def test_fast_network_large_net_uses_float32_for_small_batches():
    """A 16x16 net's weights are too many for the float64 plan; it still matches, at one matrix and at many."""
    net = networks.random_network("16x16", "2fc", seed=1)
    fast = models.FastNetwork(net)
    assert fast.folded is None and fast.plan_name(1) == "float32"
    a, _ = sample_test_set(net.region, 70, seed=2)
    assert_matches_plain(fast(a), net.forward_reference(a), net)
    assert_matches_plain(fast(a[0]), net.forward_reference(a[0]), net)


def test_fast_network_batch_shapes_dtypes_and_fresh_outputs():
    """Any (..., n, n) batch works, float32 input too, and each call returns a new tensor (buffers never alias)."""
    net = networks.random_network("2x2-second", "3fc", seed=0)
    fast = models.FastNetwork(net)
    a, _ = sample_test_set(net.region, 600, seed=5)
    for batch in [a[0], a[:6].reshape(2, 3, 2, 2), a[:600].reshape(3, 200, 2, 2)]:
        assert_matches_plain(fast(batch), net.forward_reference(batch), net)
    assert_matches_plain(fast(a[:100].float()), net.forward_reference(a[:100].float()), net)
    first = fast(a[:300])
    kept = first.clone()
    fast(a[300:600])
    assert torch.equal(first, kept)


def test_fast_network_eq11_equals_linear_approximation():
    """The exact Eq. 11 net through the fast path gives Taylor-1, as through Network.forward_reference."""
    box = get_dataset("2x2-first").region
    fast = models.FastNetwork(linear_network(box))
    a, _ = sample_test_set(box, 500, seed=1)
    t1 = taylor_inverse(a, torch.tensor(box.center), 1)
    assert float((fast(a) - t1).abs().max()) < 1e-6 * box.radius * 10
    assert float((fast(a[:3]) - t1[:3]).abs().max()) < 1e-6 * box.radius * 10


def test_fast_network_rejects_wrong_size():
    """A matrix of the wrong size is an InputError (a ValueError)."""
    fast = models.FastNetwork(networks.random_network("2x2-first", "2fc"))
    with pytest.raises(ValueError, match=r"\(\.\.\., 2, 2\)"):
        fast(torch.zeros(4, 3, 3, dtype=torch.float64))
