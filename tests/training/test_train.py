import json
import math

import pytest
import torch

from neuralinv.cli import main
from neuralinv.nets.checkpoint import load_network, read_metadata, save_network
from neuralinv.nets.mlp import init_layers
from neuralinv.nets.scaling import Scaling
from neuralinv.paper.presets import get_dataset
from neuralinv.training.config import TrainConfig
from neuralinv.training.data import BatchStream
from neuralinv.training.loop import train_ensemble, train_group
from neuralinv.training.reference import train_plain
from neuralinv.training.runs import run_training
from neuralinv.training.schedule import lr_at, make_optimizer


@pytest.mark.parametrize("dataset, model", [("2x2-first", "2fc"), ("3x3", "3fc"), ("16x16", "2fc-small")])
def test_ensemble_equals_single_seed_training(dataset, model):
    """Each member of a 3-seed ensemble ends where a plain nn.Sequential loop with that seed ends, to rounding."""
    steps = 300 if dataset != "16x16" else 20
    config = TrainConfig.resolve(
        dataset, model, steps=steps, seeds=(0, 1, 2), train_size=5000 if dataset != "16x16" else None
    )
    ensemble = train_ensemble(config, progress=False)
    for seed, net in zip(config.seeds, ensemble.networks):
        plain = train_plain(config, seed)
        for (w, b), (pw, pb) in zip(net.layers, plain.layers):
            assert torch.allclose(w, pw, rtol=1e-4, atol=2e-6), (seed, (w - pw).abs().max())
            assert torch.allclose(b, pb, rtol=1e-4, atol=2e-6)
    # and the members really differ from each other
    assert not torch.allclose(ensemble.networks[0].layers[0][0], ensemble.networks[1].layers[0][0])


def test_schedule_matches_pytorch():
    """lr_at reproduces CosineAnnealingWarmRestarts(T_0=3, T_mult=2) stepped with fractional epochs."""
    config = TrainConfig.resolve("2x2-first", "2fc", steps=2000)
    opt, sched = make_optimizer([torch.zeros(1, requires_grad=True)], config)
    for step in range(2000):
        assert math.isclose(opt.param_groups[0]["lr"], lr_at(config, step), rel_tol=1e-9, abs_tol=1e-15)
        sched.step((step + 1) / config.epoch_steps)
    assert config.schedule_epochs == pytest.approx(20)


def test_batch_stream_is_a_permutation_stream():
    """Over one epoch a fixed set's stream visits every sample exactly once."""
    region = get_dataset("2x2-first").region
    scaling = Scaling.for_region(region)
    x = torch.arange(640, dtype=torch.float32)[:, None].expand(640, 4).contiguous()
    stream = BatchStream(seed=3, batch_size=64, region=region, scaling=scaling, data=(x, x))
    xb, _ = stream.next(10)
    assert sorted(xb[..., 0].flatten().tolist()) == list(range(640))


def test_init_is_seeded():
    a, b, c = init_layers([4, 32, 4], 0), init_layers([4, 32, 4], 0), init_layers([4, 32, 4], 1)
    assert torch.equal(a[0][0], b[0][0]) and not torch.equal(a[0][0], c[0][0])
    assert a[0][0].abs().max() <= 0.5  # 1/sqrt(fan_in)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig.resolve("2x2-first", "2fc", steps=400, seeds=(0, 1), train_size=20_000, test_size=2000)
    return out, config, run_training(config, out, progress=False)


def test_run_json_holds_the_fields(small_run):
    out, config, summary = small_run
    data = json.loads((out / "run.json").read_text())
    assert data == json.loads(json.dumps(summary))
    for key in [
        "config",
        "test_mae",
        "mae_mean",
        "mae_std",
        "linear_mae",
        "steps",
        "wall_time_s",
        "machine",
        "curve",
        "per_seed",
    ]:
        assert key in data
    assert data["config"]["lr"] == 5e-5 and data["config"]["seeds"] == [0, 1]
    assert set(data["test_mae"]) == {"0", "1"}
    assert data["mae_mean"] == pytest.approx(sum(data["test_mae"].values()) / 2)
    assert "torch" in data["machine"]["versions"]
    assert len(data["curve"]["steps"]) == len(data["curve"]["loss"]) > 0


def test_checkpoint_round_trip(small_run, gen):
    """A saved network loads back with identical weights, region, scaling and outputs."""
    out, config, _ = small_run
    net = load_network(out / "seed-0.safetensors")
    again = out / "copy.safetensors"
    save_network(net, again)
    back = load_network(again, n=2)
    a = net.region.sample(100, generator=gen)
    assert torch.equal(net(a), back(a))
    assert back.scaling == net.scaling and back.info["seed"] == 0
    assert read_metadata(again)["layer_sizes"] == [4, 32, 4]


