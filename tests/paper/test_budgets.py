"""The one budget table: every part reads its settings from it, and a wrong name is one line naming the parameter."""

import pytest

from neuralinv.common.errors import InputError
from neuralinv.experiments.limits import BUDGET_SETTINGS
from neuralinv.paper.budgets import BUDGETS, get_budget
from neuralinv.paper.presets import get_dataset
from neuralinv.reproduce.pipeline import light
from neuralinv.sweep.spec import budget_steps
from neuralinv.training.train import TrainConfig


def test_training_steps_and_rates_per_budget():
    preset = get_dataset("2x2-first")
    paper = TrainConfig.resolve("2x2-first", "2fc", budget="paper")
    fast = TrainConfig.resolve("2x2-first", "2fc", budget="fast")
    quick = TrainConfig.resolve("2x2-first", "2fc", budget="quick")
    assert paper.steps == 156_250 == preset.paper_steps  # the paper's count for 2x2
    assert fast.steps == 15_625 and fast.lr == 1e-2 and paper.lr == quick.lr == 5e-5
    assert quick.steps == preset.quick_steps and quick.steps != fast.steps
    assert [budget_steps(b, 2) for b in BUDGETS] == [20_000, 15_625, 156_250]
    assert [budget_steps(b, 3) for b in BUDGETS] == [20_000, 20_000, 200_000]


def test_parts_without_a_fast_recipe_run_as_quick():
    assert set(BUDGET_SETTINGS) == set(BUDGETS)
    assert BUDGET_SETTINGS["fast"] == BUDGET_SETTINGS["quick"] != BUDGET_SETTINGS["paper"]
    assert [light(b) for b in BUDGETS] == ["quick", "quick", "paper"]


@pytest.mark.parametrize("parameter", ["budget", "sweep.budget"])
def test_unknown_budget_is_one_line(parameter):
    with pytest.raises(InputError) as err:
        get_budget("slow", parameter=parameter)
    assert str(err.value) == f"{parameter}: expected one of quick, fast, paper, got 'slow'"
