"""The public API a user imports from `neuralinv`: every name documented, and the documented workflow working."""

import numpy as np
import torch

import neuralinv


def test_every_public_name_is_documented():
    for name in neuralinv.__all__:
        obj = getattr(neuralinv, name)
        if callable(obj):
            assert obj.__doc__, name


def test_region_inverter_network_workflow(tmp_path):
    """A region, a CertifiedInverter on it (bounds cover float64 errors), the Eq. 11 network saved and loaded."""
    region = neuralinv.Box(np.array([[2.0, 0.5], [0.3, 1.5]]), 0.05)
    a = region.sample(2000, generator=torch.Generator().manual_seed(3))
    inverter = neuralinv.CertifiedInverter(region, tol=1e-6)
    res = inverter(a.numpy())
    assert isinstance(res, neuralinv.CertifiedInverse)
    exact = np.linalg.inv(a.numpy())
    err = np.linalg.norm(res.inverse - exact, axis=(1, 2)) / np.linalg.norm(exact, axis=(1, 2))
    assert np.all(err <= res.bound) and np.all(res.bound <= 1e-6)

    net = neuralinv.linear_network(region)
    path = neuralinv.save_network(net, tmp_path / "eq11.safetensors")
    loaded = neuralinv.load_network(path)
    assert isinstance(loaded, torch.nn.Module) and loaded.region.to_json() == region.to_json()
    test, inverses = neuralinv.sample_test_set(region, 100, seed=1)
    torch.testing.assert_close(loaded(test), net(test))
    # Eq. 11 is Taylor-1 from the centre: close to the true inverses on a small box
    assert float((loaded(test) - inverses).abs().max()) < 0.05
