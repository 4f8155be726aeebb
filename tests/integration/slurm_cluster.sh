#!/usr/bin/env bash
# A single-node SLURM cluster on localhost, for the integration test of the SLURM profile.
#
#   tests/integration/slurm_cluster.sh start [DIR]   # prints: export SLURM_CONF=DIR/slurm.conf
#   tests/integration/slurm_cluster.sh stop  [DIR]
#   tests/integration/slurm_cluster.sh status [DIR]
#
# DIR (default: $SLURM_TEST_DIR, else /tmp/batch-inefficiency-slurm) holds the cluster's own
# slurm.conf, spool, state and log folders; nothing under /etc/slurm is touched. slurmd runs
# "configless" (it fetches slurm.conf from slurmctld and caches it where SLURM's commands
# look when SLURM_CONF is unset, /run/slurm/conf): Snakemake's SLURM executor clears every
# SLURM_* variable, SLURM_CONF included, before it calls srun inside a job. Both commands
# are idempotent: `start` on a running cluster only waits for it to be ready, `stop` on a
# stopped one does nothing. Needs root and the Debian packages slurmctld, slurmd,
# slurm-client and munge (`apt-get install slurmctld slurmd slurm-client munge`). munged is
# started if no munge daemon answers, and stopped again by `stop` only if `start` started it.
#
# The cluster: one node with the CPUs and memory that `slurmd -C` reads from this machine,
# one partition `debug` (the default), select/cons_tres (jobs get the CPUs and memory they
# ask for, several jobs share the node), proctrack/linuxproc and task/none (no cgroups in
# containers), no accounting database (so `sacct` has nothing: run Snakemake with
# `--slurm-status-command squeue --slurm-no-account`), no GPUs (a GPU request is refused).
# Ports: $SLURM_TEST_CTLD_PORT (16817) and $SLURM_TEST_SLURMD_PORT (16818).
set -euo pipefail

action=${1:-}
dir=${2:-${SLURM_TEST_DIR:-/tmp/batch-inefficiency-slurm}}
ctld_port=${SLURM_TEST_CTLD_PORT:-16817}
slurmd_port=${SLURM_TEST_SLURMD_PORT:-16818}
conf=$dir/slurm.conf
export SLURM_CONF=$conf

die() { echo "slurm_cluster.sh: $*" >&2; exit 1; }

alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  if munge_ok; then return; fi
  # The key: made by the Debian package's postinst, else here (1 KiB of random bytes).
  if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
  fi
  # munged refuses keys, sockets and logs that others could read or write.
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
  chmod 0700 /etc/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  chmod 0400 /etc/munge/munge.key
  runuser -u munge -- munged
  echo started >"$dir/munged.started"
  for _ in $(seq 50); do munge_ok && return; sleep 0.1; done
  die "munged does not answer (see /var/log/munge/munged.log)"
}

write_conf() {
  local node
  # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  node=$(slurmd -C | grep '^NodeName=')
  [[ -n $node ]] || die "slurmd -C printed no NodeName line"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  cat >"$conf" <<EOF
# Written by tests/integration/slurm_cluster.sh: a single-node test cluster.
ClusterName=batchineff
SlurmctldHost=localhost
SlurmctldParameters=enable_configless
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=3600
KillWait=5
Waittime=0
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_ready() {
  local state
  for _ in $(seq 150); do
    state=$(sinfo -h -o %T 2>/dev/null || true)
    if [[ $state == idle* || $state == mixed* || $state == allocated* ]]; then
      return
    fi
    sleep 0.2
  done
  die "the node did not come up (state '${state:-none}'); logs in $dir/log"
}

start() {
  [[ $(id -u) == 0 ]] || die "needs root (munged, slurmctld and slurmd run as root here)"
  for tool in slurmctld slurmd sbatch squeue sinfo munged munge unmunge; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install slurmctld slurmd slurm-client munge"
  done
  mkdir -p "$dir"
  start_munge
  if ! alive "$dir/slurmctld.pid" || ! alive "$dir/slurmd.pid"; then
    stop_daemons
    write_conf
    # -c: start clean (no jobs or node states left from an earlier run of this folder).
    slurmctld -c -f "$conf"
    slurmd --conf-server "localhost:$ctld_port"
  fi
  wait_ready
  echo "export SLURM_CONF=$conf"
}

stop_daemons() {
  local pidfile pids=()
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
    if alive "$pidfile"; then
      pids+=("$(cat "$pidfile")")
      kill "${pids[-1]}"
    fi
  done
  # Up to 10 s for a clean exit, then SIGKILL.
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  done
  rm -f "$dir/slurmd.pid" "$dir/slurmctld.pid"
}

stop() {
  [[ -d $dir ]] || return 0
  # Jobs still queued or running on this cluster (e.g. after an interrupted test) first.
  if alive "$dir/slurmctld.pid"; then
    scancel --quiet --user "$(id -un)" 2>/dev/null || true
  fi
  stop_daemons
  # slurmd's link to its cached config, if it is ours.
  if [[ $(readlink /run/slurm/conf 2>/dev/null) == "$dir"/* ]]; then
    rm -f /run/slurm/conf
  fi
  if [[ -f $dir/munged.started ]]; then
    munged --stop >/dev/null 2>&1 || true
    rm -f "$dir/munged.started"
  fi
}

case $action in
  start) start ;;
  stop) stop ;;
  status)
    if alive "$dir/slurmctld.pid" && alive "$dir/slurmd.pid"; then
      sinfo
    else
      echo "not running"
      exit 3
    fi
    ;;
  *) die "usage: $0 start|stop|status [DIR]" ;;
esac
