"""TrainConfig: one data source field, a JSON form unchanged from earlier versions, errors that name parameters."""

import json

import numpy as np
import pytest

from neuralinv.common.errors import InputError
from neuralinv.regions.shapes import Ball, Box
from neuralinv.training.config import MatrixData, PresetData, RegionData, TrainConfig
from neuralinv.training.data import AcceptRule

REGION = Ball(np.array([[3.0, 1.0], [1.0, 2.0]]), 0.2)


def round_trip(config: TrainConfig) -> TrainConfig:
    return TrainConfig.from_json(json.loads(json.dumps(config.to_json())))


def test_preset_with_a_rule():
    config = TrainConfig.resolve("2x2-first", "2fc", steps=100, rule=AcceptRule(min_abs_det=0.5))
    assert config.data == PresetData(AcceptRule(0.5, None)) and config.source == "preset"
    assert config.region.n == 2 and not hasattr(config, "box")
    data = config.to_json()
    assert list(data)[-3:] == ["center", "radius", "min_abs_det"] and data["min_abs_det"] == 0.5
    assert round_trip(config) == config


def test_region_of_ones_own():
    config = TrainConfig.for_region(REGION, "2fc", steps=200, train_size=1000)
    assert isinstance(config.data, RegionData) and config.source == "region" and config.rule is None
    assert config.region.to_json() == REGION.to_json() and config.dataset == "custom"
    assert config.epoch_steps == 10  # 200 steps compressed into 20 schedule epochs
    assert config.to_json()["region"] == REGION.to_json() and "min_abs_det" not in config.to_json()
    assert round_trip(config) == config
    explicit = TrainConfig.on_region(REGION, "2fc", steps=200, train_size=1280)
    assert explicit.epoch_steps == 10  # one pass over the fixed set: 1280 / 128 batches


def test_matrices_of_ones_own(tmp_path):
    a = np.array([[3.0, 1.0], [1.0, 2.0]]) + np.random.default_rng(0).normal(size=(120, 2, 2)) * 0.05
    path = tmp_path / "m.npy"
    np.save(path, a)
    config = TrainConfig.for_matrices(path, "2fc", steps=50, holdout=0.25)
    source = config.data
    assert isinstance(source, MatrixData) and config.source == "matrices" and config.rule is None
    assert (source.path, source.shape, source.holdout, config.train_size, config.test_size) == (
        str(path.resolve()),
        (120, 2, 2),
        0.25,
        90,
        30,
    )
    assert config.matrices == source.path and config.scaling == "data"
    assert round_trip(config) == config
    data = config.to_json()
    assert [k for k in data if k not in TrainConfig.resolve("3x3", "2fc", steps=1).to_json()] == [
        "region",
        "matrices",
        "matrices_sha256",
        "matrices_shape",
        "holdout",
        "split_seed",
    ]


def test_an_earlier_box_of_ones_own_is_read_as_a_region():
    """run.json of an early version held a uniform box as center and radius; it reads as that Box."""
    data = TrainConfig.resolve("2x2-first", "2fc", steps=100).to_json()
    data.update(dataset="custom", center=[[1.0, 2.0], [3.0, 5.0]], radius=0.1)
    config = TrainConfig.from_json(data)
    assert isinstance(config.data, RegionData)
    assert config.region.to_json() == Box(np.array([[1.0, 2.0], [3.0, 5.0]]), 0.1).to_json()


def test_unknown_fields_are_refused():
    data = {**TrainConfig.resolve("3x3", "2fc", steps=1).to_json(), "warp": 9}
    with pytest.raises(InputError, match="unknown fields warp"):
        TrainConfig.from_json(data)


@pytest.mark.parametrize(
    "kwargs, start",
    [
        ({"steps": 0}, "steps: expected a positive integer"),
        ({"budget": "slow"}, "budget: expected one of quick, fast, paper"),
        ({"test_size": 0}, "test_size: expected a positive integer"),
        ({"seeds": ()}, "seeds: give at least one seed"),
        ({"seeds": (1, 1)}, "seeds: each seed once"),
    ],
)
def test_errors_name_parameters(kwargs, start):
    with pytest.raises(InputError) as err:
        TrainConfig.resolve("2x2-first", "2fc", **kwargs)
    assert str(err.value).startswith(start) and "--" not in str(err.value)


def test_train_size_error_names_the_parameter():
    with pytest.raises(InputError, match=r"^train_size: expected a positive integer"):
        TrainConfig.on_region(REGION, "2fc", steps=10, train_size=0)
