import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _timings_cache(tmp_path_factory):
    """Machine timings cached by the library go to a temporary folder, not the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NEURALINV_CACHE", str(tmp_path_factory.mktemp("neuralinv-cache")))
    yield
    mp.undo()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)
