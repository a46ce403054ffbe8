"""The architecture registry: specs, shapes, seeded builds, reference forwards, and the Newton-Schulz head."""

import json

import pytest
import torch

from nets.arch_cases import SMALL, perturb
from neuralinv.common.errors import InputError
from neuralinv.nets.architectures import (
    MatrixModel,
    build,
    build_model,
    check_spec,
    mlp_spec,
    not_piecewise_linear,
    spec_to_json,
)
from neuralinv.nets.mlp import get_model, init_layers, mlp_forward
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import get_dataset


def inputs(shape, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("batch", [(5,), (2, 3)])
def test_forward_shapes(name, n, batch):
    module = build(SMALL[name], n)
    y = module(inputs((*batch, n * n)))
    assert y.shape == (*batch, n * n) and y.dtype == torch.float32 and torch.isfinite(y).all()


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("dataset", ["2x2-first", "3x3"])
@pytest.mark.parametrize("batch", [(5,), (2, 3)])
def test_matrix_model_shapes(name, dataset, batch):
    """Matrices in (any float dtype), float64 inverses out, for the base alone and with the head."""
    region = get_dataset(dataset).region
    a = region.sample(6, generator=torch.Generator().manual_seed(0))[: batch[-1]].expand(*batch, region.n, region.n)
    for steps in (0, 2):
        model = build_model({**SMALL[name], "ns_steps": steps}, Scaling.for_region(region))
        for dtype in (torch.float32, torch.float64):
            y = model(a.to(dtype))
            assert y.shape == a.shape and y.dtype == torch.float64 and torch.isfinite(y).all()


@pytest.mark.parametrize("name", SMALL)
def test_same_seed_same_parameters_and_global_rng_untouched(name):
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a, b, c = build(SMALL[name], 3, seed=7), build(SMALL[name], 3, seed=7), build(SMALL[name], 3, seed=8)
    assert torch.equal(torch.rand(3), expected_next)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].abs().sum() > 0)


def test_mlp_equals_mlp_forward_and_starts_as_the_preset_network():
    """The 3fc preset as a spec: init_layers's weights for the seed, and exactly mlp_forward's outputs."""
    n = 3
    sizes = get_model("3fc").layer_sizes(n)
    assert mlp_spec(get_model("3fc"), n) == {"arch": "mlp", "depth": 2, "width": 72, "ns_steps": 0}
    assert mlp_spec(get_model("2fc-small"), 2)["width"] == 8
    assert mlp_spec(get_model("fc-d3-h64"), 2) == {"arch": "mlp", "depth": 3, "width": 64, "ns_steps": 0}
    module = build(mlp_spec(get_model("3fc"), n), n, seed=5)
    layers = init_layers(sizes, 5)
    assert [tuple(layer.weight.shape) for layer in module.layers] == [tuple(w.shape) for w, _ in layers]
    assert all(torch.equal(m.weight, w) and torch.equal(m.bias, b) for m, (w, b) in zip(module.layers, layers))
    assert set(module.state_dict()) == {f"layers.{i}.{t}" for i in range(3) for t in ("weight", "bias")}
    perturb(module)
    pairs = [(m.weight.detach(), m.bias.detach()) for m in module.layers]
    x = inputs((2, 7, n * n))
    assert torch.equal(module(x), mlp_forward(pairs, x))


def test_resnet_blocks_are_identity_at_init():
    module = build({"arch": "resnet", "blocks": 3, "width": 16, "inner": 32}, 3, seed=2)
    x = inputs((11, 9))
    assert torch.allclose(module(x), module.output(module.input(x)), rtol=0, atol=1e-6)
    for block in module.blocks:
        assert not block.project.weight.any() and not block.project.bias.any()
    # Trained (perturbed) branches are no longer the identity: the check above can fail.
    perturb(module)
    assert not torch.allclose(module(x), module.output(module.input(x)), atol=1e-3)


@pytest.mark.parametrize("name", ["entries", "rows"])
def test_transformer_depends_on_the_position_table(name):
    module = build(SMALL[name], 3, seed=0)
    x = inputs((4, 9))
    before = module(x)
    with torch.no_grad():
        module.position.copy_(module.position.flip(0))  # the same embeddings at other positions
    assert not torch.allclose(before, module(x), atol=1e-4)


