"""neuralinv bench on the command line: one-line errors for bad flags, tables and files written."""

import json

import torch

from neuralinv.cli import bench as cli_bench
from neuralinv.cli import main

FAKE_RATES = {"gemm_flops": 1e10, "bandwidth": 1e10, "op_overhead_s": 1e-6}


def test_cli_bench_bad_input(capsys):
    assert main(["bench", "--device", "tpu"]) == 2
    assert "--device" in capsys.readouterr().err
    assert main(["bench", "--repeats", "0"]) == 2
    assert main(["bench", "--runs", "/nonexistent/dir"]) == 2


def test_cli_bench_runs_and_writes(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_bench, "measure_rates", lambda device, quick=False: FAKE_RATES)  # measured in test_roofline
    out = tmp_path / "b"
    code = main(
        [
            "bench",
            "--quick",
            "--datasets",
            "2x2-second",
            "--models",
            "2fc",
            "--repeats",
            "1",
            "--max-pass",
            "0.01",
            "--threads",
            str(torch.get_num_threads()),
            "--out",
            str(out),
            "--sections",
            "inference",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "Table 3" in text and "Roofline" in text
    data = json.loads((out / "bench.json").read_text())
    assert data["inference"]["device"] == "cpu"
    assert (out / "frontier.png").is_file() and (out / "bench.md").read_text().startswith("# neuralinv bench")


def test_bench_rejects_unknown_section(capsys):
    assert main(["bench", "--sections", "inference,warp"]) == 2
    assert "warp" in capsys.readouterr().err
