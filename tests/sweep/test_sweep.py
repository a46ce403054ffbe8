"""`neuralinv sweep` on real Ray clusters, each inside a loopback-only network namespace (tests/ray_harness.py).

- a tiny sweep on a local Ray with 2 CPUs, where one pack raises: recorded as failed, the rest finish; a rerun
  retries only the failed units and leaves every finished one untouched;
- a sweep killed mid-way, rerun: it finishes without training any finished unit again;
- a real two-node cluster (ray.cluster_utils.Cluster on 127.0.0.1) joined with --address: trials land on both nodes.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuralinv.sweep.run import COLUMNS
from neuralinv.sweep.spec import load_spec
from ray_harness import RAY_ENV, last_json, namespace_argv, python_in_namespace, ray_tmpdir, require_ray_namespace

pytestmark = pytest.mark.integration

TINY = Path(__file__).resolve().parents[2] / "examples" / "sweeps" / "tiny.toml"
REQUIRED = [
    "n",
    "center",
    "radius",
    "relative_radius",
    "model",
    "depth",
    "width",
    "lr",
    "steps",
    "seed",
    "status",
    "mae",
    "max_error",
    "taylor1_mae",
    "taylor2_mae",
    "taylor1+ns1_mae",
    "net_seconds_per_10k",
    "taylor1_seconds_per_10k",
    "exact_seconds_per_10k",
    "train_seconds",
    "node",
]


@pytest.fixture(scope="module", autouse=True)
def ray_here():
    require_ray_namespace()


def sweep_cli(*args) -> list[str]:
    return [sys.executable, "-m", "neuralinv", "sweep", "run", *map(str, args), "--quiet"]


def run_in_namespace(argv, *, env=None, timeout=240) -> subprocess.CompletedProcess:
    with ray_tmpdir() as tmp:
        full = {**os.environ, **RAY_ENV, "RAY_TMPDIR": tmp, **(env or {})}
        return subprocess.run(namespace_argv(argv), capture_output=True, text=True, timeout=timeout, env=full)


def read_csv(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def stamps(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "units").glob("*.json")}


def test_local_sweep_failure_and_resume(tmp_path):
    out = tmp_path / "sweep"
    spec = load_spec(TINY)
    doomed = next(t for t in spec.trials if t.n == 3 and t.model == "3fc")
    proc = run_in_namespace(
        sweep_cli(TINY, "--out", out, "--num-cpus", 2), env={"NEURALINV_SWEEP_FAULT": doomed.trial_id}
    )
    assert proc.returncode == 1, proc.stderr
    rows = read_csv(out / "results.csv")
    assert list(rows[0]) == COLUMNS and set(REQUIRED) <= set(COLUMNS)
    assert len(rows) == 16
    failed = [r for r in rows if r["status"] == "failed"]
    # The pack of the n = 3 3-FC trials (both radii, both seeds) raised; every other unit finished.
    assert len(failed) == 4 and {(r["n"], r["model"]) for r in failed} == {("3", "3fc")}
    assert all("fault injected" in r["error"] for r in failed)
    ok = [r for r in rows if r["status"] == "ok"]
    for r in ok:
        assert float(r["mae"]) > 0 and float(r["taylor1_mae"]) > float(r["taylor2_mae"]) > 0
        assert float(r["net_seconds_per_10k"]) > 0 and float(r["exact_seconds_per_10k"]) > 0 and r["node"]
        assert abs(float(r["radius"]) * int(r["n"]) - float(r["relative_radius"]) * _sigma(r, spec)) < 1e-9
    before = stamps(out)
    proc = run_in_namespace(sweep_cli(TINY, "--out", out, "--num-cpus", 2))
    assert proc.returncode == 0, proc.stderr
    assert "12 reused from an earlier run, 4 finished now, 0 failed" in proc.stdout
    after = stamps(out)
    for key in (f"{r['trial_id']}-s{r['seed']}.json" for r in ok):
        assert after[key] == before[key]  # finished units were not trained again
    assert all(r["status"] == "ok" for r in read_csv(out / "results.csv"))


def _sigma(row: dict, spec) -> float:
    import numpy as np

    from neuralinv.regions.shapes import sigma_min

    trial = next(t for t in spec.trials if t.trial_id == row["trial_id"])
    return sigma_min(np.array(trial.center_matrix))


def test_killed_sweep_resumes_without_rerunning(tmp_path):
    out = tmp_path / "sweep"
    spec = tmp_path / "slow.toml"
    spec.write_text(TINY.read_text().replace("steps = 300", "steps = 4000"))
    with ray_tmpdir() as tmp:
        env = {**os.environ, **RAY_ENV, "RAY_TMPDIR": tmp}
        proc = subprocess.Popen(
            namespace_argv(sweep_cli(spec, "--out", out, "--num-cpus", 1)),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 180
        while time.time() < deadline and not list((out / "units").glob("*.json")):
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)  # the whole namespace goes: driver, raylet, workers
        proc.wait(timeout=30)
    finished = stamps(out)
    assert 0 < len(finished) < 16, "the kill should land mid-way"
    proc = run_in_namespace(sweep_cli(spec, "--out", out, "--num-cpus", 2))
    assert proc.returncode == 0, proc.stderr
    assert f"{len(finished)} reused from an earlier run, {16 - len(finished)} finished now" in proc.stdout
    after = stamps(out)
    assert all(after[k] == v for k, v in finished.items()) and len(after) == 16


CLUSTER = """
import json, subprocess, sys
import ray
from ray_harness import two_node_cluster
with two_node_cluster(cpus_per_node=1) as cluster:
    address = cluster.address
    ray.shutdown()  # the sweep joins the cluster itself, as a user's command would
    proc = subprocess.run([sys.executable, "-m", "neuralinv", "sweep", "run", sys.argv[1], "--out", sys.argv[2],
                           "--address", address, "--quiet"], capture_output=True, text=True)
    rep = subprocess.run([sys.executable, "-m", "neuralinv", "reproduce", "--only", "table1", "--steps", "12",
                          "--out", sys.argv[3], "--address", address, "--quiet"], capture_output=True, text=True)
    print(json.dumps({"rc": proc.returncode, "address": address, "stderr": proc.stderr[-2000:],
                      "reproduce_rc": rep.returncode, "reproduce_stderr": rep.stderr[-2000:]}))
