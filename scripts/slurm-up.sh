#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine, as root and without systemd (CI, a test
# box): Debian's slurm-wlm and munge, munged as the munge user, then slurmctld and slurmd, each
# daemonized with a PID file.  One node, named `hostname -s`, at 127.0.0.1, with the CPUs and
# memory `slurmd -C` reports.  scripts/slurm-down.sh stops it again.
#
#   scripts/slurm-up.sh            # installs the packages when sbatch is missing (apt-get)
#   SLURM_STATE_DIR=/var/spool/x scripts/slurm-up.sh
#
# Choices that matter for the Snakemake SLURM executor plugin (README, "Running on SLURM"):
# DefMemPerCPU is set, or every job would ask for the whole node and they would run one at a
# time; MinJobAge is long, because without an accounting database the plugin must be given
# `--slurm-status-command squeue`, which only sees a finished job while SLURM still keeps it
# (MinJobAge >= 3x --slurm-init-seconds-before-status-checks).  No cgroups (proctrack/linuxproc,
# task/none): containers rarely allow them.  The state lives in SLURM_STATE_DIR, made here.
set -euo pipefail

STATE=${SLURM_STATE_DIR:-/tmp/cubie-hash-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by cubie_hash scripts/slurm-up.sh"

die() {
    echo "slurm-up: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"

if ! command -v sbatch >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm-up: installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null
fi

if [ -e "$CONF" ] && ! grep -qxF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; refusing to replace it"
fi

# munge: Debian's package makes the key at install; make one if it is missing.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n </dev/null | unmunge >/dev/null || die "munged did not start"
fi

NODE=$(hostname -s)
# `slurmd -C` prints the node line SLURM itself detects: keep CPUs, sockets, cores, memory.
HW=$(slurmd -C | head -n 1 | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' | tr '\n' ' ')
CPUS=$(slurmd -C | head -n 1 | tr ' ' '\n' | sed -n 's/^CPUs=//p')
MEM=$(slurmd -C | head -n 1 | tr ' ' '\n' | sed -n 's/^RealMemory=//p')
[ -n "$CPUS" ] && [ -n "$MEM" ] || die "could not read CPUs and RealMemory from slurmd -C"
DEF_MEM=$((MEM / CPUS / 2))
[ "$DEF_MEM" -ge 100 ] || DEF_MEM=100

install -d -m 0755 /run/slurm /etc/slurm "$STATE" "$STATE/ctld" "$STATE/d" "$STATE/log"
cat >"$CONF" <<EOF
$MARK
ClusterName=cubiehash
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
ReturnToService=2
DefMemPerCPU=$DEF_MEM
MinJobAge=3600
SchedulerType=sched/backfill
NodeName=$NODE NodeAddr=127.0.0.1 $HW State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
cp "$CONF" "$STATE/slurm.conf"

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
pid_alive /run/slurm/slurmctld.pid || /usr/sbin/slurmctld
pid_alive /run/slurm/slurmd.pid || /usr/sbin/slurmd

# Ready when the node is idle (or already running jobs) in the default partition.
for _ in $(seq 150); do
    state=$(sinfo -h -n "$NODE" -o %t 2>/dev/null || true)
    case "$state" in
    idle | mix | alloc) # a trailing * (not responding) or ~ (powered off) is not ready
        echo "slurm-up: node $NODE ready ($state; $HW; DefMemPerCPU=$DEF_MEM; state in $STATE)"
        exit 0
        ;;
    esac
    sleep 0.2
done
echo "slurm-up: node $NODE not ready after 30 s (state '${state:-none}'); logs:" >&2
tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
exit 1
