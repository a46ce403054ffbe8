"""Data of one's own: train --matrices (seeded held-out split, data scaling), train --region FILE with a rejection
rule (--min-abs-det, --min-sigma), evaluate --matrices / --region, and one-line errors for bad input."""

import hashlib
import json

import numpy as np
import pytest
import torch

from neuralinv.cli import main
from neuralinv.common.errors import InputError
from neuralinv.nets.checkpoint import load_network
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Box
from neuralinv.training.config import TrainConfig
from neuralinv.training.data import AcceptRule, sample_matrices, split_matrices
from neuralinv.training.pairs import evaluation_pairs, training_pairs

SPD_CENTER = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
ZERO_REGION = {"shape": "box", "center": [[0, 0, 0], [0, 0, 0], [0, 0, 0]], "radius": 1}  # the peer's task


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def spd_family(count: int = 400, seed: int = 0) -> np.ndarray:
    """count symmetric positive definite 3x3 matrices: SPD_CENTER plus small symmetric Gaussian perturbations."""
    e = np.random.default_rng(seed).normal(size=(count, 3, 3)) * 0.1
    return SPD_CENTER + (e + e.transpose(0, 2, 1)) / 2


@pytest.fixture(scope="module")
def spd_run(tmp_path_factory):
    """train --matrices on 400 SPD matrices (2 seeds, 150 steps): (run directory, run.json, matrices, .npy path)."""
    tmp = tmp_path_factory.mktemp("own")
    a = spd_family()
    path = tmp / "spd.npy"
    np.save(path, a)
    out = tmp / "run"
    assert (
        main(
            [
                "train",
                "--matrices",
                str(path),
                "--model",
                "2fc",
                "--steps",
                "150",
                "--seeds",
                "0",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    return out, json.loads((out / "run.json").read_text()), a, path


@pytest.fixture(scope="module")
def zero_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("zero") / "zero.json"
    path.write_text(json.dumps(ZERO_REGION))
    return path


def test_run_json_records_the_split(spd_run):
    """run.json records the matrices file (path, sha256, shape), holdout share, split seed and the train/test counts."""
    out, run, a, path = spd_run
    config, data = run["config"], run["data"]
    assert config["matrices"] == str(path.resolve()) and config["matrices_shape"] == [400, 3, 3]
    assert config["matrices_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == data["sha256"]
    assert config["holdout"] == data["holdout"] == 0.1 and config["split_seed"] == data["split_seed"] == 0
    assert data["train_count"] == config["train_size"] == 360 and data["test_count"] == config["test_size"] == 40
    assert config["scaling"] == "data" and data["source"] == "matrices"


def test_test_mae_is_computed_on_exactly_the_held_out_matrices(spd_run):
    """run.json's test MAE and linear MAE equal those recomputed from the checkpoint and numpy.linalg.inv "
    "on the split."""
    out, run, a, _ = spd_run
    _, test_idx = split_matrices(400, 0.1, 0)
    held = a[test_idx]
    exact = np.linalg.inv(held)
    for seed in (0, 1):
        net = load_network(out / f"seed-{seed}.safetensors")
        mae = np.abs(net(torch.from_numpy(held)).numpy() - exact).mean()
        assert run["test_mae"][str(seed)] == pytest.approx(mae, rel=1e-9)
    c0 = net.region.center
    c_inv = np.linalg.inv(c0)
    taylor1 = c_inv - c_inv @ (held - c0) @ c_inv
    assert run["linear_mae"] == pytest.approx(np.abs(taylor1 - exact).mean(), rel=1e-9)


def test_held_out_matrices_are_not_in_the_training_set(spd_run):
    """The training pairs and the held-out matrices partition the file: no held-out matrix is trained on."""
    _, run, a, _ = spd_run
    config = TrainConfig.from_json(run["config"])
    train_a, train_inv = training_pairs(config)
    test_a, _ = evaluation_pairs(config)
    assert train_a.shape == (360, 3, 3) and test_a.shape == (40, 3, 3)
    train_rows = {r.tobytes() for r in train_a.numpy()}
    test_rows = {r.tobytes() for r in test_a.numpy()}
    assert not train_rows & test_rows
    assert train_rows | test_rows == {r.tobytes() for r in a}
    assert np.allclose(train_inv.numpy(), np.linalg.inv(train_a.numpy()), rtol=0, atol=0)


def test_data_scaling_is_the_rms_of_the_training_deviations(spd_run):
    """The checkpoint's "data" scaling: offsets A0, A0^-1 and scales the RMS over the training set of A - "
    "A0, A^-1 - A0^-1."""
    out, run, _, _ = spd_run
    config = TrainConfig.from_json(run["config"])
    train_a, train_inv = (t.numpy() for t in training_pairs(config))
    net = load_network(out / "seed-0.safetensors")
    c0 = net.region.center
    s = net.scaling
    assert s.name == "data" and np.allclose(s.input_offset, c0.ravel(), rtol=0, atol=0)
    assert s.input_scale == pytest.approx(np.sqrt(((train_a - c0) ** 2).mean()), rel=1e-12)
    assert s.target_scale == pytest.approx(np.sqrt(((train_inv - np.linalg.inv(c0)) ** 2).mean()), rel=1e-12)


def test_evaluate_matrices_reproduces_the_run_mae(spd_run, tmp_path, capsys):
    """evaluate DIR --matrices HELD.npy (and evaluate DIR of a --matrices run) gives run.json's test MAE per seed."""
    out, run, a, _ = spd_run
    _, test_idx = split_matrices(400, 0.1, 0)
    held = tmp_path / "held.npy"
    np.save(held, a[test_idx])
    for extra in (["--matrices", held], []):
        code, text, _ = run_cli(capsys, "evaluate", out, *extra, "--json")
        data = json.loads(text)
        assert code == 0 and data["test_size"] == 40 and data["skipped_baselines"] == {}
        for seed in ("0", "1"):
            assert data["metrics"][f"seed {seed}"]["mae"] == pytest.approx(run["test_mae"][seed], rel=1e-9)
        assert data["metrics"]["taylor1"]["mae"] == pytest.approx(run["linear_mae"], rel=1e-9)


def test_peer_task_raw_scaling_and_rejection(zero_file, tmp_path, capsys):
    """Entries uniform in [-1, 1] kept when |det| > 0.1: trains with raw scaling; every training and "
    "test matrix passes."""
    out = tmp_path / "peer"
    code, text, err = run_cli(
        capsys,
        "train",
        "--region",
        zero_file,
        "--min-abs-det",
        0.1,
        "--scaling",
        "raw",
        "--model",
        "2fc",
        "--steps",
        40,
        "--seeds",
        0,
        "--train-size",
        3000,
        "--test-size",
        1000,
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["min_abs_det"] == 0.1 and "min_sigma" not in run["config"]
    assert run["data"]["accept"] == {"min_abs_det": 0.1, "min_sigma": None}
    assert 0.5 < run["data"]["test_acceptance_rate"] < 1 and run["linear_mae"] is None
    config = TrainConfig.from_json(run["config"])
    for a, count in ((training_pairs(config)[0], 3000), (evaluation_pairs(config)[0], 1000)):
        assert a.shape == (count, 3, 3)
        assert np.all(np.abs(np.linalg.det(a.numpy())) > 0.1) and np.all(np.abs(a.numpy()) <= 1)
    assert load_network(out / "seed-0.safetensors").info["accept"]["min_abs_det"] == 0.1


def test_min_sigma_rule(zero_file, tmp_path, capsys):
    """--min-sigma S keeps only sampled matrices with sigma_min > S, in the training and the test set alike."""
    out = tmp_path / "sigma"
    code, _, err = run_cli(
        capsys,
        "train",
        "--region",
        zero_file,
        "--min-sigma",
        0.2,
        "--scaling",
        "raw",
        "--model",
        "2fc",
        "--steps",
        20,
        "--seeds",
        0,
        "--train-size",
        2000,
        "--test-size",
        500,
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    config = TrainConfig.from_json(json.loads((out / "run.json").read_text())["config"])
    assert config.rule == AcceptRule(None, 0.2)
    for a in (training_pairs(config)[0], evaluation_pairs(config)[0]):
        assert np.linalg.svd(a.numpy(), compute_uv=False)[:, -1].min() > 0.2


def test_paper_scaling_on_the_zero_centre_exits_2(zero_file, tmp_path, capsys):
    """The default (paper) scaling on the zero centre is refused: exit 2, one line that says to use --scaling raw."""
    code, _, err = run_cli(
        capsys,
        "train",
        "--region",
        zero_file,
        "--min-abs-det",
        0.1,
        "--model",
        "2fc",
        "--steps",
        10,
        "--out",
        tmp_path / "x",
    )
    assert code == 2 and "--scaling raw" in err and err.strip().count("\n") == 0
    assert not (tmp_path / "x").exists()


def test_a_rule_that_keeps_almost_nothing_is_refused():
    """A rejection rule with acceptance below 1e-3 stops with an InputError naming the observed rate."""
    with pytest.raises(InputError, match=r"acceptance rate 0 ") as err:
        sample_matrices(
            Box(np.zeros((3, 3)), 1.0),
            100,
            generator=torch.Generator().manual_seed(0),
            rule=AcceptRule(min_abs_det=10.0),
        )
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "case, needle",
    [
        ("nan", "NaN"),
        ("wrong-n", "--matrices: expected 2x2 matrices"),
        ("few", "too few"),
        ("non-square", "(m, n, n)"),
    ],
)
def test_bad_matrices_exit_2_with_one_line(tmp_path, capsys, case, needle):
    """train --matrices with NaN, the wrong n for --region, too few or non-square matrices: exit 2, one line."""
    a = spd_family(400, seed=1)
    extra = []
    if case == "nan":
        a[17, 2, 0] = np.nan
    elif case == "wrong-n":
        extra = ["--region", "2x2-first"]
    elif case == "few":
        a = a[:99]
    else:
        a = a[:, :, :2]
    path = tmp_path / "m.npy"
    np.save(path, a)
    code, out, err = run_cli(
        capsys, "train", "--matrices", path, *extra, "--model", "2fc", "--steps", 10, "--out", tmp_path / "run"
    )
    assert code == 2 and needle in err and err.strip().count("\n") == 0 and "Traceback" not in err, err


def test_evaluate_bad_matrices_exit_2(spd_run, tmp_path, capsys):
    """evaluate --matrices with NaN, or with matrices of another size than the network's: exit 2, one line."""
    out = spd_run[0]
    bad = spd_family(10)
    bad[3, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "n2.npy", np.tile(np.eye(2), (5, 1, 1)))
    for name, needle in (("nan.npy", "NaN"), ("n2.npy", "expected 3x3")):
        code, _, err = run_cli(capsys, "evaluate", out, "--matrices", tmp_path / name)
        assert code == 2 and needle in err and err.strip().count("\n") == 0, err


def test_region_file_round_trips_into_the_checkpoint(tmp_path, capsys):
    """train --region FILE binds exactly the file's region into the checkpoints; evaluate --region samples it."""
    region = Box([[2.0, 1.0], [1.0, 3.0]], [[0.01, 0.02], [0.03, 0.04]])
    path = region.save(tmp_path / "mine.json")
    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys,
        "train",
        "--region",
        path,
        "--model",
        "2fc-small",
        "--steps",
        20,
        "--seeds",
        0,
        "--train-size",
        500,
        "--test-size",
        200,
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    net = load_network(out / "seed-0.safetensors")
    file_json = {k: v for k, v in json.loads(path.read_text()).items() if k not in ("format", "format_version")}
    assert net.region.to_json() == file_json == load_region(path).to_json()
    assert net.scaling.name == "paper" and net.scaling.input_scale == 0.04
    code, text, _ = run_cli(capsys, "evaluate", out, "--region", path, "--test-size", 200, "--json")
    data = json.loads(text)
    assert code == 0 and data["source"]["region"] == file_json
    assert data["metrics"]["seed 0"]["mae"] == pytest.approx(
        json.loads((out / "run.json").read_text())["test_mae"]["0"], rel=1e-9
    )


def test_presets_keep_their_config_json():
    """A preset's configuration JSON has exactly the keys it had before regions and matrices of one's own."""
    keys = [
        "dataset",
        "model",
        "steps",
        "seeds",
        "scaling",
        "device",
        "batch_size",
        "lr",
        "weight_decay",
        "t_0",
        "t_mult",
        "eta_min",
        "epoch_steps",
        "train_size",
        "data_seed",
        "test_size",
        "center",
        "radius",
    ]
    config = TrainConfig.resolve("3x3", "2fc", steps=100)
    assert list(config.to_json()) == keys
    assert TrainConfig.from_json(json.loads(json.dumps(config.to_json()))) == config


def test_region_with_a_preset_name_is_the_preset():
    """train --region NAME for a preset gives the very configuration of --dataset NAME (so finished runs are reused)."""
    from neuralinv.cli import build_parser
    from neuralinv.cli.train import config_from_args

    parser = build_parser()
    common = ["--model", "2fc", "--steps", "100", "--out", "x"]
    by_region = config_from_args(parser.parse_args(["train", "--region", "3x3", *common]))
    by_dataset = config_from_args(parser.parse_args(["train", "--dataset", "3x3", *common]))
    assert by_region == by_dataset and by_region.to_json() == by_dataset.to_json()