def test_evaluate_cli(small_run, capsys):
    out, _, summary = small_run
    assert main(["evaluate", str(out), "--test-size", "2000", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["metrics"]
    assert rows["exact"]["mae"] == 0.0
    assert rows["taylor2"]["mae"] < rows["taylor1"]["mae"]
    # Same seed and size as training's test set: same MAE as run.json.
    assert rows["seed 0"]["mae"] == pytest.approx(summary["test_mae"]["0"], rel=1e-9)


def test_checkpoint_of_another_size_is_refused(small_run, capsys):
    out, _, _ = small_run
    with pytest.raises(Exception, match="3x3"):
        load_network(out / "seed-0.safetensors", n=3)


def test_training_is_deterministic():
    config = TrainConfig.resolve("2x2-second", "2fc-small", steps=50, seeds=(5,), train_size=1000)
    a = train_ensemble(config, progress=False).networks[0]
    b = train_ensemble(config, progress=False).networks[0]
    assert all(torch.equal(w1, w2) for (w1, _), (w2, _) in zip(a.layers, b.layers))


@pytest.mark.parametrize("stop", [137, 400])
def test_resume_gives_the_same_numbers(tmp_path, stop, monkeypatch):
    """Stopped mid-chunk (137) or at a chunk boundary (400) and resumed: bitwise the uninterrupted run."""
    monkeypatch.setattr("neuralinv.training.loop.chunk_steps", lambda per_step: 100)
    config = TrainConfig.resolve("2x2-first", "2fc", steps=700, seeds=(0, 1), train_size=3000)
    whole = train_ensemble(config, progress=False, curve_points=50)
    state = tmp_path / "state.safetensors"
    assert train_ensemble(config, progress=False, curve_points=50, state_path=state, stop_at=stop) is None
    assert state.is_file()
    resumed = train_ensemble(config, progress=False, curve_points=50, state_path=state)
    for a, b in zip(whole.networks, resumed.networks):
        assert all(torch.equal(w1, w2) and torch.equal(b1, b2) for (w1, b1), (w2, b2) in zip(a.layers, b.layers))
    assert resumed.curve_losses == whole.curve_losses


def test_resume_refuses_another_configuration(tmp_path):
    config = TrainConfig.resolve("2x2-first", "2fc", steps=100, seeds=(0,), train_size=1000)
    state = tmp_path / "state.safetensors"
    train_ensemble(config, progress=False, state_path=state, stop_at=50)
    other = TrainConfig.resolve("2x2-first", "2fc", steps=100, seeds=(1,), train_size=1000)
    with pytest.raises(Exception, match="another configuration"):
        train_ensemble(other, progress=False, state_path=state)


@pytest.mark.integration
def test_cli_interrupt_and_resume(tmp_path):
    """A real `neuralinv train` killed with SIGTERM saves its state on the way out; --resume continues from it."""
    import signal
    import subprocess
    import sys
    import time

    from safetensors import safe_open

    def saved_step(path):
        with safe_open(str(path), framework="pt") as f:
            return json.loads(f.metadata()["neuralinv-train-state"])["step"]

    out = tmp_path / "run"
    argv = [
        sys.executable,
        "-m",
        "neuralinv",
        "train",
        "--dataset",
        "3x3",
        "--model",
        "2fc-small",
        "--seeds",
        "0",
        "1",
        "--steps",
        "400000",
        "--out",
        str(out),
        "--quiet",
        "--save-every",
        "0.5",
    ]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    state = out / "train-state.safetensors"
    deadline = time.time() + 120
    while not state.is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert state.is_file(), proc.stderr.read() if proc.poll() is not None else "no state saved in time"
    time.sleep(1.0)
    periodic = saved_step(state)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    interrupted = saved_step(state)
    assert 0 < periodic <= interrupted < 400000
    assert not (out / "run.json").exists()
    again = subprocess.run(argv, capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr
    # --resume picks the state up: stop it again quickly and check it went on from the saved step.
    proc = subprocess.Popen(argv + ["--resume"], stderr=subprocess.PIPE, text=True)
    while saved_step(state) == interrupted and time.time() < deadline + 120 and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    assert saved_step(state) > interrupted


def test_group_of_data_sets_equals_separate_ensembles():
    """Both 2x2 data sets trained as one 4-model ensemble give each data set's own ensemble result, to rounding."""
    first = TrainConfig.resolve("2x2-first", "3fc", steps=200, seeds=(0, 1), train_size=4000)
    second = TrainConfig.resolve("2x2-second", "3fc", steps=200, seeds=(0, 1), train_size=4000)
    group = train_group([first, second], progress=False, curve_points=20)
    for config, result in zip([first, second], group):
        alone = train_ensemble(config, progress=False, curve_points=20)
        assert result.config == config and len(result.networks) == 2
        assert result.networks[0].region == alone.networks[0].region
        for a, b in zip(result.networks, alone.networks):
            for (w1, b1), (w2, b2) in zip(a.layers, b.layers):
                assert torch.allclose(w1, w2, rtol=1e-5, atol=1e-7) and torch.allclose(b1, b2, rtol=1e-5, atol=1e-7)
        assert len(result.curve_losses[0]) == 2


def test_group_refuses_mismatched_configurations():
    a = TrainConfig.resolve("2x2-first", "2fc", steps=100)
    with pytest.raises(Exception, match="differ"):
        train_group([a, TrainConfig.resolve("2x2-second", "3fc", steps=100)])
    with pytest.raises(Exception, match="differ"):
        train_group([a, TrainConfig.resolve("3x3", "2fc", steps=100)])
