"""Fair timing of every inverse path: Table 3, the roofline bound of each network, an accuracy-versus-time frontier.

Fair means: the answer is checked before it is timed, every path is warmed up, each measurement is repeated and the
median reported, CUDA is synchronised before the clock is read, and all paths run under torch.inference_mode on the
same inputs. Times are seconds per 10,000 matrices, as in the paper's Table 3. At batch 1 a path is called once per
matrix from a Python loop, as a user would call it (what the paper measured); where that loop would take long, a
measured prefix of it is scaled to 10,000 and the count measured is recorded.

Roofline: bound = max(FLOPs / GEMM rate, minimal bytes / bandwidth), with the GEMM rate (a large sgemm) and the
bandwidth (a large copy) measured in the same run, best of repeats (the machine's peak). Minimal bytes are the
inputs, the outputs and the weights, each moved once.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.common.timing import Timing, per_step_seconds, time_fn
from neuralinv.linalg.classical import exact_inverse
from neuralinv.nets.mlp import FastNetwork, Network, get_model, init_layers, mlp_forward
from neuralinv.nets.scaling import Scaling
from neuralinv.paper import numbers as paper
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.shapes import Box
from neuralinv.training.data import test_set

TABLE1_DATASETS = ("2x2-first", "2x2-second", "3x3", "16x16")
TABLE1_MODELS = ("2fc", "3fc")
BATCHES = (1, 100, 10_000)
PER = 10_000  # times are seconds per this many matrices

PAPER_MACHINE = paper.TABLE3_MACHINE


def paper_times(model: str, n: int) -> dict | None:
    """The paper's Table 3 row for a model on n x n matrices, with the exact CPU time of that size filled in."""
    row = paper.TABLE3.get((f"{n}x{n}", model))
    if row is None:
        return None
    exact = paper.exact_cpu_seconds(n)
    return {**row, "exact_cpu": exact} if exact is not None else dict(row)


ROOFLINE_TARGET = 3.0


@dataclass(frozen=True)
class Measurement:
    """Seconds per PER matrices at one batch size; calls and matrices actually timed in each repeat."""

    batch: int
    timing: Timing  # already scaled to PER matrices
    calls: int
    matrices: int

    @property
    def seconds(self) -> float:
        return self.timing.median

    def to_json(self) -> dict:
        return {
            "batch": self.batch,
            "seconds": self.seconds,
            **{k: v for k, v in self.timing.to_json().items() if k != "median"},
            "calls": self.calls,
            "matrices": self.matrices,
        }


def time_batches(
    fn: Callable,
    chunks: list,
    *,
    batch: int,
    device="cpu",
    repeats: int = 5,
    max_pass_s: float = 2.0,
    min_total_s: float = 0.1,
    warm: bool = False,
) -> Measurement:
    """Seconds per PER matrices for calling fn on each chunk in turn (a Python loop, as a user would).

    A pass over all chunks longer than about max_pass_s is cut to a prefix of calls and scaled up: the cost of one
    call does not depend on how many came before, so this measures the same thing in less time. Passes so short
    that repeats of them take less than min_total_s are repeated more (up to 100 times): the median of many short
    samples is not moved by the occasional one that another process interrupted.
    warm: fn has just run on inputs of this shape, so a single-call pass needs no warm-up run of its own.
    """
    probe = chunks[: min(len(chunks), 20)]

    def run(part):
        for c in part:
            fn(c)

    calls, warmup = len(chunks), 0 if warm else 1
    if calls > len(probe):  # estimate the pass from a warmed-up probe, which also warms up the path
        est = time_fn(lambda: run(probe), device=device, warmup=1, repeats=1).median / len(probe)
        warmup = 0
        if est * calls > max_pass_s:
            calls = max(len(probe), int(max_pass_s / max(est, 1e-9)))
    part = chunks[:calls]
    matrices = sum(c.shape[0] for c in part) if batch > 1 else calls
    timing = time_fn(lambda: run(part), device=device, warmup=warmup, repeats=repeats)
    more = min(100, math.ceil(min_total_s / max(timing.min, 1e-9))) - repeats
    if more > 0:
        timing = Timing(timing.times + time_fn(lambda: run(part), device=device, warmup=0, repeats=more).times)
    return Measurement(batch, timing.scaled(PER / matrices), calls, matrices)


def split(a, batch: int, total: int) -> list:
    """The first total matrices of a (N, n, n) as calls of batch matrices; batch 1 gives single (n, n) matrices."""
    a = a[:total]
    if batch == 1:
        return list(a)
    return [a[i : i + batch] for i in range(0, a.shape[0], batch)]


