"""Sweep specifications: a TOML file of axes, validated before any work starts, expanded into trials and packs.

The format (examples/sweeps/tiny.toml; the README documents every key):

    [sweep]
    seeds = [0, 1]
    steps = 300                    # or: budget = "quick" | "paper" | "fast"
    train_size = 100000            # optional: fixed training matrices per trial (default 100,000)
    samples = 8                    # optional: random search, 8 draws from [random] per grid point
    [grid]
    n = [2, 3]
    center = ["random-int"]        # per n the first certified integer matrix (as the 16x16 preset's); or presets, files
    relative_radius = [0.1, 0.4]   # c = relative_radius * sigma_min(A0) / n   (or: radius = [0.01], absolute)
    model = ["2fc", "3fc"]         # or depth = [1, 2] with width = ["8n2", 64] (a multiple of n^2, or absolute)
    lr = [5e-5]
    schedule = ["paper"]           # "paper" (cosine warm restarts), "cosine" (one decay), "constant"
    batch_size = [128]
    [random]
    lr = {min = 1e-4, max = 1e-2, log = true}   # ranges (log or linear) or lists to choose from

A trial is one point of the grid (and one random draw), trained once per seed. Trials that share a network shape and
an optimisation schedule are packed into one batched ensemble (neuralinv.training.train.train_group), at most
`pack` models
each, since one ensemble step of many small models costs far less than as many separate steps.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from neuralinv.common.errors import InputError
from neuralinv.nets.mlp import ModelPreset, get_model
from neuralinv.paper.budgets import BUDGETS, get_budget
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Box, Region, sigma_min
from neuralinv.training.config import CUSTOM_SCHEDULE_EPOCHS

SWEEP_KEYS = {"seeds", "steps", "budget", "train_size", "test_size", "samples", "search_seed", "pack", "name"}
GRID_KEYS = {
    "n",
    "center",
    "relative_radius",
    "radius",
    "model",
    "depth",
    "width",
    "lr",
    "schedule",
    "batch_size",
    "steps",
}
# A sweep's steps cover CUSTOM_SCHEDULE_EPOCHS schedule epochs, as the paper's 2x2 runs do; "paper" keeps
# TrainConfig's warm restarts, "cosine" is one decay over the run, "constant" never decays.
SCHEDULES = {
    "paper": {},
    "cosine": {"t_0": CUSTOM_SCHEDULE_EPOCHS, "t_mult": 1},
    "constant": {"t_0": 10**9, "t_mult": 1},
}
DEFAULT_PACK = 24
MAX_N = 64
RANDOM_INT_RADIUS = 0.01  # the 16x16 preset's rule: the first seed whose box of this half-width is certified ...
RANDOM_INT_MARGIN = 2.0  # ... with sigma_min(A0) >= 2 n c


def budget_steps(budget: str, n: int) -> int:
    """train's budgets for a box of size n: the paper trains 2x2 for 156,250 steps and larger sizes for 200,000;
    "fast" (the recipe search's, docs/recipe) takes a tenth of that, "quick" 20,000."""
    chosen = get_budget(budget, parameter="sweep.budget")
    paper = get_dataset("2x2-first").paper_steps if n == 2 else BUDGETS["paper"].custom_steps
    return chosen.steps(paper, chosen.custom_steps)


def random_int_center(n: int) -> tuple[np.ndarray, int]:
    """The first integer matrix numpy.random.default_rng(seed).integers(-2, 3, (n, n)), seed = 1, 2, ..., whose box
    of half-width 0.01 is certified with sigma_min(A0) >= 2 n c: the 16x16 preset's centre for n = 16."""
    for seed in range(1, 10_000):
        a = np.random.default_rng(seed).integers(-2, 3, (n, n)).astype(np.float64)
        if sigma_min(a) >= RANDOM_INT_MARGIN * n * RANDOM_INT_RADIUS:
            return a, seed
    raise InputError(f"center random-int: no certified integer matrix for n = {n}")  # pragma: no cover


def model_for(name: str | None, depth: int | None, width) -> ModelPreset:
    """A preset name, or depth hidden layers of width "kn2" (k n^2) or an absolute width."""
    if name is not None:
        return get_model(name)
    return get_model(parametric_name(depth, width))


def parametric_name(depth: int, width) -> str:
    """The model preset name of depth hidden layers of a width: "fc-d2-w8n2" (8 n^2 units) or "fc-d2-h64"."""
    if isinstance(width, str):
        return f"fc-d{depth}-w{width.removesuffix('n2')}n2"
    return f"fc-d{depth}-h{width}"


@dataclass(frozen=True)
class Trial:
    """One point of the sweep: a box, a network, an optimisation recipe; trained once per seed."""

    n: int
    center: str  # "random-int", a preset name or a region file, as the spec wrote it
    radius: float  # absolute half-width c
    relative_radius: float | None  # c n / sigma_min(A0), when the spec gave it
    model: str
    depth: int
    width: int
    lr: float
    steps: int
    batch_size: int
    schedule: str
    train_size: int
    test_size: int
    center_matrix: tuple[tuple[float, ...], ...]

    @property
    def trial_id(self) -> str:
        """A stable name from everything that determines the trial's results (not the seed)."""
        data = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(data).hexdigest()[:12]

    @property
    def box(self) -> Box:
        """The trial's box: its centre matrix and half-width."""
        return Box(np.array(self.center_matrix), self.radius)

    @property
    def pack_key(self) -> tuple:
        """Trials with the same key can share one ensemble (train_group's SHARED_FIELDS, and the matrix size)."""
        return (self.n, self.model, self.lr, self.steps, self.batch_size, self.schedule, self.train_size)

    def to_json(self) -> dict:
        """The trial as JSON data, with its trial_id (from_json reads it back)."""
        return {**asdict(self), "center_matrix": [list(r) for r in self.center_matrix], "trial_id": self.trial_id}

    @classmethod
    def from_json(cls, data: dict) -> "Trial":
        """The trial to_json wrote."""
        data = {k: v for k, v in data.items() if k != "trial_id"}
        data["center_matrix"] = tuple(tuple(r) for r in data["center_matrix"])
        return cls(**data)


@dataclass(frozen=True)
class Unit:
    """A trial at one seed: one row of results.csv."""

    trial: Trial
    seed: int

    @property
    def key(self) -> str:
        """The unit's name in DIR/units: trial id and seed."""
        return f"{self.trial.trial_id}-s{self.seed}"


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: its seeds, its trials, the largest pack and its name."""

    seeds: tuple[int, ...]
    trials: tuple[Trial, ...]
    pack: int
    name: str
    source: dict  # the spec as read

    def units(self) -> list[Unit]:
        """Every trial at every seed."""
        return [Unit(t, s) for t in self.trials for s in self.seeds]


# ---------------------------------------------------------------------------------------------------------------------
# Reading and checking


def _fail(message: str):
    raise InputError(message)


def _axis(grid: dict, key: str, default=None) -> list:
    if key not in grid:
        return default
    value = grid[key]
    if not isinstance(value, list):
        value = [value]
    if not value:
        _fail(f"grid.{key}: an empty axis; give at least one value")
    return value


def _positive_int(where: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        _fail(f"{where}: expected a positive integer, got {v!r}")
    return v


def _positive_float(where: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        _fail(f"{where}: expected a positive number, got {v!r}")
    return float(v)


def _width(where: str, v):
    if isinstance(v, str):
        k = v.removesuffix("n2")
        if v.endswith("n2") and k.isdigit() and int(k) > 0:
            return v
        _fail(f'{where}: expected a positive integer or a multiple of n^2 such as "8n2", got {v!r}')
    return _positive_int(where, v)


def _random_values(where: str, rule, count: int, rng: np.random.Generator) -> list:
    """count draws from a range {min, max, log} or a list to choose from."""
    if isinstance(rule, list):
        if not rule:
            _fail(f"{where}: an empty list")
        return [rule[i] for i in rng.integers(0, len(rule), count)]
    if not isinstance(rule, dict) or set(rule) - {"min", "max", "log", "integer"} or not {"min", "max"} <= set(rule):
        _fail(f"{where}: expected a list or {{min = A, max = B, log = true|false}}, got {rule!r}")
    lo, hi = _positive_float(f"{where}.min", rule["min"]), _positive_float(f"{where}.max", rule["max"])
    if lo > hi:
        _fail(f"{where}: min {lo:g} is above max {hi:g}")
    u = rng.random(count)
    values = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))) if rule.get("log") else lo + u * (hi - lo)
    return [int(round(v)) for v in values] if rule.get("integer") else [float(v) for v in values]


def _centers(n: int, names: list, base: Path) -> list[tuple[str, np.ndarray]]:
    out = []
    for name in names:
        if not isinstance(name, str):
            _fail(f'grid.center: expected "random-int", a preset name or a region file, got {name!r}')
        if name == "random-int":
            out.append((name, random_int_center(n)[0]))
            continue
        path = Path(name) if Path(name).is_absolute() else base / name
        region: Region = load_region(str(path) if path.is_file() else name)
        if region.n != n:
            continue  # a centre of another size belongs to another n of the grid
        out.append((name, np.asarray(region.center, dtype=np.float64)))
    return out


def memory_needed(trial: Trial, models: int) -> int:
    """Bytes one pack of `models` models of this trial's shape needs while training, roughly: weights, gradients and
    two Adam moments in float32, a chunk of activations, and each model's fixed training set (inputs and targets)."""
    sizes = get_model(trial.model).layer_sizes(trial.n)
    params = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))
    activations = 4 * trial.batch_size * sum(sizes) * 64  # a chunk of up to 64 steps is drawn at once
    data = 2 * trial.train_size * trial.n**2 * 4
    return models * (4 * 4 * params + activations + data)


