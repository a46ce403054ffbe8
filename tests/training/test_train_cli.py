"""neuralinv train's errors: the library names parameters, the command names its flags; an --out that cannot be
made is one line, exit 2; --region takes inline JSON like every command."""

import json
from pathlib import Path

import pytest
import torch

from neuralinv.cli import build_parser, main
from neuralinv.cli.train import as_flags, config_from_args
from neuralinv.training.config import TrainConfig
from neuralinv.training.loop import train_ensemble
from neuralinv.training.runs import STATE_FILE

TINY = [
    "--dataset",
    "2x2-first",
    "--model",
    "2fc-small",
    "--steps",
    "10",
    "--seeds",
    "0",
    "--train-size",
    "1000",
    "--quiet",
]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "extra, start",
    [
        (["--test-size", "0"], "--test-size: expected a positive integer"),
        (["--min-abs-det", "-1"], "--min-abs-det: expected a finite number >= 0"),
        (["--seeds", "1", "1"], "--seeds: each seed once"),
        (["--train-size", "0"], "--train-size: expected a positive integer"),
    ],
)
def test_library_errors_come_out_as_flags(tmp_path, capsys, extra, start):
    code, _, err = run_cli(capsys, "train", *TINY, *extra, "--out", tmp_path / "x")
    assert code == 2 and err.startswith(f"neuralinv train: error: {start}") and err.count("\n") == 1, err


def test_an_interrupted_run_needs_resume(tmp_path, capsys):
    out = tmp_path / "run"
    config = TrainConfig.resolve("2x2-first", "2fc-small", steps=10, seeds=(0,), train_size=1000)
    train_ensemble(config, progress=False, state_path=out / STATE_FILE, stop_at=3)
    code, _, err = run_cli(capsys, "train", *TINY, "--out", out)
    assert code == 2 and "continue it with --resume" in err and "--out: " in err, err
    assert run_cli(capsys, "train", *TINY, "--out", out, "--resume")[0] == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", *TINY, "--device", "cuda", "--out", tmp_path / "x")
    assert code == 2 and "--device: 'cuda' requested" in err and "use --device cpu" in err, err


def test_as_flags_leaves_other_words_alone():
    assert as_flags("rejection rule |det A| > 0.1: only 3 of 10000 draws were kept") == (
        "rejection rule |det A| > 0.1: only 3 of 10000 draws were kept"
    )
    assert as_flags("matrices: 10 matrices are too few; x=1") == "--matrices: 10 matrices are too few; x=1"


def test_an_out_under_a_file_exits_2_with_one_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "train", *TINY, "--out", blocker / "x")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"--out: cannot create the directory {str(blocker / 'x')!r}" in err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc here")
def test_an_out_in_proc_exits_2_with_one_line(capsys):
    """The case of the issue: mkdir fails with FileNotFoundError under /proc."""
    code, _, err = run_cli(capsys, "train", *TINY, "--out", "/proc/forbidden/x")
    assert code == 2 and err.count("\n") == 1 and "'/proc/forbidden/x'" in err, err


def test_region_as_inline_json_is_the_region_file():
    region = {"center": [[2.0, 1.0], [1.0, 3.0]], "radius": 0.05}
    common = ["--model", "2fc", "--steps", "100", "--out", "x"]
    parser = build_parser()
    config = config_from_args(parser.parse_args(["train", "--region", json.dumps(region), *common]))
    assert config.source == "region" and config.region.to_json() == {"shape": "box", **region}
