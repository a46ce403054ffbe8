"""Run Ray (or any command) inside a fresh, loopback-only network namespace; helpers for tests and demos.

Rule on this machine: servers we start talk over loopback only. Ray binds to the machine's interface address by
itself, so every Ray run happens inside a namespace that the run makes for itself:

    unshare -n -p -f --kill-child --mount-proc  sh -c '<ip> link set lo up && exec "$0" "$@"'  ARGV...

- `-n`: a new network namespace, where only `lo` exists (brought up by `ip`); Ray's address probe (8.8.8.8) fails
  there and Ray falls back to 127.0.0.1. Not root: `-rn` (a user namespace as well, where we are root enough).
- `-p -f --mount-proc`: a new PID namespace whose /proc shows only its own processes. `ray stop` kills every Ray
  process it can see *by name* (psutil over /proc), so without this it would kill other people's Ray runs on the
  host; here it only sees ours. When ARGV (PID 1 there) exits, the kernel kills whatever is left in the namespace,
  so a crashed or timed-out run cannot leak raylets or workers.
- `--kill-child`: if `unshare` itself is killed (subprocess timeout), PID 1 is killed too, and with it the rest.

Nothing here imports Ray: the driver code runs in a child process (see `python_in_namespace`) and imports Ray there.
`two_node_cluster` / `local_ray` are for code that already runs inside a namespace.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"
HINT = (
    "Ray tests need `pip install 'ray[tune]==2.60.0'` in the venv, and unshare (util-linux) and ip (iproute2) "
    "with the right to make namespaces (root, or unprivileged user namespaces)"
)

# Environment for every Ray process we start (they inherit it from the driver).
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",  # no usage-stats collection / upload attempts (there is no network anyway)
    # Ray 2.60 turns token auth on for a new local cluster and writes ~/.ray/auth_token. Inside a private namespace
    # nothing else can reach the cluster, so tests turn it off (no file in $HOME, no warning). To keep auth on
    # without touching $HOME instead: RAY_AUTH_MODE=token plus RAY_AUTH_TOKEN=<64 hex> (works; checked).
    "RAY_AUTH_MODE": "disabled",
    # Ray Tune's new console output prints a config table and per-trial error blocks even at verbose=0; the old
    # reporter is fully silent at verbose=0.
    "RAY_AIR_NEW_OUTPUT": "0",
}


# ray.init arguments that keep a driver quiet: workers' stdout/stderr is not echoed to ours (it stays in the session's
# log files), and Ray's own loggers drop INFO lines ("Started a local Ray instance", Tune's "Wrote the latest version
# of all result files ..."). Tune still logs each failed trial's traceback at ERROR (logger "ray.tune"; set it to
# CRITICAL to hide that too). Printed whatever is set, and harmless: a C++ warning from each new driver/node,
# "network_util.cc: Failed to determine local IP via external connectivity to: 8.8.8.8:53 ... falling back".
QUIET_INIT = {"log_to_driver": False, "logging_level": logging.WARNING}


# --- what is available -------------------------------------------------------------------------------------------


def ip_path() -> str | None:
    """The `ip` binary (iproute2); /usr/sbin is often not on a non-root PATH."""
    return shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.access(p, os.X_OK)), None)


def unshare_prefix(pid: bool = True) -> list[str]:
    """`unshare` and its flags: a network namespace (and by default a PID + mount namespace, see the module doc)."""
    cmd = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    return cmd + (["-p", "-f", "--kill-child", "--mount-proc"] if pid else [])


def namespace_argv(argv: list[str], pid: bool = True) -> list[str]:
    """argv wrapped so that it runs in a fresh namespace with only `lo`, up. Exit status is argv's own."""
    ip = ip_path() or "ip"
    return [*unshare_prefix(pid), "sh", "-c", f'{ip} link set lo up && exec "$0" "$@"', *map(str, argv)]


