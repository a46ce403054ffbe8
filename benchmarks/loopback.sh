#!/usr/bin/env bash
# Run a command inside a fresh network namespace where only loopback exists (and a PID namespace, so that nothing
# it starts outlives it): Ray started there binds to 127.0.0.1, so no Ray traffic leaves the machine.
#   benchmarks/loopback.sh .venv/bin/neuralinv sweep run SPEC.toml --out DIR
# Needs root, or unprivileged user namespaces (then -r maps us to root inside). Install packages before: the namespace
# has no network.
set -euo pipefail
IP=$(command -v ip || echo /usr/sbin/ip)
FLAGS=(-n -p -f --kill-child --mount-proc)
[ "$(id -u)" = 0 ] || FLAGS=(-r "${FLAGS[@]}")
export RAY_USAGE_STATS_ENABLED=0 RAY_AIR_NEW_OUTPUT=0 RAY_AUTH_MODE="${RAY_AUTH_MODE:-disabled}"
exec unshare "${FLAGS[@]}" sh -c "$IP link set lo up && exec \"\$0\" \"\$@\"" "$@"
