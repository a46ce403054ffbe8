"""Run directories: their layout, reuse of a finished run, and an interrupted run resumed to the same numbers."""

import json

import pytest
import torch
from safetensors.torch import load_file

from neuralinv.common.errors import InputError
from neuralinv.training import runs
from neuralinv.training.config import TrainConfig
from neuralinv.training.loop import train_ensemble
from neuralinv.training.runs import RUN_FILE, STATE_FILE, checkpoint_name, finished, read_run, run_training


def tiny(**kwargs) -> TrainConfig:
    return TrainConfig.resolve(
        "2x2-first", "2fc-small", steps=30, seeds=(0, 1), train_size=500, test_size=200, **kwargs
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    return out, run_training(tiny(), out, progress=False)


def test_layout(run_dir):
    """run.json and one checkpoint per seed, nothing else (the state file is gone once the run is finished)."""
    out, summary = run_dir
    assert sorted(p.name for p in out.iterdir()) == sorted([RUN_FILE, checkpoint_name(0), checkpoint_name(1)])
    assert checkpoint_name(1) == "seed-1.safetensors"
    assert read_run(out) == json.loads(json.dumps(summary))
    assert summary["checkpoints"] == {"0": "seed-0.safetensors", "1": "seed-1.safetensors"}
    assert summary["config"] == tiny().to_json() and summary["data"]["source"] == "preset"


def test_a_finished_run_is_reused_not_retrained(run_dir, monkeypatch):
    out, summary = run_dir
    assert finished(out, tiny()) == read_run(out)
    assert finished(out, tiny(data_seed=1)) is None
    monkeypatch.setattr(runs, "train_group", lambda *a, **k: pytest.fail("trained again"))
    assert run_training(tiny(), out, progress=False, resume=True) == read_run(out)


def test_read_run_of_a_directory_without_one(tmp_path):
    with pytest.raises(InputError, match="no run.json"):
        read_run(tmp_path)


def test_an_interrupted_run_resumes_to_the_same_checkpoints(run_dir, tmp_path):
    """A state left at step 11 in DIR: refused without resume, resumed with it, ending bitwise where an
    uninterrupted run ends; the state file is removed."""
    out = tmp_path / "again"
    assert train_ensemble(tiny(), progress=False, state_path=out / STATE_FILE, stop_at=11) is None
    with pytest.raises(InputError, match=r"^out: .* holds an interrupted run: continue it with resume=True"):
        run_training(tiny(), out, progress=False)
    summary = run_training(tiny(), out, progress=False, resume=True)
    assert not (out / STATE_FILE).exists()
    whole, _ = run_dir
    for seed in (0, 1):
        a, b = load_file(whole / checkpoint_name(seed)), load_file(out / checkpoint_name(seed))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert summary["test_mae"] == read_run(whole)["test_mae"]


def test_an_out_that_cannot_be_made_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(InputError, match=r"^out: cannot create the directory .*a-file/x") as err:
        run_training(tiny(), blocker / "x", progress=False)
    assert "\n" not in str(err.value)