# ---------------------------------------------------------------------------------------------------------------------
# Machine rates and roofline


def measure_gemm_rate(device="cpu", *, size: int | None = None, repeats: int = 5) -> float:
    """FLOP/s of a square float32 matrix product of the given size (2 size^3 FLOPs), best of repeats.

    A roofline needs the machine's peak, so the machine rates take the best repeat (other processes only slow a
    run down); the paths measured against them report medians.
    """
    size = size or (2048 if torch.device(device).type == "cpu" else 8192)
    g = torch.Generator().manual_seed(0)
    a = torch.rand((size, size), generator=g).to(device)
    b = torch.rand((size, size), generator=g).to(device)
    out = torch.empty_like(a)
    timing = time_fn(lambda: torch.mm(a, b, out=out), device=device, warmup=1, repeats=repeats)
    return 2 * size**3 / timing.min


def measure_bandwidth(device="cpu", *, mbytes: int | None = None, repeats: int = 5) -> float:
    """Bytes/s of a large copy, counting the bytes read and the bytes written, best of repeats."""
    mbytes = mbytes or (256 if torch.device(device).type == "cpu" else 2048)
    count = mbytes * 2**20 // 4
    src = torch.ones(count, device=device)
    dst = torch.empty_like(src)
    timing = time_fn(lambda: dst.copy_(src), device=device, warmup=1, repeats=repeats)
    return 2 * count * 4 / timing.min


def measure_op_overhead(device="cpu", *, repeats: int = 5, calls: int = 1000) -> float:
    """Seconds per call of a framework op on a one-element tensor: the floor under every op in a path."""
    x = torch.zeros(1, device=device)
    out = torch.empty_like(x)

    def run():
        for _ in range(calls):
            torch.add(x, x, out=out)

    return time_fn(run, device=device, repeats=repeats).median / calls


def mlp_flops(layer_sizes: list[int], count: int) -> int:
    """Multiply-adds of the layers counted as 2 FLOPs each (bias and ReLU are lower order)."""
    return 2 * count * sum(i * o for i, o in zip(layer_sizes[:-1], layer_sizes[1:]))


def mlp_bytes(layer_sizes: list[int], count: int, *, in_bytes: int, out_bytes: int, weight_bytes: int = 4) -> int:
    """Minimal bytes moved: count inputs and outputs once, and every weight and bias once."""
    params = sum(i * o + o for i, o in zip(layer_sizes[:-1], layer_sizes[1:]))
    return count * (layer_sizes[0] * in_bytes + layer_sizes[-1] * out_bytes) + params * weight_bytes


def roofline_bound(flops: float, nbytes: float, *, gemm_rate: float, bandwidth: float) -> float:
    """Seconds no implementation can beat on this machine: the larger of compute time and memory time."""
    return max(flops / gemm_rate, nbytes / bandwidth)


# ---------------------------------------------------------------------------------------------------------------------
# Fast paths


def profile_network(fast: FastNetwork, a: torch.Tensor, *, repeats: int = 5) -> list[tuple[str, float]]:
    """Median seconds of each stage of fast's path on a (N, n, n), run on its own: where the time of a call goes."""
    x = a.reshape(-1, fast.d)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.double()
    result = []
    for name, step in fast.stages(x.shape[0], x.dtype):
        result.append((name, time_fn(lambda: step(x), device=fast.device, repeats=repeats).median))
        with torch.inference_mode():
            x = step(x)
    return result


