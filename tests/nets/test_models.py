"""Calling a Network runs the fast path (models.FastNetwork) and gives what forward_reference gives.

No assertion here is about speed: timings on a shared machine are noise for a test.
"""

import copy
import pickle
import threading

import pytest
import torch

from neuralinv.common.errors import InputError
from neuralinv.nets.mlp import FastNetwork, Network, get_model, init_layers
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import get_dataset
from neuralinv.training.data import sample_test_set

EPS32 = float(torch.finfo(torch.float32).eps)
BATCHES = (1, 7, 64, 65, 1000)  # 64 is the last batch on the float64 plan of a small net, 65 the first on float32


def make_network(dataset: str, model: str = "2fc", seed: int = 0) -> Network:
    box = get_dataset(dataset).region
    return Network(init_layers(get_model(model).layer_sizes(box.n), seed), box, Scaling.for_region(box))


def assert_close_to_reference(out, ref, net):
    """Equal to float32 rounding in the network's own units y = (A^-1 - offset) / s, same shape, float64."""
    assert out.dtype == torch.float64
    assert out.shape == ref.shape
    if ref.numel() == 0:
        return
    scale = net.scaling.target_scale
    offset = torch.tensor(net.scaling.target_offset, dtype=torch.float64).view(ref.shape[-2:])
    y = (ref - offset) / scale
    atol = 100 * EPS32 * scale * (1 + float(y.abs().max()))
    assert float((out - ref).abs().max()) <= atol