def machine_memory() -> int:
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep file; every problem is a one-line InputError before any work starts."""
    path = Path(path)
    if not path.is_file():
        _fail(f"sweep spec: no such file {str(path)!r}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        _fail(f"sweep spec {path.name}: not valid TOML ({exc})")
    return parse_spec(data, base=path.parent, name=path.stem)


@dataclass(frozen=True)
class _Axes:
    """The grid's axes, checked: everything a trial is one combination of (besides the centre, chosen per n)."""

    ns: list[int]
    radius_key: str  # "relative_radius" or "radius"
    radii: list[float]
    models: list[tuple[str | None, int | None, object]]  # (preset name, depth, width): one of name or depth/width
    lrs: list[float]
    schedules: list[str]
    batches: list[int]
    steps: list[int | None]


@dataclass
class _Plan:
    """The sweep-wide settings a grid point is expanded with: random draws per point and the fixed data sizes."""

    sweep: dict
    random: dict
    samples: int
    rng: np.random.Generator
    train_size: int
    test_size: int
    radius_key: str


def _sections(data: dict) -> tuple[dict, dict, dict]:
    """The [sweep], [grid] and [random] sections, after checking that no section or key is unknown."""
    unknown = set(data) - {"sweep", "grid", "random"}
    if unknown:
        _fail(f"sweep spec: unknown section(s) {', '.join(sorted(unknown))}; expected [sweep], [grid], [random]")
    sweep, grid, random = data.get("sweep", {}), data.get("grid", {}), data.get("random", {})
    for section, keys, known in (
        ("sweep", sweep, SWEEP_KEYS),
        ("grid", grid, GRID_KEYS),
        ("random", random, GRID_KEYS - {"n", "center"}),
    ):
        bad = set(keys) - known
        if bad:
            _fail(f"{section}: unknown key(s) {', '.join(sorted(bad))}; expected {', '.join(sorted(known))}")
    return sweep, grid, random


