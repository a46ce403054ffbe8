"""The training losses against direct float64 numpy computations, matrix by matrix, on seeded random batches."""

import numpy as np
import pytest
import torch

from neuralinv.common.errors import InputError
from neuralinv.nets.mlp import init_layers
from neuralinv.training.engine import StackedMLP
from neuralinv.training.losses import LOSSES, get_loss, mse, relative, residual


@pytest.fixture
def batch():
    """Seeded well-conditioned 3x3 matrices (A = 2I + noise), their exact inverses, and a perturbed prediction."""
    rng = np.random.default_rng(17)
    a = 2 * np.eye(3) + rng.uniform(-0.5, 0.5, size=(64, 3, 3))
    a_inv = np.linalg.inv(a)
    y = a_inv + rng.normal(scale=0.1, size=a.shape)
    return a, a_inv, y


def t(x):
    return torch.from_numpy(x)


def test_mse_is_the_mean_square_over_every_entry(batch):
    _, a_inv, y = batch
    direct = np.mean([((y[k] - a_inv[k]) ** 2).sum() for k in range(len(y))]) / 9
    assert mse(t(y), None, t(a_inv)).item() == pytest.approx(direct, rel=1e-13)


def test_mse_matches_the_engines_gradient(batch):
    """The engine's hand-written step uses d MSE / d output = 2 err / numel (training/engine.py): autograd of mse
    gives the same, so mse can stand in for it."""
    _, a_inv, y = batch
    y = t(y).requires_grad_()
    mse(y, None, t(a_inv)).backward()
    err = y.detach() - t(a_inv)
    assert torch.allclose(y.grad, err * (2.0 / err.numel()), rtol=1e-13, atol=0)


def test_mse_is_the_engines_loss():
    """Autograd of sum over members of mse(output, target) gives the gradients the engine's hand-written MSE step
    writes (StackedMLP.backward, 2 ReLU MLPs 4-16-16-4 on encoded batches): mse can replace it number for number."""
    sizes, batch = [4, 16, 16, 4], 32
    members = [init_layers(sizes, seed) for seed in (0, 1)]
    gen = torch.Generator().manual_seed(3)
    x, y = torch.randn(2, 4, batch, generator=gen), torch.randn(2, 4, batch, generator=gen)
    stack = StackedMLP(members, torch.device("cpu"))
    err = stack.backward(x, y)
    params = [[(w.clone().requires_grad_(), b.clone().requires_grad_()) for w, b in m] for m in members]
    total = 0
    for e, layers in enumerate(params):
        h = x[e]
        for i, (w, b) in enumerate(layers):
            h = w @ h + b[:, None]
            h = h.relu() if i < len(layers) - 1 else h
        assert torch.allclose(h - y[e], err[e], atol=1e-6)
        total = total + mse(h, None, y[e])
    total.backward()
    for i, (gw, gb) in enumerate(stack.grads):
        for e in range(2):
            assert torch.allclose(params[e][i][0].grad, gw[e], rtol=1e-5, atol=1e-7), (i, e)
            assert torch.allclose(params[e][i][1].grad, gb[e], rtol=1e-5, atol=1e-7), (i, e)


def test_residual_against_a_loop(batch):
    a, _, y = batch
    direct = np.mean([np.linalg.norm(np.eye(3) - a[k] @ y[k], "fro") for k in range(len(a))])
    assert residual(t(y), t(a)).item() == pytest.approx(direct, rel=1e-13)


def test_relative_against_a_loop(batch):
    _, a_inv, y = batch
    direct = np.mean([np.linalg.norm(y[k] - a_inv[k]) / np.linalg.norm(a_inv[k]) for k in range(len(y))])
    assert relative(t(y), None, t(a_inv)).item() == pytest.approx(direct, rel=1e-13)


def test_known_values():
    """A = 2I (2x2), Y = I: I - AY = -I, ||.||_F = sqrt(2); relative error ||I - I/2||_F / ||I/2||_F = 1; MSE
    against I/2 is 1/4 on the diagonal, 0 off it: 1/8."""
    eye = torch.eye(2, dtype=torch.float64)[None]
    assert residual(eye, 2 * eye).item() == pytest.approx(2**0.5, rel=1e-15)
    assert relative(eye, 2 * eye, eye / 2).item() == pytest.approx(1.0, rel=1e-15)
    assert mse(eye, 2 * eye, eye / 2).item() == pytest.approx(0.125, rel=1e-15)


def test_zero_at_the_exact_inverse(batch):
    a, a_inv, _ = batch
    assert residual(t(a_inv), t(a)).item() < 1e-14
    assert relative(t(a_inv), t(a), t(a_inv)).item() == 0.0
    assert mse(t(a_inv), t(a), t(a_inv)).item() == 0.0


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("at_inverse", [False, True])
def test_gradients_are_finite(batch, name, at_inverse):
    """Finite gradients, also at the exact inverse where the Frobenius norms are 0 (or nearly)."""
    a, a_inv, y = batch
    y = t(a_inv if at_inverse else y).clone().requires_grad_()
    get_loss(name)(y, t(a), t(a_inv)).backward()
    assert torch.isfinite(y.grad).all()
    if not at_inverse:
        assert y.grad.abs().sum() > 0


def test_leading_dimensions(batch):
    """(E, B, n, n) batches: the same value as the flattened (E * B, n, n) batch."""
    a, a_inv, y = (t(x) for x in batch)
    for name, fn in LOSSES.items():
        stacked = fn(y.view(4, 16, 3, 3), a.view(4, 16, 3, 3), a_inv.view(4, 16, 3, 3))
        assert stacked.item() == pytest.approx(fn(y, a, a_inv).item(), rel=1e-13), name


def test_registry_and_errors():
    assert get_loss("residual") is residual and set(LOSSES) == {"mse", "residual", "relative"}
    with pytest.raises(InputError) as err:
        get_loss("l1")
    message = str(err.value)
    assert "\n" not in message and "'l1'" in message and "mse, residual, relative" in message