@pytest.mark.parametrize("name", ["entries", "rows"])
def test_transformer_is_not_permutation_equivariant(name):
    """Without positions an encoder is equivariant (permuted tokens in, the same outputs permuted out); the learned
    positions break that: swapping two input rows does not just swap the output's rows."""
    module = perturb(build(SMALL[name], 3, seed=0))
    x = inputs((4, 3, 3))
    y = module(x.flatten(-2)).unflatten(-1, (3, 3))
    y_swapped = module(x[:, [1, 0, 2]].flatten(-2)).unflatten(-1, (3, 3))
    assert not torch.allclose(y[:, [1, 0, 2]], y_swapped, atol=1e-4)
    with torch.no_grad():
        module.position.zero_()
    y = module(x.flatten(-2)).unflatten(-1, (3, 3))
    y_swapped = module(x[:, [1, 0, 2]].flatten(-2)).unflatten(-1, (3, 3))
    assert torch.allclose(y[:, [1, 0, 2]], y_swapped, atol=1e-5)


def scaling_3x3() -> Scaling:
    return Scaling.for_region(get_dataset("3x3").region)


def matrices(m=6, seed=0):
    return get_dataset("3x3").region.sample(m, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", SMALL)
def test_ns_head_identities(name):
    """k = 0 is the decoded base; k = 1 is 2X - X A X on it; k = 2 applies the step twice."""
    base, scaling = perturb(build(SMALL[name], 3, seed=3)), scaling_3x3()
    a = matrices().double()
    x = scaling.decode(base(scaling.encode(a).float()))
    assert x.dtype == torch.float64
    assert torch.equal(MatrixModel(base, scaling, 0)(a), x)
    one = MatrixModel(base, scaling, 1)(a)
    assert torch.allclose(one, 2 * x - x @ a @ x, rtol=0, atol=1e-12)
    two = 2 * one - one @ a @ one
    assert torch.allclose(MatrixModel(base, scaling, 2)(a), two, rtol=0, atol=1e-12)


def test_ns_step_improves_a_close_inverse():
    """The step squares the residual: I - A Y = (I - A X)^2, so a close X gets far closer to A^-1."""
    a = matrices(20).double()
    exact = torch.linalg.inv(a)
    x = exact + 1e-3 * inputs(a.shape, seed=4).double()
    raw = Scaling("raw", (0.0,) * 9, 1.0, (0.0,) * 9, 1.0)
    model = MatrixModel(_Constant(x.flatten(-2)), raw, 1)  # the base returns X itself, in raw units
    eye = torch.eye(3, dtype=torch.float64)
    out = model(a)
    assert torch.allclose(eye - a @ out, (eye - a @ x) @ (eye - a @ x), atol=1e-12)
    assert (out - exact).abs().max() < 1e-2 * (x - exact).abs().max()


class _Constant(torch.nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = torch.nn.Parameter(value)

    def forward(self, x):
        return self.value


@pytest.mark.parametrize("name", SMALL)
def test_gradients_flow_through_the_head(name):
    model = build_model({**SMALL[name], "ns_steps": 1}, scaling_3x3(), seed=0)
    a = matrices(8).double()
    loss = (torch.eye(3, dtype=torch.float64) - a @ model(a)).square().sum()
    loss.backward()
    for key, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), key
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"arch": "cnn"}, "arch"),
        ({"depth": 2}, "arch"),
        ({"arch": "mlp", "depth": 0}, "depth"),
        ({"arch": "mlp", "width": -3}, "width"),
        ({"arch": "mlp", "width": 2.5}, "width"),
        ({"arch": "resnet", "inner": True}, "inner"),
        ({"arch": "resnet", "blcoks": 7}, "blcoks"),
        ({"arch": "transformer", "d_model": 30, "heads": 4}, "heads"),
        ({"arch": "transformer", "tokens": "cols"}, "tokens"),
        ({"arch": "mlp", "ns_steps": -1}, "ns_steps"),
    ],
)
def test_bad_specs_get_one_line_errors_naming_the_key(spec, key):
    with pytest.raises(InputError) as err:
        check_spec(spec)
    message = str(err.value)
    assert "\n" not in message and key in message


def test_bad_n_and_ns_steps():
    with pytest.raises(InputError, match="n must be"):
        build(SMALL["mlp"], 0)
    with pytest.raises(InputError, match="ns_steps"):
        MatrixModel(build(SMALL["mlp"], 2), Scaling.for_region(get_dataset("2x2-first").region), -1)