def _seeds(sweep: dict) -> tuple[int, ...]:
    seeds = sweep.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds:
        _fail("sweep.seeds: give a non-empty list of seeds")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            _fail(f"sweep.seeds: expected integers >= 0, got {s!r}")
    seeds = tuple(seeds)
    if len(set(seeds)) != len(seeds):
        _fail(f"sweep.seeds: each seed once, got {list(seeds)}")
    return seeds


def _model_axis(grid: dict) -> list[tuple[str | None, int | None, object]]:
    """grid.model as (name, None, None), or every depth x width as (None, depth, width)."""
    models = _axis(grid, "model", None)
    if models is not None:
        for m in models:
            if not isinstance(m, str):
                _fail(f"grid.model: expected a model name, got {m!r}")
            get_model(m)
        return [(m, None, None) for m in models]
    depths = [_positive_int("grid.depth", v) for v in _axis(grid, "depth", [1])]
    widths = [_width("grid.width", v) for v in _axis(grid, "width", ["8n2"])]
    return [(None, d, w) for d in depths for w in widths]


def _grid_axes(grid: dict, random: dict) -> _Axes:
    ns = [_positive_int("grid.n", v) for v in _axis(grid, "n") or _fail("grid.n: give the matrix sizes")]
    if max(ns) > MAX_N:
        _fail(f"grid.n: {max(ns)} is above {MAX_N}; hidden layers of 8 n^2 units would not fit")
    if "model" in grid and ({"depth", "width"} & (set(grid) | set(random))):
        _fail("grid: give either model, or depth and width, not both")
    if ("relative_radius" in grid) == ("radius" in grid):
        _fail("grid: give exactly one of relative_radius and radius")
    radius_key = "relative_radius" if "relative_radius" in grid else "radius"
    radii = [_positive_float(f"grid.{radius_key}", v) for v in _axis(grid, radius_key)]
    models = _model_axis(grid)
    lrs = [_positive_float("grid.lr", v) for v in _axis(grid, "lr", [5e-5])]
    schedules = _axis(grid, "schedule", ["paper"])
    for s in schedules:
        if s not in SCHEDULES:
            _fail(f"grid.schedule: expected one of {', '.join(SCHEDULES)}, got {s!r}")
    batches = [_positive_int("grid.batch_size", v) for v in _axis(grid, "batch_size", [128])]
    steps = [_positive_int("grid.steps", v) for v in _axis(grid, "steps", [None])] if "steps" in grid else [None]
    return _Axes(ns, radius_key, radii, models, lrs, schedules, batches, steps)


