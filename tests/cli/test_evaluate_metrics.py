"""neuralinv evaluate reports the field's metrics for each network, consistent with training.metrics, and keeps
every key and line it had."""

import json

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.nets.checkpoint import load_network
from neuralinv.training.config import TrainConfig
from neuralinv.training.metrics import (
    lawt_accuracy,
    mae_by_sigma_min,
    relative_accuracy,
    relative_error_quantiles,
    summarize,
)
from neuralinv.training.runs import run_training


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-seed 2-FC run on 2x2 First (200 steps) and 300 seeded test matrices of its box saved as .npy."""
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig.resolve("2x2-first", "2fc", steps=200, seeds=(0, 1), train_size=2000, test_size=500)
    run_training(config, out, progress=False)
    net = load_network(out / "seed-0.safetensors")
    a = net.region.sample(300, generator=torch.Generator().manual_seed(7)).double()
    a[:100] *= 0.05  # a third scaled down out of the box: sigma_min a decade lower
    path = out / "test.npy"
    np.save(path, a.numpy())
    return out, path, a


def evaluate_json(capsys, *argv):
    assert main(["evaluate", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_field_metrics_of_each_network(tiny_run, capsys):
    out, path, a = tiny_run
    data = evaluate_json(capsys, out, "--matrices", path)
    assert {"test_size", "seed", "source", "metrics", "skipped_baselines"} <= set(data)  # the keys of before
    assert set(data["field_metrics"]) == {"seed 0", "seed 1"}  # the networks, not the baselines
    a_inv = torch.from_numpy(np.linalg.inv(a.numpy()))
    for seed in (0, 1):
        p = load_network(out / f"seed-{seed}.safetensors")(a).detach()
        field = data["field_metrics"][f"seed {seed}"]
        row = data["metrics"][f"seed {seed}"]
        assert row == pytest.approx(summarize(p, a_inv), rel=1e-12)  # the rows of before, unchanged
        assert set(row) == {"mae", "max_error", "rel_fro_mean", "rel_fro_max"}
        assert field["lawt_accuracy"] == {f"{t:g}": v for t, v in lawt_accuracy(a, p).items()}
        assert field["relative_accuracy"] == {f"{t:g}": v for t, v in relative_accuracy(p, a_inv).items()}
        quantiles = relative_error_quantiles(p, a_inv)
        assert field["relative_error_quantiles"] == pytest.approx({f"{q:g}": v for q, v in quantiles.items()})
        bins = field["mae_by_sigma_min"]
        assert bins == json.loads(json.dumps(mae_by_sigma_min(a, p, a_inv)))
        assert sum(bins["counts"]) == len(a) and len([c for c in bins["counts"] if c]) >= 2
        # the bins' MAE, weighted by their counts, is the overall MAE
        total = sum(c * m for c, m in zip(bins["counts"], bins["mae"]) if c) / len(a)
        assert total == pytest.approx(row["mae"], rel=1e-9)
        assert field["relative_error_quantiles"]["1"] == pytest.approx(row["rel_fro_max"], rel=1e-12)


def test_sampled_test_set_and_text_lines(tiny_run, capsys):
    out, _, _ = tiny_run
    data = evaluate_json(capsys, out, "--test-size", "400")
    shares = data["field_metrics"]["seed 1"]["lawt_accuracy"]
    assert list(shares) == ["0.05", "0.02", "0.01", "0.005"] and all(0 <= v <= 1 for v in shares.values())
    assert list(shares.values()) == sorted(shares.values(), reverse=True)  # tighter tolerance, fewer pass
    assert main(["evaluate", str(out), "--test-size", "400"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:2] == ["method", "MAE"]  # the table of before comes first
    field_lines = [line for line in lines if line.startswith("seed ") and "residual (LAWT)" in line]
    assert [line.split(":")[0] for line in field_lines] == ["seed 0", "seed 1"]
    assert "within 5%/2%/1%/0.5%" in field_lines[0] and "MAE by sigma_min [" in field_lines[0]


def test_help_still_works(capsys):
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "--help"])
    assert done.value.code == 0 and "LAWT" in capsys.readouterr().out
