"""The training section: the two loops it times train the same networks, and its speed-ups are the ratio of the
times it measured (checked on a fake clock, so nothing depends on this machine's speed; the claim that the ensemble
is faster is benchmarks/ensemble_training.py's)."""

import pytest
import torch

from neuralinv.bench import training
from neuralinv.common import timing


def test_timed_ensemble_and_plain_loop_train_the_same_networks():
    """Each member of the ensemble time_training times ends where the plain loop it is compared with ends."""
    config = training.training_config("2x2-first", "2fc", 50, (0, 1))
    ensemble = training.train_ensemble(config, progress=False)
    for seed, net in zip(config.seeds, ensemble.networks):
        plain = training.train_plain(training.training_config("2x2-first", "2fc", 50, (seed,)), seed)
        for (w, b), (pw, pb) in zip(net.layers, plain.layers):
            torch.testing.assert_close(w, pw, rtol=1e-4, atol=2e-6)
            torch.testing.assert_close(b, pb, rtol=1e-4, atol=2e-6)
    assert not torch.equal(ensemble.networks[0].layers[0][0], ensemble.networks[1].layers[0][0])


class FakeClock:
    """perf_counter that advances only when the fake training loops say they spent time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_speedup_is_the_ratio_of_the_measured_times(monkeypatch):
    """A plain step costs 2 ms plus 1 ms per thread (fastest on one thread, 3 ms); an ensemble step of k models costs
    1 ms + 0.5 ms k; each run also pays 40 ms of set-up. The reported times are those costs, and the speed-up of k
    models is 3 / ((1 + 0.5 k) / k): 3x for 2 models, 4.8x for 8."""
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", clock)
    trained = []

    def fake_plain(config, seed):
        trained.append(("plain", config.steps, config.seeds))
        clock.now += 0.040 + config.steps * (2e-3 + 1e-3 * torch.get_num_threads())

    def fake_ensemble(config, progress=True):
        trained.append(("ensemble", config.steps, config.seeds))
        clock.now += 0.040 + config.steps * (1e-3 + 0.5e-3 * len(config.seeds))

    monkeypatch.setattr(training, "train_plain", fake_plain)
    monkeypatch.setattr(training, "train_ensemble", fake_ensemble)
    r = training.time_training(models=(2, 8), steps=(10, 30), repeats=3)
    assert r["plain_step_s"]["1"] == pytest.approx(3e-3)
    threads = torch.get_num_threads()
    assert r["plain_step_s"][str(threads)] == pytest.approx(2e-3 + 1e-3 * threads)
    assert r["baseline_s"] == pytest.approx(3e-3)
    by_models = {row["models"]: row for row in r["rows"]}
    assert by_models[2]["step_s"] == pytest.approx(2e-3) and by_models[8]["step_s"] == pytest.approx(5e-3)
    assert by_models[2]["per_model_s"] == pytest.approx(1e-3)
    assert by_models[2]["speedup"] == pytest.approx(3.0) and by_models[8]["speedup"] == pytest.approx(4.8)
    # Every timed run trained the shape asked for: one seed in the plain loop, k seeds in the ensemble.
    assert {seeds for kind, _, seeds in trained if kind == "plain"} == {(0,)}
    assert {seeds for kind, _, seeds in trained if kind == "ensemble"} == {(0, 1), tuple(range(8))}
    assert {steps for _, steps, _ in trained} == {10, 30}
