#!/usr/bin/env bash
# Starts a real Slurm cluster on this machine for parade's Slurm tests, and tears it down.
#
#   scripts/slurm-up.sh              # one node: this host is controller and compute node
#   scripts/slurm-up.sh --nodes 3    # three compute nodes node1..node3, each in its own network
#                                    # namespace (own hostname, own address on a bridge)
#   scripts/slurm-up.sh --down       # stop and remove everything this script made
#   scripts/slurm-up.sh --check      # exit 0 if a cluster answers, 1 otherwise
#
# Installs Debian's slurm-wlm and munge if they are missing, writes a munge key and a
# slurm.conf, starts munged (if none runs), slurmctld and one slurmd per node, and waits until
# every node is idle. Needs root. Safe to run again: it first tears down what it made before.
#
# With --nodes N, node K is the network namespace `nodeK` (address 10.199.77.(10+K) on the
# bridge `prdbr0`, whose host side is 10.199.77.1): its slurmd runs under
#   nsenter --net=/run/netns/nodeK unshare --uts --mount sh -c 'hostname nodeK; ...; exec slurmd'
# (`ip netns exec` would hide /sys/fs/cgroup, and slurmd dies then), with a private hosts file
# bind-mounted on /etc/hosts in its mount namespace, so jobs resolve the nodes' names while the
# machine's /etc/hosts is left alone. The host's munged socket serves every namespace. Only the
# loopback range and the addresses of the namespaces made here are used.
#
# The script stops only the processes it started, found by the pid files under $STATE (never
# by name: other clusters' daemons on the machine are left alone).
set -euo pipefail

STATE=/run/parade-slurm
BRIDGE=prdbr0
NET=10.199.77
conf_dir=/etc/slurm
log_dir=/var/log/slurm
ctld_state=/var/spool/slurmctld
spool_root=/var/spool/slurmd

nodes=0   # 0: the single-node cluster on the host itself
mode=up
while [[ $# -gt 0 ]]; do
    case $1 in
        --check) mode=check ;;
        --down) mode=down ;;
        --nodes)
            nodes=${2:?--nodes needs a number}
            shift
            ;;
        --nodes=*) nodes=${1#--nodes=} ;;
        -h | --help)
            sed -n '2,25p' "$0"
            exit 0
            ;;
        *)
            echo "slurm-up: unknown argument '$1' (expected --nodes N, --down or --check)" >&2
            exit 2
            ;;
    esac
    shift
done
if ! [[ $nodes =~ ^[0-9]+$ ]] || ((nodes > 200)); then
    echo "slurm-up: --nodes takes a number from 1 to 200, not '$nodes'" >&2
    exit 2
fi

if [[ $mode == check ]]; then
    command -v sinfo >/dev/null && timeout 10 sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'
    exit $?
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "slurm-up: needs root (it installs packages, makes network namespaces and starts daemons)" >&2
    exit 1
fi

# Whether process $1 is alive (not a zombie) and is the program $2.
is_running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" && ${stat##*) } != Z* ]]
}

# Sends TERM to the process named in pid file $1 if it is still the program $2, waits for it,
# then KILL; removes the pid file.
stop_pidfile() {
    local file=$1 prog=$2 pid
    [[ -s $file ]] || { rm -f "$file"; return 0; }
    pid=$(tr -dc '0-9' <"$file")
    if [[ -n $pid ]] && is_running "$pid" "$prog"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            is_running "$pid" "$prog" || break
            sleep 0.1
        done
        if is_running "$pid" "$prog"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$file"
}

# Stops what an earlier run of this script started and removes the namespaces it made.
down() {
    local keep_munge=${1:-no} f
    for f in "$STATE"/slurmd-*.pid; do
        [[ -e $f ]] && stop_pidfile "$f" slurmd
    done
    stop_pidfile "$STATE/slurmctld.pid" slurmctld
    if [[ -f $STATE/netns ]]; then
        while read -r ns; do
            [[ -n $ns ]] || continue
            # A job's slurmstepd outlives slurmd; whatever still runs in the namespace would
            # keep it (and its veth) alive after `ip netns del`.
            for pid in $(ip netns pids "$ns" 2>/dev/null); do
                kill -9 "$pid" 2>/dev/null || true
            done
            ip netns del "$ns" 2>/dev/null || true
        done <"$STATE/netns"
        rm -f "$STATE/netns"
    fi
    if [[ -f $STATE/bridge ]]; then
        ip link del "$(cat "$STATE/bridge")" 2>/dev/null || true
        rm -f "$STATE/bridge"
    fi
    if [[ $keep_munge == no && -f $STATE/munged.pid ]]; then
        stop_pidfile "$STATE/munged.pid" munged
    fi
}

