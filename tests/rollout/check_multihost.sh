#!/usr/bin/env bash
# Across machines: mpirun over three "hosts" made of network namespaces on
# this machine (veth pairs to a bridge in a fourth namespace, addresses
# 10.231.77.0/24 that exist only inside those namespaces, a hostfile,
# OpenMPI's TCP transports; the remote launch goes through `ip netns exec`
# where a real cluster uses ssh).  Learners on host 1 and 2, workers on
# host 2 and 3: the run must equal the single-process run.  The test makes
# its namespaces itself and removes them on exit; nothing leaves them.
# Skipped (77) where namespaces cannot be made (not root, no iproute2).
source "$(dirname "$0")/../learner/toy.sh"
TOY_STEPS=4
TOY+=(--set run.steps=4)
NS=grpo-mh-$$
HOSTS=(10.231.77.1 10.231.77.2 10.231.77.3)
cleanup() {
    for i in 0 1 2; do ip netns del $NS-h$i 2>/dev/null; done
    ip netns del $NS-sw 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns add $NS-sw 2>/dev/null; then
    echo "cannot create network namespaces here (needs root and iproute2)"; exit 77
fi
make_hosts() {
    ip -n $NS-sw link add br0 type bridge && ip -n $NS-sw link set br0 up || return 1
    for i in 0 1 2; do
        ip netns add $NS-h$i && ip -n $NS-h$i link set lo up &&
            ip -n $NS-h$i link add eth0 type veth peer name p$i netns $NS-sw &&
            ip -n $NS-h$i addr add ${HOSTS[$i]}/24 dev eth0 && ip -n $NS-h$i link set eth0 up &&
            ip -n $NS-sw link set p$i master br0 && ip -n $NS-sw link set p$i up || return 1
    done
    ip netns exec $NS-h0 unshare --uts true # the agent below needs UTS namespaces too
}
make_hosts 2>setup.err || { cat setup.err; echo "cannot build the namespace hosts here (bridge, veth or unshare refused)"; exit 77; }

# the remote shell: "agent HOST COMMAND..." runs COMMAND on that host, with
# the host's own name (a UTS namespace), as ssh would
cat >agent.sh <<AGENT
#!/bin/sh
host=\$1; shift
case \$host in
    ${HOSTS[0]}) n=0 ;; ${HOSTS[1]}) n=1 ;; ${HOSTS[2]}) n=2 ;; *) echo "unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec $NS-h\$n unshare --uts sh -c "hostname $NS-h\$n; \$*"
AGENT
chmod +x agent.sh
printf '%s slots=2\n' "${HOSTS[0]}" "${HOSTS[1]}" >hosts
printf '%s slots=1\n' "${HOSTS[2]}" >>hosts

toy_train --set db.path=one.db --set run.name=one >one.log 2>&1 || { cat one.log; exit 1; }
# ranks by slot: 0,1 on host 1 (learners 0, 1), 2,3 on host 2 (learner 2, worker 3), 4 on host 3 (worker 4)
ip netns exec $NS-h0 unshare --uts sh -c "hostname $NS-h0; exec mpirun -np 5 --hostfile hosts --display-map \
    --mca plm_rsh_agent $PWD/agent.sh --mca btl tcp,self \
    --mca oob_tcp_if_include 10.231.77.0/24 --mca btl_tcp_if_include 10.231.77.0/24 \
    -x OMP_NUM_THREADS -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
    $GRPO train $CONFIG ${TOY[*]} --set run.learners=3 --set db.path=mh.db --set run.name=one" \
    >mh.log 2>&1 || { cat mh.log; echo "mpirun across namespaces failed"; exit 1; }
[ "$(fingerprint one.db)" = "$(fingerprint mh.db)" ] || { echo "multi-host run differs"; exit 1; }
[ "$(sql one.db "SELECT sha256 FROM checkpoints WHERE step = 4")" = "$(sql mh.db "SELECT sha256 FROM checkpoints WHERE step = 4")" ] ||
    { echo "final weights differ"; exit 1; }
# the map mpirun printed: 2 ranks on host 1 (mpirun's own, by its name), 2 on host 2, 1 on host 3
for node in "$NS-h0.*Num procs: 2" "${HOSTS[1]}.*Num procs: 2" "${HOSTS[2]}.*Num procs: 1"; do
    grep -q "Data for node: $node" mh.log || { cat mh.log; echo "no 'Data for node: $node' in the map"; exit 1; }
done
echo "3 hosts (network namespaces, TCP), 3 learners + 2 workers = 1 process, bit for bit"
