"""The names other packages import from neuralinv.training.train, which is now split into one module per concept:
config (TrainConfig, budgets), pairs (a configuration's data), engine (the batched step), schedule, state (resume),
loop (train_group, train_ensemble), result (TrainResult) and reference (train_plain)."""

from neuralinv.training.config import (
    BUDGETS,
    CUSTOM_SCHEDULE_EPOCHS,
    CUSTOM_STEPS,
    FAST_LR,
    FAST_STEP_FRACTION,
    TrainConfig,
)
from neuralinv.training.loop import train_ensemble, train_group
from neuralinv.training.pairs import evaluation_pairs, training_pairs
from neuralinv.training.reference import train_plain
from neuralinv.training.result import TrainResult

__all__ = [
    "BUDGETS",
    "CUSTOM_SCHEDULE_EPOCHS",
    "CUSTOM_STEPS",
    "FAST_LR",
    "FAST_STEP_FRACTION",
    "TrainConfig",
    "TrainResult",
    "evaluation_pairs",
    "train_ensemble",
    "train_group",
    "train_plain",
    "training_pairs",
]
