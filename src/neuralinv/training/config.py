"""TrainConfig: everything that determines a training run, with its data source and the budget tables.

The data come from one of three sources, each a small type in TrainConfig.data: PresetData (samples of the box of
the paper's data set that TrainConfig.dataset names), RegionData (samples of a region of one's own) and MatrixData
(matrices of one's own: a seeded held-out split of a .npy file). Sampled data may be kept by a rejection rule
(AcceptRule: |det A| > min_abs_det and sigma_min(A) > min_sigma).

The JSON form (to_json, run.json's "config") is the flat layout that earlier versions wrote, key for key, so that
`neuralinv reproduce` and --resume recognise finished and interrupted runs written before.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch

from neuralinv.common.errors import InputError
from neuralinv.common.files import read_matrices
from neuralinv.nets.mlp import get_model
from neuralinv.nets.scaling import check_scaling
from neuralinv.paper.budgets import BUDGETS, get_budget
from neuralinv.paper.presets import BATCH, get_dataset
from neuralinv.regions.files import load_region, region_from_json
from neuralinv.regions.shapes import Box, Region
from neuralinv.training.data import MIN_MATRICES, AcceptRule, file_sha256, matrix_pairs, split_matrices

# The budgets are one table (neuralinv.paper.budgets); these names are its training columns.
FAST_LR = BUDGETS["fast"].lr
FAST_STEP_FRACTION = BUDGETS["fast"].paper_step_divisor

# Step counts for a region or matrices of one's own (no paper count to follow): "paper" takes the paper's count for
# 3x3 and 16x16 with an epoch of one pass over the fixed set; "quick" (and an explicit step count) compress the
# schedule into CUSTOM_SCHEDULE_EPOCHS epochs, as a short preset run covers the schedule of the paper's 2x2 runs.
CUSTOM_STEPS = {name: budget.custom_steps for name, budget in BUDGETS.items()}
CUSTOM_SCHEDULE_EPOCHS = 20


@dataclass(frozen=True)
class PresetData:
    """Samples of the box of the paper's data set that TrainConfig.dataset names, kept by rule if one is given."""

    rule: AcceptRule | None = None
    kind = "preset"

    def region(self, dataset: str) -> Region:
        """The preset's box."""
        return get_dataset(dataset).region


@dataclass(frozen=True)
class RegionData:
    """Samples of a region of one's own (its region-file JSON), kept by rule if one is given."""

    region_json: dict
    rule: AcceptRule | None = None
    kind = "region"

    def region(self, dataset: str) -> Region:
        """The region the JSON describes."""
        return region_from_json(self.region_json)


@dataclass(frozen=True)
class MatrixData:
    """Matrices of one's own: a .npy file (absolute path, its sha256 and shape) and the seeded split into training
    and held-out matrices (the share holdout held out); region_json is the region bound into the checkpoints."""

    path: str
    sha256: str
    shape: tuple[int, ...]
    holdout: float
    split_seed: int
    region_json: dict
    kind = "matrices"
    rule = None  # the file is the data: filter it instead

    def region(self, dataset: str) -> Region:
        """The region bound into the checkpoints (given, or fitted to the training share)."""
        return region_from_json(self.region_json)


DataSource = PresetData | RegionData | MatrixData


def check_steps(steps: int | None) -> None:
    """A one-line InputError unless steps is None or a positive integer."""
    if steps is not None and steps <= 0:
        raise InputError(f"steps: expected a positive integer, got {steps}")


def check_budget(budget: str) -> None:
    """A one-line InputError unless budget is one of BUDGETS."""
    get_budget(budget)