@functools.lru_cache(maxsize=None)
def namespace_available() -> str | None:
    """None when a loopback-only namespace can be made here; otherwise why not (for a skip message)."""
    missing = [
        n for n, ok in [("unshare (util-linux)", shutil.which("unshare")), ("ip (iproute2)", ip_path())] if not ok
    ]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        probe = subprocess.run(namespace_argv(["true"]), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot make a network namespace: {e}"
    if probe.returncode != 0:
        return f"cannot make a network namespace ({' '.join(unshare_prefix())}): {probe.stderr.strip()}"
    return None


@functools.lru_cache(maxsize=None)
def ray_available() -> str | None:
    """None when Ray with Tune is installed in this interpreter (checked without importing Ray: that is slow)."""
    try:
        version = importlib.metadata.version("ray")
    except importlib.metadata.PackageNotFoundError:
        return "Ray is not installed"
    missing = [m for m in ("ray", "pandas", "pyarrow") if importlib.util.find_spec(m) is None]
    if missing:
        return f"ray {version} is installed without Tune's extras (missing {', '.join(missing)})"
    return None


def unavailable(why: str):
    """In a test: skip because of `why`, or fail under CI=true (as tests/test_report_browser.py does)."""
    import pytest

    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"CI: {why}; {HINT}", pytrace=False)
    pytest.skip(f"{why}; {HINT}")


def require_ray_namespace() -> None:
    """In a test: go on only if Ray and namespaces are both usable; otherwise `unavailable`."""
    if why := ray_available() or namespace_available():
        unavailable(why)


# --- running things in a namespace -------------------------------------------------------------------------------


def in_namespace(
    argv: list[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    pid: bool = True,
) -> subprocess.CompletedProcess:
    """Run argv in a fresh loopback-only namespace; output captured as text. `env` is added to os.environ.

    On timeout subprocess kills `unshare`, --kill-child kills PID 1 and the kernel the rest; TimeoutExpired is raised.
    """
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        namespace_argv(argv, pid=pid), capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd
    )


@contextlib.contextmanager
def ray_tmpdir():
    """A short, private RAY_TMPDIR, removed afterwards.

    Ray puts Unix sockets under <RAY_TMPDIR>/ray/session_<date>_<pid>/sockets/, and a socket path must stay under
    107 bytes: pytest's tmp_path is too long for that, /tmp/ray-XXXXXXXX is fine. A private one also keeps the
    session logs and `ray_current_cluster` out of the shared /tmp/ray.
    """
    path = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def python_in_namespace(
    code: str, *args: str, timeout: float, env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None
) -> subprocess.CompletedProcess:
    """Run Python code (this interpreter; args become sys.argv[1:]) in a namespace with RAY_ENV, a private RAY_TMPDIR.

    tests/ is on its PYTHONPATH, so the code can `from ray_harness import two_node_cluster`.
    """
    with ray_tmpdir() as tmp:
        extra = {
            **RAY_ENV,
            "RAY_TMPDIR": tmp,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
            **(env or {}),
        }
        return in_namespace([sys.executable, "-c", code, *args], timeout=timeout, env=extra, cwd=cwd)


def last_json(proc: subprocess.CompletedProcess) -> dict:
    """The last stdout line that parses as a JSON object (Ray may print around it); AssertionError if none."""
    for line in reversed(proc.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                return json.loads(line)
    raise AssertionError(f"no JSON line (exit {proc.returncode})\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")


# --- for code already running inside a namespace -----------------------------------------------------------------


@contextlib.contextmanager
def local_ray(num_cpus: int = 2, **init_kwargs):
    """A local single-node Ray on 127.0.0.1 (what `ray.init()` does by default), shut down afterwards."""
    import ray

    ctx = ray.init(
        num_cpus=num_cpus, include_dashboard=False, _node_ip_address=LOOPBACK, **{**QUIET_INIT, **init_kwargs}
    )
    try:
        yield ctx
    finally:
        ray.shutdown()


@contextlib.contextmanager
def two_node_cluster(cpus_per_node: int = 1, **init_kwargs):
    """Two Ray nodes (separate raylets, one GCS) on 127.0.0.1, with this process connected as the driver.

    Yields the ray.cluster_utils.Cluster; `cluster.address` is what `ray.init(address=...)` takes, as for a real
    cluster. Nodes are pinned to 127.0.0.1 (otherwise Ray asks the hostname, which on another machine may not map
    to loopback) and get 150 MiB object stores (Cluster's default) rather than 30% of RAM.
    """
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": cpus_per_node, "node_ip_address": LOOPBACK, "include_dashboard": False},
    )
    try:
        cluster.add_node(num_cpus=cpus_per_node, node_ip_address=LOOPBACK)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, _node_ip_address=LOOPBACK, **{**QUIET_INIT, **init_kwargs})
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
