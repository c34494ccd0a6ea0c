#!/usr/bin/env bash
# Starts a real single-node Slurm cluster on this machine for parade's Slurm tests.
#
# Installs Debian's slurm-wlm and munge if they are missing, writes a munge key and a
# slurm.conf naming this host as both controller and compute node, starts munged, slurmctld and
# slurmd, and waits until the node is idle. Needs root. Safe to run again: it restarts the
# daemons with the same configuration.
#
#   scripts/slurm-up.sh          # start (or restart) the cluster
#   scripts/slurm-up.sh --check  # exit 0 if a cluster answers, 1 otherwise
set -euo pipefail

if [[ "${1:-}" == "--check" ]]; then
    command -v sinfo >/dev/null && timeout 10 sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'
    exit $?
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "slurm-up: needs root (it installs packages and starts daemons)" >&2
    exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm-up: installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
conf_dir=/etc/slurm
state_dir=/var/spool/slurmctld
spool_dir=/var/spool/slurmd
log_dir=/var/log/slurm
mkdir -p "$conf_dir" "$state_dir" "$spool_dir" "$log_dir" /run/munge /var/lib/munge /var/log/munge /etc/munge

# munge: one key shared by controller and node (the same machine).
if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! pgrep -x munged >/dev/null; then
    if id munge >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged --force
    else
        /usr/sbin/munged --force
    fi
fi

cat > "$conf_dir/slurm.conf" <<CONF
# Written by parade's scripts/slurm-up.sh: a single-node cluster for tests.
ClusterName=parade-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state_dir
SlurmdSpoolDir=$spool_dir
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=30
MaxJobCount=100000
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
rm -f "$conf_dir/cgroup.conf"   # no cgroups: linuxproc tracks processes

pkill -x slurmctld 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
for _ in $(seq 50); do
    pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
    sleep 0.1
done
/usr/sbin/slurmctld -c
/usr/sbin/slurmd -c

for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
        scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
        echo "slurm-up: node $host is up ($cpus CPUs)"
        exit 0
    fi
    sleep 1
done
echo "slurm-up: the node did not come up; last lines of the logs:" >&2
tail -n 20 "$log_dir/slurmctld.log" "$log_dir/slurmd.log" >&2 || true
exit 1
