"""Network is a torch module: parameters, state_dict, load_state_dict, fine-tuning through autograd."""

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from neuralinv.nets.checkpoint import load_network
from neuralinv.nets.mlp import Network, get_model, init_layers
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import get_dataset

DATA = Path(__file__).parent / "data"


def make(seed: int = 0, model: str = "3fc") -> Network:
    box = get_dataset("2x2-second").region
    return Network(init_layers(get_model(model).layer_sizes(box.n), seed), box, Scaling.for_region(box))


def test_parameters_are_the_layers_and_start_frozen():
    net = make()
    params = list(net.parameters())
    assert [p.shape for p in params] == [t.shape for layer in net.layers for t in layer]
    assert all(p is t for p, t in zip(params, [t for layer in net.layers for t in layer]))
    assert sum(p.numel() for p in params) == 4 * 32 + 32 + 32 * 32 + 32 + 32 * 4 + 4
    assert not any(p.requires_grad for p in params)
    assert net.region is net.box and net.n == 2


def test_state_dict_keys_are_the_checkpoint_tensor_names():
    """A checkpoint's tensors load straight into a network of its shape, with the same outputs as load_network."""
    path = DATA / "v1-2fc-box.safetensors"
    loaded = load_network(path)
    fresh = Network(init_layers([4, 32, 4], 123), loaded.region, loaded.scaling)
    tensors = load_file(str(path))
    assert set(fresh.state_dict()) == set(tensors)
    a = loaded.region.sample(100, generator=torch.Generator().manual_seed(0))
    before = fresh(a)
    fresh.load_state_dict(tensors)
    after = fresh(a)  # the fast path follows the copied weights
    assert not torch.equal(before, after)
    assert torch.equal(after, loaded(a))


def test_fine_tuning_gradients_equal_a_plain_torch_model():
    """With trainable parameters net(a) is differentiable; its gradients equal those of the same weights in an
    nn.Sequential fed the encoded inputs, and a few Adam steps lower the loss against float64 exact inverses."""
    net = make(seed=4).requires_grad_()
    a = net.region.sample(256, generator=torch.Generator().manual_seed(1))
    exact = torch.linalg.inv(a)
    y = net.scaling.encode_target(exact)
    loss = (net(a) - exact).square().mean() / net.scaling.target_scale**2
    loss.backward()

    linears = []
    for w, b in init_layers([4, 32, 32, 4], 4):
        lin = torch.nn.Linear(4, 4)
        lin.weight, lin.bias = torch.nn.Parameter(w.double()), torch.nn.Parameter(b.double())
        linears += [lin, torch.nn.ReLU()]
    plain = torch.nn.Sequential(*linears[:-1])
    x = net.scaling.encode(a)
    torch.nn.functional.mse_loss(plain(x), y.double()).backward()
    for p, q in zip(net.parameters(), plain.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-7)

    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = (net(a) - exact).square().mean() / net.scaling.target_scale**2
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0]
    with torch.no_grad():  # no graph wanted: the fast path, and it has followed the updated weights
        fast = net(a)
    assert fast.grad_fn is None
    torch.testing.assert_close(fast, net.forward_reference(a), rtol=0, atol=1e-5 * net.scaling.target_scale)