def _half_width(n: int, cname: str, a0: np.ndarray, r: float, radius_key: str) -> float:
    """The box's half-width c for a grid radius, after checking that the box holds no singular matrix."""
    s_min = sigma_min(a0)
    c = r * s_min / n if radius_key == "relative_radius" else r
    box = Box(a0, c)
    if box.center_singular:
        _fail(
            f"grid: center {cname} (n={n}) is singular to working precision (sigma_min(A0) = {s_min:.3g}): "
            "every box around it holds singular matrices"
        )
    if not box.avoids():  # the regions' own test: a certificate above 0, from a centre that is not singular
        _fail(
            f"grid: the box n={n}, center {cname}, {radius_key} {r:g} (c = {c:.3g}) may hold singular "
            f"matrices: sigma_min(A0) - n c = {box.certified_distance:.3g} <= 0; keep relative_radius "
            "below 1"
        )
    return c


def _trial(n: int, cname: str, a0: np.ndarray, c: float, r: float, mname: str | None, point: dict, plan: _Plan):
    """The Trial of one grid point after its random draws (point: lr, schedule, batch_size, steps, depth, width)."""
    if point["steps"] is None:
        point["steps"] = budget_steps(plan.sweep["budget"], n)
    point["steps"] = _positive_int("steps", point["steps"])
    preset = model_for(mname, point["depth"], point["width"])
    sizes = preset.layer_sizes(n)
    return Trial(
        n=n,
        center=cname,
        radius=c,
        relative_radius=r if plan.radius_key == "relative_radius" else None,
        model=preset.name,
        depth=len(sizes) - 2,
        width=sizes[1],
        lr=float(point["lr"]),
        steps=point["steps"],
        batch_size=_positive_int("batch_size", point["batch_size"]),
        schedule=str(point["schedule"]),
        train_size=plan.train_size,
        test_size=plan.test_size,
        center_matrix=tuple(tuple(float(x) for x in row) for row in a0),
    )


