#!/usr/bin/env bash
# Stop the cluster scripts/slurm-up.sh started: slurmd, slurmctld, then munged, each by the
# PID in its PID file (never by name, so nothing else on the machine is touched).  Leaves the
# packages and SLURM_STATE_DIR in place; SLURM_DOWN_PURGE=1 removes the state dir as well.
set -euo pipefail

STATE=${SLURM_STATE_DIR:-/tmp/cubie-hash-slurm}

stop() { # name pidfile
    local pid
    [ -s "$2" ] || return 0
    pid=$(cat "$2")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "slurm-down: $1 ($pid) still running after 10 s; sending SIGKILL" >&2
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$2"
}

stop slurmd /run/slurm/slurmd.pid
stop slurmctld /run/slurm/slurmctld.pid
stop munged /run/munge/munged.pid
if [ "${SLURM_DOWN_PURGE:-0}" = 1 ]; then rm -rf "$STATE"; fi
echo "slurm-down: stopped"