@pytest.mark.parametrize("name", SMALL)
def test_spec_json_round_trip_rebuilds_the_same_module(name):
    spec = check_spec({**SMALL[name], "ns_steps": 1})
    assert json.loads(json.dumps(spec)) == spec
    assert check_spec(spec) == spec
    assert json.loads(spec_to_json(SMALL[name])) == check_spec(SMALL[name])
    scaling = scaling_3x3()
    a = matrices()
    first = build_model(spec, scaling, seed=9)
    again = build_model(check_spec(json.loads(json.dumps(spec))), scaling, seed=9)
    assert torch.equal(first(a), again(a))


def test_defaults_are_filled_in():
    assert check_spec({"arch": "resnet"}) == {"arch": "resnet", "blocks": 7, "width": 128, "inner": 256, "ns_steps": 0}
    assert check_spec({"arch": "transformer"})["tokens"] == "entries"
    assert check_spec({"arch": "transformer", "d_model": 64})["ff"] == 256
    assert check_spec({"arch": "transformer", "d_model": 64, "ff": 100})["ff"] == 100


@pytest.mark.parametrize("name", SMALL)
def test_empty_batch(name):
    model = build_model(SMALL[name], scaling_3x3())
    assert model(torch.zeros(0, 3, 3)).shape == (0, 3, 3)


def reference_transformer(module, x):
    """The pre-norm encoder written out op by op from the module's weights: h += MHA(LN1(h)); h += FF(LN2(h))."""
    f = torch.nn.functional
    count = module.position.shape[0]
    tokens = x.reshape(-1, count, x.shape[-1] // count)  # entries: one value each; rows: row t is token t
    h = tokens @ module.embed.weight.T + module.embed.bias + module.position
    for layer in module.encoder.layers:
        attn, heads = layer.self_attn, layer.self_attn.num_heads
        z = f.layer_norm(h, h.shape[-1:], layer.norm1.weight, layer.norm1.bias, layer.norm1.eps)
        q, k, v = (z @ attn.in_proj_weight.T + attn.in_proj_bias).chunk(3, dim=-1)
        split = lambda t: t.unflatten(-1, (heads, -1)).transpose(1, 2)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        weights = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
        h = h + (weights @ v).transpose(1, 2).flatten(-2) @ attn.out_proj.weight.T + attn.out_proj.bias
        z = f.layer_norm(h, h.shape[-1:], layer.norm2.weight, layer.norm2.bias, layer.norm2.eps)
        h = (
            h
            + torch.relu(z @ layer.linear1.weight.T + layer.linear1.bias) @ layer.linear2.weight.T
            + layer.linear2.bias
        )
    h = f.layer_norm(h, h.shape[-1:], module.norm.weight, module.norm.bias, module.norm.eps)
    return (h @ module.readout.weight.T + module.readout.bias).reshape(x.shape)


@pytest.mark.parametrize("name", ["entries", "rows"])
def test_transformer_equals_a_written_out_pre_norm_encoder(name):
    module = perturb(build(SMALL[name], 3, seed=6)).double()
    x = inputs((7, 9)).double()
    assert torch.allclose(module(x), reference_transformer(module, x), rtol=0, atol=1e-12)
    with torch.no_grad():  # eval mode, no grad: torch may take its fused inference path; same function
        assert torch.allclose(module.eval()(x), reference_transformer(module, x), rtol=0, atol=1e-12)


def test_resnet_equals_written_out_blocks():
    module = perturb(build({"arch": "resnet", "blocks": 3, "width": 8, "inner": 12}, 2, seed=6)).double()
    x = inputs((7, 4)).double()
    h = x @ module.input.weight.T + module.input.bias
    for block in module.blocks:
        inner = torch.relu(torch.relu(h) @ block.expand.weight.T + block.expand.bias)
        h = h + inner @ block.project.weight.T + block.project.bias
    assert torch.allclose(module(x), h @ module.output.weight.T + module.output.bias, rtol=0, atol=1e-12)


def test_piecewise_linear_or_the_reason_why_not():
    assert not_piecewise_linear({"arch": "mlp"}) is None
    assert not_piecewise_linear({"arch": "resnet"}) is None
    assert "softmax" in not_piecewise_linear({"arch": "transformer"})
    assert "Newton-Schulz" in not_piecewise_linear({"arch": "resnet", "ns_steps": 1})
