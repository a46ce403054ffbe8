"""Ray inside a loopback-only namespace (tests/ray_harness.py): the ground the sweep's Ray tests stand on.

Each Ray run is a child process in its own network + PID namespace (only `lo`), so Ray's servers can bind nothing
but 127.0.0.1 and nothing is left running afterwards. Without Ray (`pip install 'ray[tune]==2.60.0'`) or without
unshare/ip the tests are skipped, or fail under CI=true. Default run: about 15-25 s on 2 cores; the Tune check is
marked slow (`pytest -m slow tests/test_ray_harness.py`).
"""

import textwrap
import time
from pathlib import Path

import pytest

from ray_harness import (
    in_namespace,
    last_json,
    namespace_available,
    python_in_namespace,
    require_ray_namespace,
    unavailable,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def ray_ns():
    require_ray_namespace()


# Printed by the code run inside: every TCP socket listening in the namespace, as (address, port).
LISTENERS = textwrap.dedent("""
    import ipaddress, socket, struct
    def listeners():
        out = []
        for name, fam in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
            for line in open(name).read().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state != "0A":  # LISTEN
                    continue
                hexip, hexport = local.split(":")
                raw = bytes.fromhex(hexip)
                # /proc shows each 32-bit word in host (little-endian) order
                raw = b"".join(struct.pack("<I", struct.unpack(">I", raw[i:i + 4])[0]) for i in range(0, len(raw), 4))
                ip = ipaddress.ip_address(raw)
                ip = getattr(ip, "ipv4_mapped", None) or ip
                out.append((str(ip), int(hexport, 16)))
        return out
""")


def test_local_ray_is_on_loopback_only(ray_ns):
    code = LISTENERS + textwrap.dedent("""
        import json, time
        t0 = time.time()
        import ray
        from ray_harness import local_ray
        with local_ray(num_cpus=2) as ctx:
            t_up = time.time() - t0
            @ray.remote
            def where():
                return ray.util.get_node_ip_address()
            print(json.dumps({
                "interfaces": sorted(name for _, name in socket.if_nameindex()),  # not /sys: that is the host's
                "address_info": {k: ctx.address_info[k] for k in ("node_ip_address", "gcs_address", "address")},
                "node_ips": [n["NodeManagerAddress"] for n in ray.nodes()],
                "task_ips": ray.get([where.remote() for _ in range(2)]),
                "cpus": ray.cluster_resources().get("CPU"),
                "listeners": listeners(),
                "up_s": round(t_up, 2)}))
    """)
    t0 = time.monotonic()
    proc = python_in_namespace(code, timeout=120)
    m = last_json(proc)
    assert proc.returncode == 0, proc.stderr
    assert m["interfaces"] == ["lo"]
    assert m["address_info"]["node_ip_address"] == "127.0.0.1"
    assert m["address_info"]["gcs_address"].startswith("127.0.0.1:")
    assert m["node_ips"] == ["127.0.0.1"] and set(m["task_ips"]) == {"127.0.0.1"}
    assert m["cpus"] == 2
    assert m["listeners"], "Ray started no TCP server?"
    assert {ip for ip, _ in m["listeners"]} <= {"127.0.0.1", "::1"}, m["listeners"]
    print(f"local Ray in a namespace: {time.monotonic() - t0:.1f} s in all, init {m['up_s']} s")


def test_two_node_cluster_spreads_tasks(ray_ns):
    code = textwrap.dedent("""
        import json, time
        t0 = time.time()
        import ray
        from ray_harness import two_node_cluster
        with two_node_cluster(cpus_per_node=1) as cluster:
            t_up = time.time() - t0
            @ray.remote(num_cpus=1)
            def where(i):
                time.sleep(0.5)  # hold the CPU, so that 4 one-CPU tasks must use both nodes
                return ray.get_runtime_context().get_node_id()
            t1 = time.time()
            ids = ray.get([where.remote(i) for i in range(4)])
            print(json.dumps({
                "address": cluster.address,
                "nodes": [(n["NodeID"], n["NodeManagerAddress"], n["Resources"].get("CPU")) for n in ray.nodes()],
                "task_nodes": ids, "up_s": round(t_up, 2), "tasks_s": round(time.time() - t1, 2)}))
    """)
    t0 = time.monotonic()
    proc = python_in_namespace(code, timeout=120)
    m = last_json(proc)
    assert proc.returncode == 0, proc.stderr
    assert m["address"].startswith("127.0.0.1:")
    assert len(m["nodes"]) == 2 and {ip for _, ip, _ in m["nodes"]} == {"127.0.0.1"}
    assert all(cpu == 1 for *_, cpu in m["nodes"])
    assert len(m["task_nodes"]) == 4
    assert set(m["task_nodes"]) == {nid for nid, *_ in m["nodes"]}, "tasks did not land on both nodes"
    print(f"two-node cluster: {time.monotonic() - t0:.1f} s in all, up {m['up_s']} s, 4 tasks {m['tasks_s']} s")


def test_timeout_leaves_nothing_running():
    """A run killed on timeout takes everything it started with it (the PID namespace dies with its PID 1)."""
    if why := namespace_available():
        unavailable(why)
    marker = f"{time.time() % 1000:.6f}"  # a unique sleep length, to find the processes on the host afterwards
    with pytest.raises(Exception) as err:
        in_namespace(["sh", "-c", f"sleep 7{marker} & sleep 8{marker}"], timeout=1)
    assert type(err.value).__name__ == "TimeoutExpired"

    def leftovers():
        found = []
        for p in Path("/proc").iterdir():
            try:
                if marker in (p / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(p.name)
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 5
    while (left := leftovers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes outlived their namespace: {left}"


@pytest.mark.slow
def test_tune_on_two_nodes(ray_ns, tmp_path):
    """Ray Tune on the two-node cluster: trials on both nodes, an errored trial, and the driver-side callbacks."""
    code = textwrap.dedent("""
        import json, os, sys, time
        import ray
        from ray import tune
        from ray_harness import two_node_cluster

        def trainable(config):
            if config["x"] == 3:
                raise ValueError("boom on purpose")
            time.sleep(0.5)
            tune.report({"score": config["x"], "node": ray.get_runtime_context().get_node_id()})

        class Seen(tune.Callback):  # runs in the driver, in the Tune loop: where results get written as they come
            def __init__(self):
                self.events = []
            def on_trial_result(self, iteration, trials, trial, result, **info):
                self.events.append(["result", trial.trial_id, result["score"]])
            def on_trial_complete(self, iteration, trials, trial, **info):
                # trial.status is still RUNNING here; the last result is trial.last_result
                self.events.append(["complete", trial.trial_id, trial.last_result["score"]])
            def on_trial_error(self, iteration, trials, trial, **info):
                # the error file is local to the driver at this point (not yet in storage_path)
                self.events.append(["error", trial.trial_id, open(trial.error_file).read().strip().splitlines()[-1]])

        with two_node_cluster(cpus_per_node=1):
            seen = Seen()
            t0 = time.time()
            grid = tune.Tuner(
                tune.with_resources(trainable, {"cpu": 1}),
                param_space={"x": tune.grid_search([0, 1, 2, 3])},
                tune_config=tune.TuneConfig(metric="score", mode="max"),
                run_config=tune.RunConfig(storage_path=sys.argv[1], name="harness", verbose=0, callbacks=[seen],
                                          failure_config=tune.FailureConfig(max_failures=0)),
            ).fit()
            ok = [r for r in grid if r.error is None]
            print(json.dumps({
                "fit_s": round(time.time() - t0, 2),
                "num_errors": grid.num_errors, "num_terminated": grid.num_terminated,
                "errors": [[r.config["x"], type(r.error.cause).__name__, str(r.error.cause)] for r in grid if r.error],
                "nodes": sorted({r.metrics["node"] for r in ok}),
                "best": grid.get_best_result().config["x"],
                "paths_in_storage": all(r.path.startswith(sys.argv[1]) for r in grid),
                "events": seen.events}))
    """)
    storage = tmp_path / "tune"
    t0 = time.monotonic()
    proc = python_in_namespace(code, str(storage), timeout=240)
    m = last_json(proc)
    assert proc.returncode == 0, proc.stderr
    assert m["num_errors"] == 1 and m["num_terminated"] == 3
    assert m["errors"] == [[3, "ValueError", "boom on purpose"]]
    assert len(m["nodes"]) == 2, "trials did not land on both nodes"
    assert m["best"] == 2 and m["paths_in_storage"]
    kinds = [e[0] for e in m["events"]]
    assert kinds.count("result") == 3 and kinds.count("complete") == 3
    assert [e[2] for e in m["events"] if e[0] == "error"] == ["ValueError: boom on purpose"]
    assert (storage / "harness").is_dir()
    print(f"Tune on two nodes: {time.monotonic() - t0:.1f} s in all, fit {m['fit_s']} s")
