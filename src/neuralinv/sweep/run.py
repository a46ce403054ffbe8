"""`neuralinv sweep run`: a sweep's packs as Ray Tune trials, on a local Ray or a cluster, resumable.

Every finished trial-seed unit is written at once, atomically, to DIR/units/<trial>-s<seed>.json (by the driver, from
what the worker reported), and DIR/results.csv is rewritten from them. A rerun of the same command reads DIR/units
first and schedules only what is missing or failed: finished units are never trained again. A pack that raises, runs
out of memory or loses its worker is recorded as failed, with the error, for each of its units; the rest go on.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

from neuralinv.common.files import write_json, write_text
from neuralinv.sweep.cluster import ray_init, reachable, trial_device
from neuralinv.sweep.columns import COLUMNS
from neuralinv.sweep.spec import Trial, Unit, load_spec, packs

# ---------------------------------------------------------------------------------------------------------------------
# Results on disk


class ResultStore:
    """DIR/units/*.json, one per finished unit, and DIR/results.csv made from them."""

    def __init__(self, out: Path):
        self.out = out
        self.units_dir = out / "units"
        self.units_dir.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, dict] = {}  # read once; record() keeps it and the files in step
        for path in sorted(self.units_dir.glob("*.json")):
            try:
                self.rows[path.stem] = json.loads(path.read_text())
            except json.JSONDecodeError:  # pragma: no cover - files are written atomically
                continue

    def done(self) -> set[str]:
        """The keys of the units that finished with status ok."""
        return {key for key, row in self.rows.items() if row.get("status") == "ok"}

    def record(self, rows: list[dict]) -> None:
        """Write each row as its unit's file, then results.csv."""
        for row in rows:
            write_json(self.units_dir / f"{row['key']}.json", row)
            self.rows[row["key"]] = row
        self.write_csv()

    def write_csv(self) -> Path:
        """Rewrite results.csv from every unit recorded so far; returns its path."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in sorted(
            self.rows.values(), key=lambda r: (r["n"], r["model"], r["radius"], r["trial_id"], r["seed"])
        ):
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
        return write_text(self.out / "results.csv", buf.getvalue())


# ---------------------------------------------------------------------------------------------------------------------
# Progress


class Progress:
    """One live line: units done, running and failed, and an ETA from the rate so far."""

    def __init__(self, total: int, already: int, enabled: bool):
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            initial=already,
            unit="unit",
            desc="sweep",
            disable=not enabled,
            dynamic_ncols=True,
            smoothing=0.1,
        )
        self.running = 0
        self.failed = 0

    def update(self, done: int = 0, running: int = 0, failed: int = 0) -> None:
        """Count units newly done, started (running > 0) or stopped (running < 0), and failed."""
        self.running += running
        self.failed += failed
        self.bar.set_postfix_str(f"running {self.running} units, failed {self.failed}", refresh=False)
        if done + failed:
            self.bar.update(done + failed)
        else:
            self.bar.refresh()

    def close(self) -> None:
        """End the line."""
        self.bar.close()


# ---------------------------------------------------------------------------------------------------------------------
# Ray


def _trainable(config: dict) -> None:
    """A Tune trial: one pack, trained, evaluated and timed on this worker; its rows reported as JSON."""
    from ray import tune

    from neuralinv.sweep.pack import run_pack

    rows = run_pack(_units(config["units"]), device=config["device"], threads=config["threads"])
    tune.report({"rows": json.dumps(rows)})


def _payload(units: list[Unit]) -> list[dict]:
    return [{"trial": u.trial.to_json(), "seed": u.seed} for u in units]


def _units(payload: list[dict]) -> list[Unit]:
    """The inverse of _payload."""
    return [Unit(Trial.from_json(u["trial"]), u["seed"]) for u in payload]


def run(
    spec_path: str | Path,
    out: str | Path,
    *,
    address: str | None = None,
    cpus_per_trial: int = 1,
    gpus_per_trial: float = 0,
    num_cpus: int | None = None,
    progress: bool = True,
) -> dict:
    """Run (or resume) the sweep of spec_path into out; returns counts {"units", "skipped", "ok", "failed"}."""
    spec = load_spec(spec_path)
    device = trial_device(cpus_per_trial, gpus_per_trial)
    if address:
        reachable(address)  # before anything is written
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # The spec may change between runs: finished units whose trial id is in the new spec are still reused.
    if Path(spec_path).resolve() != out / "spec.toml":
        shutil.copyfile(spec_path, out / "spec.toml")
    store = ResultStore(out)
    done = store.done()
    units = [u for u in spec.units() if u.key not in done]
    skipped = len(spec.units()) - len(units)
    write_json(
        out / "sweep.json",
        {
            "spec": spec.source,
            "units": len(spec.units()),
            "trials": len(spec.trials),
            "seeds": list(spec.seeds),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )
    counts = {"units": len(spec.units()), "skipped": skipped, "ok": 0, "failed": 0}
    if not units:
        store.write_csv()
        return counts
    work = packs(units, spec.pack)
    bar = Progress(len(spec.units()), skipped, progress)
    try:
        _run_tune(
            work,
            store,
            bar,
            counts,
            out,
            address=address,
            cpus=cpus_per_trial,
            gpus=gpus_per_trial,
            num_cpus=num_cpus,
            device=device,
        )
    finally:
        bar.close()
    store.write_csv()
    return counts


def _recorder(store: ResultStore, bar: Progress, counts: dict):
    """A Tune callback on the driver: each pack's rows are written the moment its trial reports them, and a trial
    that fails without reporting is recorded as failed for each of its units."""
    from ray import tune

    from neuralinv.sweep.pack import failed_rows

    class Recorder(tune.Callback):
        """Records each pack's rows on the driver as its trial reports or fails."""

        def on_trial_start(self, iteration, trials, trial, **info):
            bar.update(running=len(trial.config["units"]))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            rows = json.loads(result["rows"])
            store.record(rows)
            ok = sum(r["status"] == "ok" for r in rows)
            counts["ok"] += ok
            counts["failed"] += len(rows) - ok
            trial.custom_recorded = True
            bar.update(done=ok, failed=len(rows) - ok, running=-len(rows))

        def on_trial_error(self, iteration, trials, trial, **info):
            if getattr(trial, "custom_recorded", False):
                return
            units = _units(trial.config["units"])
            message = _error_text(trial)
            store.record(failed_rows(units, message))
            counts["failed"] += len(units)
            bar.update(failed=len(units), running=-len(units))

    return Recorder()


def _tuner(work: list[list[Unit]], out: Path, callback, *, cpus: int, gpus: float, device: str):
    """One Tune trial per pack, each with its resources, its results under out/ray, never retried."""
    from ray import tune

    resources = {"cpu": cpus, "gpu": gpus} if gpus else {"cpu": cpus}
    return tune.Tuner(
        tune.with_resources(_trainable, resources),
        param_space={"units": tune.grid_search([_payload(p) for p in work]), "device": device, "threads": cpus},
        tune_config=tune.TuneConfig(reuse_actors=False, trial_dirname_creator=lambda trial: f"pack-{trial.trial_id}"),
        run_config=tune.RunConfig(
            storage_path=str(out / "ray"),
            name="trials",
            verbose=0,
            callbacks=[callback],
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )


def _run_tune(
    work: list[list[Unit]],
    store: ResultStore,
    bar: Progress,
    counts: dict,
    out: Path,
    *,
    address,
    cpus: int,
    gpus: float,
    num_cpus: int | None,
    device: str,
) -> None:
    """Run the packs as Tune trials on the Ray at address (a local one, started and stopped here, when none runs)."""
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray_init(address, num_cpus, None)
    try:
        _tuner(work, out, _recorder(store, bar, counts), cpus=cpus, gpus=gpus, device=device).fit()
    finally:
        if started_here:
            ray.shutdown()


def _error_text(trial) -> str:
    """The last line of a failed trial's error: the exception, out of memory, or a dead worker."""
    path = getattr(trial, "error_file", None)
    text = ""
    if path and Path(path).is_file():
        text = Path(path).read_text()
    text = text or str(getattr(trial, "error_msg", "") or "the trial failed")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "the trial failed"