def _expand(n: int, centers: list, axes: _Axes, plan: _Plan) -> list[Trial]:
    """Every trial at matrix size n: each combination of the grid's axes, plan.samples random draws each."""
    out = []
    for (cname, a0), r, (mname, depth, width), lr, schedule, batch, steps in itertools.product(
        centers, axes.radii, axes.models, axes.lrs, axes.schedules, axes.batches, axes.steps
    ):
        c = _half_width(n, cname, a0, r, axes.radius_key)
        base_steps = steps or plan.sweep.get("steps") or None
        for _ in range(plan.samples):
            point = {"lr": lr, "schedule": schedule, "batch_size": batch, "steps": base_steps, "depth": depth}
            point["width"] = width
            for key, rule in plan.random.items():
                point[key] = _random_values(f"random.{key}", rule, 1, plan.rng)[0]
            out.append(_trial(n, cname, a0, c, r, mname, point, plan))
    return out


def _check_memory(trials: list[Trial], models: int) -> None:
    """A one-line error when a pack of `models` models of some trial would not fit in this machine's memory."""
    total = machine_memory()
    for t in trials:
        need = memory_needed(t, models)
        if need > 0.8 * total:
            _fail(
                f"grid: n={t.n} {t.model} needs about {need / 2**30:.1f} GiB for {models} models, "
                f"more than this machine's {total / 2**30:.1f} GiB; lower train_size, the width or sweep.pack"
            )


def parse_spec(data: dict, *, base: Path = Path("."), name: str = "sweep") -> SweepSpec:
    """Check a sweep spec (a TOML file's contents; centre files relative to base) and expand it into its trials;
    every problem is a one-line InputError, raised before any work starts."""
    sweep, grid, random = _sections(data)
    seeds = _seeds(sweep)
    if ("steps" in sweep) + ("budget" in sweep) + ("steps" in grid) + ("steps" in random) != 1:
        _fail("sweep: give exactly one of sweep.steps, sweep.budget, grid.steps or random.steps")
    train_size = _positive_int("sweep.train_size", sweep.get("train_size", 100_000))
    test_size = _positive_int("sweep.test_size", sweep.get("test_size", 10_000))
    samples = _positive_int("sweep.samples", sweep.get("samples", 1))
    if random and "samples" not in sweep:
        _fail("sweep.samples: a [random] section needs sweep.samples, the number of draws")
    pack = _positive_int("sweep.pack", sweep.get("pack", DEFAULT_PACK))
    rng = np.random.default_rng(sweep.get("search_seed", 0))
    axes = _grid_axes(grid, random)
    plan = _Plan(sweep, random, samples, rng, train_size, test_size, axes.radius_key)
    trials: list[Trial] = []
    for n in axes.ns:
        centers = _centers(n, _axis(grid, "center", ["random-int"]), base)
        if not centers:
            _fail(f"grid.center: no centre of size {n}x{n} among {grid.get('center')}")
        trials += _expand(n, centers, axes, plan)
    trials = list(dict.fromkeys(trials))  # a random draw may repeat a grid point
    _check_memory(trials, min(pack, len(seeds)))
    return SweepSpec(seeds=seeds, trials=tuple(trials), pack=pack, name=str(sweep.get("name", name)), source=data)


def packs(units: list[Unit], size: int) -> list[list[Unit]]:
    """Units grouped into ensembles: same pack key, at most size models each, trials kept whole where they fit."""
    groups: dict[tuple, list[Unit]] = {}
    for u in units:
        groups.setdefault(u.trial.pack_key, []).append(u)
    out = []
    for members in groups.values():
        for i in range(0, len(members), size):
            out.append(members[i : i + size])
    # Largest first: the longest pack starts at once instead of last, which shortens the sweep on few workers.
    return sorted(out, key=lambda p: -len(p) * pack_cost(p[0].trial))


def pack_cost(trial: Trial) -> float:
    """A model's training work, in multiply-adds: steps x batch x weights."""
    sizes = get_model(trial.model).layer_sizes(trial.n)
    return trial.steps * trial.batch_size * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
