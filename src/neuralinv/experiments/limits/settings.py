"""The settings of the "Why can't" report: its two boxes, its budgets and its figures' file names.

BUDGET_SETTINGS is the "why can't" column of the one budget table, neuralinv.paper.budgets.
"""

from __future__ import annotations

import numpy as np

from neuralinv.paper.budgets import BUDGETS
from neuralinv.paper.presets import DATASETS
from neuralinv.regions.shapes import Box

# The singular-containing 2x2 box of the experiments: det(A0) = 0.5, sigma_min(A0) = 0.092, and the singular
# hypersurface det = 0 cuts off one side of it (sigma_min(A0) - 2c = -0.068; 2.6% of uniform samples lie within 0.01
# of it), so a net can fit most of the box and still must fail near that side. The safe box is the paper's 2x2 (First)
# box, certified clear of the singular set (sigma_min >= 0.418 on all of it).
SINGULAR_BOX = Box(np.array([[1.0, 2.0], [2.0, 4.5]]), 0.08)
SAFE_BOX = DATASETS["2x2-first"].region

# The error every counterexample of the report must exceed.
THRESHOLD = 1e6

# The report's settings per budget: the budgets' table's "why can't" column ("fast" runs as "quick").
BUDGET_SETTINGS = {name: budget.limits for name, budget in BUDGETS.items()}

FIGURES = ("limits_error_vs_distance.png", "limits_moments.png", "limits_tail.png")
