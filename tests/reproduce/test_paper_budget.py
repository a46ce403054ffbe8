"""Slow: the paper's full budget on the cheapest Table 1 cell (about a minute on 2 cores). Run with `make test-all`."""

import pytest

from neuralinv.paper import numbers as paper
from neuralinv.training.runs import run_training
from neuralinv.training.train import TrainConfig


@pytest.mark.slow
def test_2x2_first_2fc_at_paper_budget_is_within_2x_of_table1(tmp_path):
    """156,250 steps, 3 seeds, the paper's recipe: the mean test MAE lands within 2x of Table 1's 2.05e-5."""
    config = TrainConfig.resolve("2x2-first", "2fc", budget="paper", seeds=(0, 1, 2))
    summary = run_training(config, tmp_path, progress=False)
    assert summary["steps"] == 156_250
    assert summary["mae_mean"] < 2 * paper.TABLE1[("2x2-first", "2fc")]
    assert summary["mae_mean"] < summary["linear_mae"] / 5