"""


def test_two_node_cluster(tmp_path):
    """A sweep and `reproduce --address` on a real two-node cluster: work lands on both nodes, results come back."""
    out, rep = tmp_path / "sweep", tmp_path / "reproduce"
    proc = python_in_namespace(CLUSTER, str(TINY), str(out), str(rep), timeout=400)
    result = last_json(proc)
    assert result["rc"] == 0, result["stderr"]
    assert result["address"].startswith("127.0.0.1:")
    rows = read_csv(out / "results.csv")
    assert len(rows) == 16 and all(r["status"] == "ok" for r in rows)
    assert len({r["node"] for r in rows}) == 2  # trials landed on both nodes
    # reproduce --address: the Table 1 groups trained on the cluster, their run directories back in DIR/runs.
    assert result["reproduce_rc"] == 0, result["reproduce_stderr"]
    runs = [json.loads(p.read_text()) for p in sorted((rep / "runs").glob("*/run.json"))]
    assert len(runs) == 8 and all(r["steps"] == 12 and r["trained_on"]["device"] == "cpu" for r in runs)
    assert len({r["trained_on"]["node"] for r in runs}) == 2  # the groups were spread over both nodes
    assert all(len(list(p.parent.glob("*.safetensors"))) == 3 for p in (rep / "runs").glob("*/run.json"))
    assert "## Table 1" in (rep / "report.md").read_text()