def region_steps(steps: int | None, budget: str, train_size: int | None) -> tuple[int, float]:
    """(steps, epoch_steps) off the presets: at budget "paper" 200,000 steps and an epoch of one pass over the fixed
    set (as for 3x3); otherwise the given steps (or 20,000) with the schedule compressed into 20 epochs."""
    check_budget(budget)
    check_steps(steps)
    if steps is None and budget == "paper":
        return CUSTOM_STEPS["paper"], (train_size or 1_000_000) / BATCH
    steps = steps or CUSTOM_STEPS[budget]
    return steps, steps / CUSTOM_SCHEDULE_EPOCHS


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; written to run.json."""

    dataset: str  # the preset's name, or a label for data of one's own ("custom", "matrices", "sweep")
    model: str
    steps: int
    seeds: tuple[int, ...] = (0, 1, 2)
    scaling: str = "paper"
    device: str = "cpu"
    batch_size: int = BATCH
    lr: float = 5e-5
    weight_decay: float = 1e-7
    t_0: int = 3
    t_mult: int = 2
    eta_min: float = 1e-6
    epoch_steps: float = 7812.5  # batches per schedule epoch
    train_size: int | None = 1_000_000  # None: a fresh sample every step
    data_seed: int = 0
    test_size: int = 10_000
    data: DataSource = PresetData()

    @classmethod
    def resolve(
        cls,
        dataset: str,
        model: str,
        *,
        steps: int | None = None,
        budget: str = "quick",
        rule: AcceptRule | None = None,
        **kwargs,
    ) -> "TrainConfig":
        """The configuration for a preset: the paper's step count at budget "paper", a short one at "quick".

        With fewer steps than the paper's, the schedule is compressed in proportion so that the run covers the same
        number of schedule epochs (20 for 2x2) and ends, like the paper's, late in a cosine cycle. kwargs set any
        other field.
        """
        preset = get_dataset(dataset)
        get_model(model)
        check_budget(budget)
        if steps is None:
            steps = get_budget(budget).steps(preset.paper_steps, preset.quick_steps)
        check_steps(steps)
        epoch_steps = preset.paper_epoch_steps * steps / preset.paper_steps
        recipe = {}
        if budget == "fast":  # as the recipe search ran it (neuralinv.sweep.pack.config_for)
            epoch_steps, recipe = steps / CUSTOM_SCHEDULE_EPOCHS, {"lr": FAST_LR}
        config = cls(
            dataset=dataset,
            model=model,
            steps=steps,
            epoch_steps=epoch_steps,
            train_size=preset.train_size,
            test_size=preset.test_size,
            data=PresetData(rule),
            **recipe,
        )
        config = replace(config, **kwargs)
        config.validate()
        return config

    @classmethod
    def on_region(
        cls,
        region,
        model: str,
        *,
        steps: int,
        train_size: int | None = 100_000,
        epoch_steps: float | None = None,
        rule: AcceptRule | None = None,
        data: DataSource | None = None,
        **kwargs,
    ) -> "TrainConfig":
        """A configuration with an explicit step count on any region (a Region, a region file or its JSON; for
        example a box that holds singular matrices, for the limits experiments). The epoch is one pass over the
        fixed training set unless epoch_steps is given. data replaces the RegionData(region, rule) source (for
        for_matrices); kwargs set any other field (dataset defaults to "custom")."""
        get_model(model)
        check_steps(steps)
        epoch_steps = epoch_steps or (train_size / BATCH if train_size else steps / CUSTOM_SCHEDULE_EPOCHS)
        config = cls(
            dataset=kwargs.pop("dataset", "custom"),
            model=model,
            steps=steps,
            epoch_steps=epoch_steps,
            train_size=train_size,
            data=data or RegionData(load_region(region).to_json(), rule),
            **kwargs,
        )
        config.validate()
        return config

    @classmethod
    def for_region(
        cls,
        region,
        model: str,
        *,
        steps: int | None = None,
        budget: str = "quick",
        train_size: int | None = 100_000,
        **kwargs,
    ) -> "TrainConfig":
        """The configuration for a region of one's own (a Region, a region file, or its JSON) with the paper's
        recipe: a fixed training set of train_size samples (None: fresh samples every step); steps and schedule
        by region_steps (budget "fast" also takes lr FAST_LR). kwargs as for on_region."""
        steps, epoch_steps = region_steps(steps, budget, train_size)
        if budget == "fast":
            kwargs.setdefault("lr", FAST_LR)
        return cls.on_region(
            load_region(region), model, steps=steps, train_size=train_size, epoch_steps=epoch_steps, **kwargs
        )

    @classmethod
    def for_matrices(
        cls,
        path: str | Path,
        model: str,
        *,
        region=None,
        holdout: float = 0.1,
        split_seed: int = 0,
        steps: int | None = None,
        budget: str = "quick",
        scaling: str = "data",
        **kwargs,
    ) -> "TrainConfig":
        """The configuration for training on matrices of one's own, a .npy file (m, n, n) with m >= 100.

        A seeded share holdout of them is held out as the test set; the rest are the fixed training set (pairs A,
        A^-1 by numpy.linalg.inv in float64). The region bound into the checkpoints is the given one (a Region, a
        preset name or a region file), else fit_region of the training matrices. Steps as in for_region.
        """
        fixed = None if region is None else load_region(region)
        a = read_matrices(path, name="matrices", n=None if fixed is None else fixed.n, minimum=MIN_MATRICES)
        matrix_pairs(a)  # a singular matrix is refused now, not after training
        train_idx, test_idx = split_matrices(len(a), holdout, split_seed)
        if fixed is None:
            from neuralinv.regions.fit import fit_region

            fixed = fit_region(a[train_idx])
        source = MatrixData(
            path=str(Path(path).resolve()),
            sha256=file_sha256(path),
            shape=tuple(a.shape),
            holdout=float(holdout),
            split_seed=int(split_seed),
            region_json=fixed.to_json(),
        )
        return cls.for_region(
            fixed,
            model,
            steps=steps,
            budget=budget,
            train_size=len(train_idx),
            test_size=len(test_idx),
            dataset="matrices",
            scaling=scaling,
            data=source,
            **kwargs,
        )

    @classmethod
    def from_json(cls, data: dict) -> "TrainConfig":
        """The configuration that to_json() wrote (run.json's "config"), or an earlier version's with a box given
        as center and radius."""
        data = dict(data)
        source = source_from_json(data)
        known = {f.name for f in fields(cls)} - {"data"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"config: unknown fields {', '.join(unknown)} (written by a newer neuralinv?)")
        data["seeds"] = tuple(data["seeds"])
        return cls(**data, data=source)

    @property
    def region(self) -> Region:
        """The region the networks are trained on and bound to (a Box for the presets)."""
        return self.data.region(self.dataset)

    @property
    def rule(self) -> AcceptRule | None:
        """The rejection rule for sampled matrices, or None."""
        return self.data.rule

    @property
    def matrices(self) -> str | None:
        """The .npy file of a run on matrices of one's own (absolute path), else None."""
        return self.data.path if isinstance(self.data, MatrixData) else None

    @property
    def source(self) -> str:
        """Where the data come from: "preset", "region" or "matrices"."""
        return self.data.kind

    @property
    def schedule_epochs(self) -> float:
        """The number of schedule epochs the run covers."""
        return self.steps / self.epoch_steps

    def validate(self) -> None:
        """One-line InputErrors for a configuration that cannot train, before any training starts."""
        check_scaling(self.region, self.scaling)  # refuses paper/data scaling on a singular centre
        if self.train_size is not None and self.train_size <= 0:  # an empty fixed set would never fill a batch
            raise InputError(f"train_size: expected a positive integer, got {self.train_size}")
        if isinstance(self.data, MatrixData) and self.train_size is None:
            raise InputError("train_size: the training set is the file's training share; it cannot be streamed")
        if not self.seeds:
            raise InputError("seeds: give at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise InputError(f"seeds: each seed once, got {list(self.seeds)}")
        if self.test_size <= 0:
            raise InputError(f"test_size: expected a positive integer, got {self.test_size}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError(f"device: {self.device!r} requested but CUDA is not available here; use device=cpu")

    def to_json(self) -> dict:
        """The flat JSON form run.json holds (see the module docstring): the fields, then the data source's keys."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "data"}
        data["seeds"] = list(self.seeds)
        return {**data, **source_to_json(self.data)}


def source_to_json(source: DataSource) -> dict:
    """The data source's keys of the flat JSON form: always center and radius (null since on_region writes a region,
    kept so that configurations written before compare equal), then those of the source that are set."""
    data: dict = {"center": None, "radius": None}
    if not isinstance(source, PresetData):
        data["region"] = copy.deepcopy(source.region_json)
    if source.rule is not None:
        data.update({k: v for k, v in asdict(source.rule).items() if v is not None})
    if isinstance(source, MatrixData):
        data.update(
            matrices=source.path,
            matrices_sha256=source.sha256,
            matrices_shape=list(source.shape),
            holdout=source.holdout,
            split_seed=source.split_seed,
        )
    return data


SOURCE_KEYS = ("center", "radius", "region", "min_abs_det", "min_sigma")
MATRIX_KEYS = ("matrices", "matrices_sha256", "matrices_shape", "holdout", "split_seed")


def source_from_json(data: dict) -> DataSource:
    """The data source of a flat JSON configuration; its keys are removed from data."""
    center, radius, region, min_abs_det, min_sigma = (data.pop(k, None) for k in SOURCE_KEYS)
    path, sha256, shape, holdout, split_seed = (data.pop(k, None) for k in MATRIX_KEYS)
    rule = AcceptRule.make(min_abs_det, min_sigma)
    if path is not None:
        return MatrixData(path, sha256, tuple(shape), holdout, split_seed, region)
    if center is not None:  # an earlier version's box of one's own: a uniform box
        region = Box(center, radius).to_json()
    return PresetData(rule) if region is None else RegionData(region, rule)