if [[ $mode == down ]]; then
    down no
    echo "slurm-up: cluster down"
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm-up: installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p "$STATE" "$conf_dir" "$ctld_state" "$spool_root" "$log_dir" \
    /run/munge /var/lib/munge /var/log/munge /etc/munge
down keep-munge

# munge: one key shared by the controller and every node (one machine, one munged).
if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if id munge >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged --force
    else
        /usr/sbin/munged --force
    fi
    for _ in $(seq 50); do
        [[ -s /run/munge/munged.pid ]] && break
        sleep 0.1
    done
    cp /run/munge/munged.pid "$STATE/munged.pid"
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512))

if ((nodes == 0)); then
    ctld_host=$host
    node_lines="NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN"
    node_list=$host
else
    # The network: a bridge on the host, one namespace per node with a veth on it.
    ip link add "$BRIDGE" type bridge
    echo "$BRIDGE" >"$STATE/bridge"
    ip addr add "$NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    : >"$STATE/netns"
    {
        echo "127.0.0.1 localhost"
        echo "$NET.1 $host"
    } >"$STATE/hosts"
    node_mem=$((mem_mb / nodes))
    node_lines=""
    for k in $(seq "$nodes"); do
        ns=node$k
        addr=$NET.$((10 + k))
        ip netns add "$ns"
        echo "$ns" >>"$STATE/netns"
        # A veth of ours left by a namespace that outlived an earlier run goes first.
        ip link del "prdv$k" 2>/dev/null || true
        ip link add "prdv$k" type veth peer name eth0 netns "$ns"
        ip link set "prdv$k" master "$BRIDGE"
        ip link set "prdv$k" up
        ip -n "$ns" addr add "$addr/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
        echo "$addr $ns" >>"$STATE/hosts"
        node_lines+="NodeName=$ns NodeAddr=$addr CPUs=$cpus RealMemory=$node_mem State=UNKNOWN"$'\n'
        mkdir -p "$spool_root/$ns"
    done
    ctld_host="$host($NET.1)"
    node_list="node[1-$nodes]"
fi

cat >"$conf_dir/slurm.conf" <<CONF
# Written by parade's scripts/slurm-up.sh: a test cluster on one machine.
ClusterName=parade-test
SlurmctldHost=$ctld_host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$ctld_state
SlurmdSpoolDir=$spool_root/%n
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd-%n.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd-%n.log
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
$node_lines
PartitionName=debug Nodes=$node_list Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
rm -f "$conf_dir/cgroup.conf" # no cgroups: linuxproc tracks processes

/usr/sbin/slurmctld -c
if ((nodes == 0)); then
    mkdir -p "$spool_root/$host"
    /usr/sbin/slurmd -c
else
    for k in $(seq "$nodes"); do
        ns=node$k
        nsenter --net="/run/netns/$ns" unshare --uts --mount sh -c \
            "hostname $ns && mount --bind $STATE/hosts /etc/hosts && exec /usr/sbin/slurmd -c -N $ns"
    done
fi

want=$((nodes == 0 ? 1 : nodes))
for _ in $(seq 60); do
    up=$(sinfo -h -N -o '%N %T' 2>/dev/null | awk '$2 ~ /idle|mixed|alloc/ {print $1}' | sort -u | wc -l)
    if ((up >= want)); then
        echo "slurm-up: $want node(s) up ($node_list, $cpus CPUs each)"
        exit 0
    fi
    scontrol update NodeName="$node_list" State=RESUME >/dev/null 2>&1 || true
    sleep 1
done
echo "slurm-up: the nodes did not come up; sinfo and the last lines of the logs:" >&2
sinfo -N >&2 || true
tail -n 20 "$log_dir/slurmctld.log" "$log_dir"/slurmd-*.log >&2 || true
exit 1