@pytest.mark.parametrize("dataset", ["2x2-first", "3x3", "16x16"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_call_matches_reference(dataset, dtype):
    """net(a) equals forward_reference(a) at each batch size, unbatched, empty, batched twice, and non-contiguous."""
    net = make_network(dataset)
    a, _ = sample_test_set(net.region, max(BATCHES), seed=11)
    a = a.to(dtype)
    for rows in BATCHES:
        assert_close_to_reference(net(a[:rows]), net.forward_reference(a[:rows]), net)
    assert_close_to_reference(net(a[0]), net.forward_reference(a[0]), net)
    assert net(a[0]).shape == (net.n, net.n)
    assert net(a[:0]).shape == (0, net.n, net.n)
    assert net(a[:0].reshape(3, 0, net.n, net.n)).shape == (3, 0, net.n, net.n)
    # A non-contiguous view holding the same matrices as a: the transpose of a contiguous transposed copy.
    view = a.transpose(-1, -2).contiguous().transpose(-1, -2)
    assert not view.is_contiguous()
    assert_close_to_reference(net(view[:300]), net.forward_reference(a[:300]), net)
    assert_close_to_reference(net(view[:5]), net.forward_reference(a[:5]), net)
    nested = a[:12].reshape(3, 4, net.n, net.n)
    assert_close_to_reference(net(nested), net.forward_reference(nested), net)


def test_call_3fc_and_other_input_dtypes():
    """A deeper net matches too, and float16 or integer inputs are taken as float64, as forward_reference takes them."""
    net = make_network("2x2-second", "3fc", seed=2)
    a, _ = sample_test_set(net.region, 200, seed=3)
    for rows in (3, 200):
        assert_close_to_reference(net(a[:rows]), net.forward_reference(a[:rows]), net)
    half = a[:20].half()
    assert_close_to_reference(net(half), net.forward_reference(half), net)
    ints = torch.ones(4, 2, 2, dtype=torch.int64)
    assert_close_to_reference(net(ints), net.forward_reference(ints), net)


def test_outputs_are_fresh_tensors():
    """Successive calls of the same batch size never share output memory, and never write into the input."""
    for dataset, rows in [("2x2-first", 5), ("2x2-first", 300), ("16x16", 3)]:
        net = make_network(dataset)
        a, _ = sample_test_set(net.region, 2 * rows, seed=4)
        a_before = a.clone()
        first = net(a[:rows])
        kept = first.clone()
        second = net(a[rows:])
        assert first.data_ptr() != second.data_ptr()
        assert first.untyped_storage().data_ptr() != second.untyped_storage().data_ptr()
        assert first.untyped_storage().data_ptr() != a.untyped_storage().data_ptr()
        assert torch.equal(first, kept)
        assert torch.equal(a, a_before)


def test_buffer_cache_stays_bounded():
    """After 20 different batch sizes the fast path keeps buffers and plans for at most MAX_BATCH_SIZES of them."""
    net = make_network("2x2-first")
    a, _ = sample_test_set(net.region, 200, seed=5)
    for rows in range(65, 85):
        assert_close_to_reference(net(a[:rows]), net.forward_reference(a[:rows]), net)
    fast = net.fast_network()
    assert len(fast._buffers) <= FastNetwork.MAX_BATCH_SIZES
    assert len({rows for rows, _ in fast._plans}) <= FastNetwork.MAX_BATCH_SIZES
    assert_close_to_reference(net(a[:65]), net.forward_reference(a[:65]), net)  # an evicted size is rebuilt


def test_large_batch_runs_in_chunks():
    """A batch over max_rows runs in chunks written into one output, with the same answers and bounded buffers."""
    for dataset in ["2x2-first", "16x16"]:
        net = make_network(dataset, "3fc", seed=1)
        a, _ = sample_test_set(net.region, 1000, seed=6)
        fast = net.fast_network()
        fast.max_rows = 150  # 1000 rows: 7 chunks of 143 and one of 142
        out = net(a)
        assert out.is_contiguous()
        assert_close_to_reference(out, net.forward_reference(a), net)
        assert set(fast._buffers) == {142, 143}


def test_cache_follows_the_weights():
    """The fast path is built once per network, rebuilt when a weight changes in place or .to() converts it."""
    net = make_network("2x2-first")
    a, _ = sample_test_set(net.region, 100, seed=7)
    net(a)
    fast = net.fast_network()
    net(a[:3])
    assert net.fast_network() is fast
    with torch.no_grad():
        net.layers[-1][1].add_(0.5)
    assert_close_to_reference(net(a), net.forward_reference(a), net)
    assert net.fast_network() is not fast
    reference = net.forward_reference(a)
    before = net.fast_network()
    assert net.to(torch.float64) is net  # in place, as for every module
    assert net.layers[0][0].dtype == torch.float64
    assert net.fast_network() is not before and net.fast_network().dtype == torch.float64
    assert_close_to_reference(net(a), reference, net)
    other = copy.deepcopy(net)
    assert other.fast_network() is not net.fast_network()


def test_inference_mode_autograd_copies():
    """A first call under inference_mode leaves the path usable outside it; no graph is built; copies work."""
    net = make_network("16x16")
    a, _ = sample_test_set(net.region, 70, seed=8)
    with torch.inference_mode():
        inside = net(a)
    outside = net(a)
    outside.add_(1.0)  # an ordinary tensor outside inference mode
    assert_close_to_reference(outside - 1.0, net.forward_reference(a), net)
    assert_close_to_reference(inside, net.forward_reference(a), net)
    grad_input = a.clone().requires_grad_()
    out = net(grad_input)
    assert not out.requires_grad and out.grad_fn is None
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert_close_to_reference(other(a), net.forward_reference(a), net)


def test_concurrent_calls_give_right_answers():
    """Threads calling one network at once each get their own right answers (a busy fast path falls back)."""
    net = make_network("2x2-first")
    a, _ = sample_test_set(net.region, 400, seed=9)
    ref = net.forward_reference(a)
    errors = []

    def work(rows):
        for _ in range(30):
            out = net(a[:rows])
            if out.shape != (rows, 2, 2) or not torch.allclose(out, ref[:rows], rtol=0, atol=1e-5 * net.region.radius):
                errors.append(rows)

    threads = [threading.Thread(target=work, args=(rows,)) for rows in (1, 50, 300, 400)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_call_rejects_wrong_size():
    """A matrix of the wrong size is an InputError naming the expected shape."""
    net = make_network("2x2-first")
    with pytest.raises(InputError, match=r"\(\.\.\., 2, 2\)"):
        net(torch.zeros(4, 3, 3, dtype=torch.float64))
    with pytest.raises(InputError):
        net(torch.zeros(4, dtype=torch.float64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_inputs_move_to_the_weights_device():
    """A CPU input to a CUDA network (and a CUDA input to a CPU one) is moved to the weights' device."""
    net = make_network("3x3")
    a, _ = sample_test_set(net.region, 100, seed=10)
    ref = net.forward_reference(a)
    gpu = net.to("cuda")
    out = gpu(a)
    assert out.device.type == "cuda"
    assert_close_to_reference(out.cpu(), ref, net)
    assert_close_to_reference(net(a.cuda()), ref, net)