class Classical:
    """The classical inverses on a box with everything that depends only on the centre computed once.

    taylor(order): sum_{k=0..order} (-C E)^k C with C = A0^-1, E = A - A0 (baselines.taylor_inverse without its
    per-call inversion of the centre); for n <= 4 Taylor-1 is one affine map of vec(A), vec(2C) - K vec(A) with
    K = C (x) C^T, a single small GEMM instead of two batched ones. newton_schulz: X (2I - A X).
    """

    def __init__(self, box: Box, device="cpu"):
        self.n = box.n
        self.center = torch.tensor(box.center, dtype=torch.float64, device=device)
        self.c_inv = torch.tensor(box.center_inverse, dtype=torch.float64, device=device)
        c = self.c_inv
        self.kron_t = torch.einsum("ik,lj->ijkl", c, c).reshape(self.n**2, self.n**2).t().contiguous()
        self.two_c = (2 * c).reshape(-1)
        self.two_eye = 2 * torch.eye(self.n, dtype=torch.float64, device=device)

    def taylor1(self, a: torch.Tensor) -> torch.Tensor:
        if self.n <= 4:
            d = self.n**2
            return torch.addmm(self.two_c, a.reshape(-1, d), self.kron_t, alpha=-1).view(a.shape)
        return self.taylor(a, 1)

    def taylor(self, a: torch.Tensor, order: int) -> torch.Tensor:
        step = self.c_inv @ (self.center - a)  # -C E
        term = step @ self.c_inv
        total = self.c_inv + term
        for _ in range(order - 1):
            term = step @ term
            total = total + term
        return total

    def taylor2(self, a: torch.Tensor) -> torch.Tensor:
        return self.taylor(a, 2)

    def newton_schulz(self, a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x @ (self.two_eye - a @ x)

    def taylor1_ns1(self, a: torch.Tensor) -> torch.Tensor:
        return self.newton_schulz(a, self.taylor1(a))


def classical_paths(box: Box, device="cpu") -> dict[str, tuple[str, Callable]]:
    """{name: (kind, fn)}: exact paths and classical approximations, fn taking a (..., n, n) float64 tensor."""
    cl = Classical(box, device)
    paths = {}
    if box.n <= 3:
        paths["exact closed form"] = ("exact", exact_inverse)
    if torch.device(device).type == "cpu":
        paths["numpy.linalg.inv"] = ("exact", lambda a: torch.from_numpy(np.linalg.inv(a.numpy())))
    paths["torch.linalg.inv"] = ("exact", torch.linalg.inv)
    paths["taylor1"] = ("classical", cl.taylor1)
    paths["taylor2"] = ("classical", cl.taylor2)
    paths["taylor1+ns1"] = ("classical", cl.taylor1_ns1)
    return paths


# ---------------------------------------------------------------------------------------------------------------------
# Table 3


@dataclass(frozen=True)
class Settings:
    """How hard to measure: repeats per measurement, longest timed pass, matrices per measurement (<= PER)."""

    repeats: int = 5
    max_pass_s: float = 2.0
    min_total_s: float = 0.1
    total: int = PER
    batches: tuple[int, ...] = BATCHES

    @classmethod
    def quick(cls) -> "Settings":
        return cls(repeats=3, max_pass_s=0.3, min_total_s=0.05)


def random_network(dataset: str, model: str, *, seed: int = 0) -> Network:
    """An untrained network of the preset's shape: timing does not depend on the weights' values."""
    box = get_dataset(dataset).region
    layers = init_layers(get_model(model).layer_sizes(box.n), seed)
    return Network(layers, box, Scaling.for_box(box), {"dataset": dataset, "model": model, "trained": False})


def measure_rates(device="cpu", *, quick: bool = False) -> dict:
    """The machine's GEMM rate, copy bandwidth and per-op overhead, measured now.

    The sgemm keeps its full size when quick: a smaller one runs below the machine's rate and would loosen the bound.
    """
    cpu = torch.device(device).type == "cpu"
    repeats = 3 if quick else 5
    return {
        "gemm_flops": measure_gemm_rate(device, repeats=repeats),
        "bandwidth": measure_bandwidth(device, mbytes=(64 if quick else 256) if cpu else None, repeats=repeats),
        "op_overhead_s": measure_op_overhead(device, repeats=repeats),
    }


def miss_reason(row: dict, rates: dict) -> str | None:
    """Why a network path is more than ROOFLINE_TARGET x its bound, from numbers measured in the same run."""
    if row["ratio"] <= ROOFLINE_TARGET:
        return None
    floor = row["ops"] * rates["op_overhead_s"] * PER / row["batch_rows"]
    parts = []
    stages = row.get("stages")
    if stages:
        gemm = sum(v for k, v in stages.items() if k.startswith("layer"))
        other = sum(stages.values()) - gemm
        parts.append(
            f"GEMMs {gemm * 1e3:.3g} ms ({row['flops'] / gemm / rates['gemm_flops']:.0%} of the sgemm rate "
            f"on thin shapes {'-'.join(map(str, row['layer_sizes']))})"
        )
        parts.append(f"elementwise passes {other * 1e3:.3g} ms (encode, ReLU, decode: each a pass over memory)")
    else:
        parts.append("an activation allocated per layer per call")
    parts.append(f"framework floor {row['ops']} ops x {rates['op_overhead_s'] * 1e6:.2g} us = {floor * 1e3:.3g} ms")
    return f"{row['ratio']:.1f}x a bound of {row['bound_s'] * 1e3:.3g} ms: " + "; ".join(parts)


def table3(
    device="cpu",
    *,
    datasets=TABLE1_DATASETS,
    models=TABLE1_MODELS,
    settings: Settings | None = None,
    networks: dict[tuple[str, str], Network] | None = None,
    rates: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Seconds per 10,000 matrices at each batch size for every network and classical path, with rooflines.

    networks: trained networks keyed by (dataset, model); missing ones are timed with random weights and get no
    MAE. Each network is timed three ways: "full" (models.FastNetwork, what Network.__call__ runs: float64
    matrices in, float64 inverses out), "plain" (Network.forward_reference, the straightforward path) and "mlp"
    (models.mlp_forward on the encoded float32 inputs: the raw forward pass). Every path's MAE against numpy's
    float64 inverse is computed on the same test matrices before it is timed.
    """
    settings = settings or Settings()
    device = torch.device(device)
    networks = networks or {}
    say = progress or (lambda _msg: None)
    if rates is None:
        say("measuring the machine's GEMM rate, bandwidth and per-op overhead")
        rates = measure_rates(device)
    load_start = os.getloadavg()
    rows = []
    for ds in datasets:
        box = get_dataset(ds).region
        a_cpu, _ = test_set(box, settings.total)
        reference = torch.from_numpy(np.linalg.inv(a_cpu.numpy()))
        a = a_cpu.to(device)
        chunks = {bs: split(a, bs, settings.total) for bs in settings.batches}

        def measure(fn, output=None, **extra):
            """Check the answer on all test matrices (this also warms up the largest batch), then time."""
            if output is None:
                with torch.inference_mode():
                    output = fn(a)
            mae = float((output.cpu() - reference).abs().mean())
            times = {}
            for bs in settings.batches:
                m = time_batches(
                    fn,
                    chunks[bs],
                    batch=bs,
                    device=device,
                    repeats=settings.repeats,
                    max_pass_s=settings.max_pass_s,
                    min_total_s=settings.min_total_s,
                    warm=bs == settings.total,
                )
                times[str(bs)] = m.to_json()
            return {"dataset": ds, "n": box.n, "mae": mae, "times": times, **extra}

        for name, (kind, fn) in classical_paths(box, device).items():
            say(f"{ds}: {name}")
            rows.append(measure(fn, method=name, kind=kind, variant=None))

        for model in models:
            trained = (ds, model) in networks
            net = (networks[(ds, model)] if trained else random_network(ds, model)).to(device)
            fast = FastNetwork(net)
            sizes = net.layer_sizes
            w_dtype = net.layers[0][0].dtype
            x_all = net.scaling.encode(a).to(w_dtype)
            paper_row = paper_times(model, box.n)
            flops = mlp_flops(sizes, PER)
            with torch.inference_mode():  # the fast path must give the plain path's answers before it is timed
                outputs = {"full": fast(a), "plain": net.forward_reference(a)}
            diff = float((outputs["full"] - outputs["plain"]).abs().max())
            for variant, fn in [("full", fast), ("plain", net.forward_reference)]:
                say(f"{ds}: {model} {variant}")
                steps = net.info.get("steps", net.info.get("trained_steps")) if trained else None
                row = measure(
                    fn,
                    outputs[variant],
                    method=model,
                    kind="network",
                    variant=variant,
                    trained=trained,
                    paper=paper_row,
                    steps=steps,
                )
                if not trained:
                    row["mae"] = None
                if variant == "full":
                    row["max_abs_diff_vs_plain"] = diff
                rows.append(row)
            # The raw forward: inputs already encoded; its MAE is the full path's (the same numbers).
            say(f"{ds}: {model} mlp")
            x_chunks = {bs: split(x_all, bs, settings.total) for bs in settings.batches}
            times = {
                str(bs): time_batches(
                    lambda x: mlp_forward(net.layers, x),
                    x_chunks[bs],
                    batch=bs,
                    device=device,
                    repeats=settings.repeats,
                    max_pass_s=settings.max_pass_s,
                    min_total_s=settings.min_total_s,
                ).to_json()
                for bs in settings.batches
            }
            rows.append(
                {
                    "dataset": ds,
                    "n": box.n,
                    "method": model,
                    "kind": "network",
                    "variant": "mlp",
                    "trained": trained,
                    "paper": paper_row,
                    "mae": None,
                    "times": times,
                }
            )
            big = max(settings.batches)
            for row in rows[-3:]:
                if row["variant"] == "plain":
                    continue
                in_out = (w_dtype if row["variant"] == "mlp" else a.dtype).itemsize
                nbytes = mlp_bytes(sizes, PER, in_bytes=in_out, out_bytes=in_out, weight_bytes=w_dtype.itemsize)
                bound = roofline_bound(flops, nbytes, gemm_rate=rates["gemm_flops"], bandwidth=rates["bandwidth"])
                seconds = row["times"][str(big)]["seconds"]
                ops = len(fast.stages(big, a.dtype)) if row["variant"] == "full" else 2 * (len(sizes) - 1) - 1
                row.update(
                    {
                        "layer_sizes": sizes,
                        "flops": flops,
                        "bytes": nbytes,
                        "bound_s": bound,
                        "compute_s": flops / rates["gemm_flops"],
                        "memory_s": nbytes / rates["bandwidth"],
                        "seconds": seconds,
                        "ratio": seconds / bound,
                        "ops": ops,
                        "batch_rows": big,
                    }
                )
                if row["variant"] == "full" and row["ratio"] > ROOFLINE_TARGET:
                    # Only a miss needs explaining: time each stage of the path on its own.
                    say(f"{ds}: {model} stages")
                    stages = profile_network(fast, a[:big], repeats=settings.repeats)
                    row["stages"] = {k: v * PER / big for k, v in stages}
                row["miss"] = miss_reason(row, rates)
    # Other processes on the machine slow every path; the load average says how busy it was.
    return {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "settings": asdict(settings),
        "rates": rates,
        "per": PER,
        "rows": rows,
        "load_average": {"start": load_start[0], "end": os.getloadavg()[0], "cores": os.cpu_count()},
        "paper": {
            "machine": PAPER_MACHINE,
            "rows": [{"size": size, "model": m, **v} for (size, m), v in paper.TABLE3.items()],
        },
    }


def networks_from_runs(paths) -> dict[tuple[str, str], Network]:
    """Trained networks keyed by (dataset, model) from run directories (found recursively under each path).

    The lowest seed of each run is used; a later run of the same (dataset, model) replaces an earlier one.
    """
    from pathlib import Path

    from neuralinv.nets import checkpoint
    from neuralinv.training.runs import RUN_FILE, read_run

    found = {}
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(f"runs: no such directory {str(path)!r}")
        for run_file in sorted(path.rglob(RUN_FILE)) if path.is_dir() else []:
            run = read_run(run_file.parent)
            config = run.get("config", {})
            key = (config.get("dataset"), config.get("model"))
            if key[0] not in TABLE1_DATASETS or not run.get("checkpoints"):
                continue
            seed = min(run["checkpoints"], key=int)
            found[key] = checkpoint.load(run_file.parent / run["checkpoints"][seed])
    return found


def short_training(datasets, models, *, steps: int | None = None, device="cpu") -> dict[tuple[str, str], Network]:
    """One seed of each (dataset, model) trained for steps (default and 16x16 cap: the preset's quick steps)."""
    from neuralinv.training.train import TrainConfig, train_ensemble

    out = {}
    for ds in datasets:
        quick = get_dataset(ds).quick_steps
        for model in models:
            n_steps = quick if steps is None else min(steps, quick) if get_dataset(ds).n > 3 else steps
            config = TrainConfig.resolve(ds, model, steps=n_steps, seeds=(0,), device=str(device))
            net = train_ensemble(config, progress=False).networks[0]
            net.info["trained_steps"] = n_steps
            out[(ds, model)] = net
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Frontier figure

MAE_FLOOR = 1e-17  # exact paths can match the float64 reference bit for bit; draw them here on a log axis


def frontier_figure(result: dict, path, *, batch: int | None = None) -> None:
    """MAE against seconds per 10,000 matrices (log-log), one panel per data set, every path of result.

    Networks without an MAE (untrained) are drawn as dotted vertical lines at their time.
    """
    import matplotlib.ticker

    from neuralinv.reporting.plotting import pyplot  # here, not at the top: matplotlib is slow to import

    plt = pyplot()

    from neuralinv.common.files import atomic_path

    batch = str(batch or max(result["settings"]["batches"]))
    datasets = list(dict.fromkeys(r["dataset"] for r in result["rows"]))
    cols = min(2, len(datasets))
    rows_ = math.ceil(len(datasets) / cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(6.2 * cols, 4.6 * rows_), squeeze=False)
    colors = {"exact": "black", "classical": "tab:blue", "network": "tab:red"}
    markers = {"exact": "s", "classical": "D", "network": "o"}
    for ax, ds in zip(axes.ravel(), datasets):
        for r in result["rows"]:
            # Networks on the path a user calls; "plain" and "mlp" give the same answers, only slower.
            if r["dataset"] != ds or r["variant"] in ("plain", "mlp") or batch not in r["times"]:
                continue
            t = r["times"][batch]["seconds"]
            label = r["method"] + (f" ({r['steps']:,} steps)" if r.get("steps") else "")
            if r["mae"] is None:
                ax.axvline(t, color=colors[r["kind"]], ls=":", lw=1)
                ax.annotate(
                    f"{label}: no MAE (untrained)",
                    (t, 0.02),
                    xycoords=("data", "axes fraction"),
                    rotation=90,
                    fontsize=7,
                    va="bottom",
                    ha="right",
                    color=colors[r["kind"]],
                )
                continue
            mae = max(r["mae"], MAE_FLOOR)
            ax.loglog(t, mae, markers[r["kind"]], color=colors[r["kind"]], ms=7)
            ax.annotate(label, (t, mae), textcoords="offset points", xytext=(5, 3), fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{ds} (batch {int(batch):,})")
        ax.set_xlabel("seconds per 10,000 matrices")
        ax.set_ylabel("MAE per entry")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.ravel()[len(datasets) :]:
        ax.axis("off")
    fig.suptitle(
        f"Accuracy against time on {result['device']} ({result['threads']} threads); "
        f"exact paths at or below 1e-16 are drawn at {MAE_FLOOR:g}",
        fontsize=9,
    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def time_training(
    *,
    models=(1, 3, 6, 24),
    dataset: str = "2x2-first",
    model: str = "2fc",
    steps=(500, 2500),
    repeats: int = 5,
    device="cpu",
) -> dict:
    """Per-model step time of the batched ensemble against a plain one-model PyTorch loop, in the same run.

    Each time is per_step_seconds. The plain loop (train.train_plain: nn.Sequential, torch.optim.Adam, the scheduler)
    is timed with the default thread count and with one thread, and the faster is the baseline.
    """
    from neuralinv.training.train import TrainConfig, train_ensemble, train_plain

    def per_step(run) -> float:
        return per_step_seconds(run, steps, repeats, device)

    def config(n_steps, seeds):
        return TrainConfig.resolve(dataset, model, steps=n_steps, seeds=seeds, train_size=20_000, device=device)

    threads = torch.get_num_threads()
    plain = {}
    for t in sorted({threads, 1}):
        torch.set_num_threads(t)
        try:
            plain[t] = per_step(lambda n: train_plain(config(n, (0,)), 0))
        finally:
            torch.set_num_threads(threads)
    baseline = min(plain.values())
    rows = []
    for count in models:
        step = per_step(lambda n: train_ensemble(config(n, tuple(range(count))), progress=False))
        rows.append(
            {"models": count, "step_s": step, "per_model_s": step / count, "speedup": baseline / (step / count)}
        )
    return {
        "dataset": dataset,
        "model": model,
        "batch": 128,
        "device": str(device),
        "plain_step_s": {str(k): v for k, v in plain.items()},
        "baseline_s": baseline,
        "rows": rows,
    }


# ---------------------------------------------------------------------------------------------------------------------
# A user's matrices (bench --region FILE --matrices MATS.npy).


def load_matrices(path, n: int) -> np.ndarray:
    """Matrices (m, n, n) from a .npy file, float32 or float64 as stored (other real types as float64); checked:
    finite, square, of the region's size n."""
    path_text = str(path)
    if not os.path.isfile(path_text):
        raise InputError(f"--matrices: no such file {path_text!r}")
    try:
        a = np.load(path_text, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"--matrices: {path_text!r} is not a readable .npy file ({err})") from None
    if a.dtype.kind not in "iuf":
        raise InputError(f"--matrices: expected real numbers, got dtype {a.dtype} in {path_text!r}")
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1] != a.shape[2] or len(a) == 0:
        raise InputError(
            f"--matrices: expected an array of square matrices (m, n, n), got shape {a.shape} in {path_text!r}"
        )
    if a.shape[1] != n:
        raise InputError(f"--matrices: {a.shape[1]}x{a.shape[1]} matrices, but the region is {n}x{n}")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise InputError(f"--matrices: entries must be finite; {path_text!r} holds NaN or Inf")
    return np.ascontiguousarray(a)
