#!/usr/bin/env bash
# netns-lab.sh up|down [PREFIX]
# netns-lab.sh run PREFIX scan|lab CMD [ARG...]
# Two network namespaces joined by a veth pair, with no default route in either:
#   PREFIX-scan  198.18.0.1/30   where the scanner runs; 198.19.0.0/16 is routed to the peer
#   PREFIX-lab   198.18.0.2/30   where the lab hosts answer; with AnyIP it answers for all of
#                198.19.0.0/16 (RST on closed ports, like the Internet's sparse negatives)
# The SYN engine works on loopback too; this testbed adds a real link (a veth pair, with its
# GSO/TSO and checksum offloads) between the scanner and the hosts.
# run starts CMD in one of them and records it; down ends only what run started (a process of
# the same PID and start time) and deletes only namespaces that up made, never everything in a
# namespace by name: the name may be someone else's, and so may the processes in it.
# Needs root and iproute2.
set -euo pipefail
usage="usage: netns-lab.sh up|down [PREFIX] | run PREFIX scan|lab CMD [ARG...]"
cmd=${1:?$usage}
p=${2:-cc}
state=${NETNS_LAB_STATE:-/run/netns-lab}/$p
starttime() { awk '{sub(/^.*\) /, ""); print $20}' "/proc/$1/stat" 2>/dev/null; }
case $cmd in
up)
  [ ! -e "$state" ] || { echo "netns-lab: $p is up already ($state)" >&2; exit 1; }
  mkdir -p -m 0700 "$state"
  ip netns add "$p-scan"
  echo "$p-scan" >> "$state/made"
  ip netns add "$p-lab"
  echo "$p-lab" >> "$state/made"
  ip link add "$p-s0" type veth peer name "$p-l0"
  ip link set "$p-s0" netns "$p-scan"
  ip link set "$p-l0" netns "$p-lab"
  ip -n "$p-scan" addr add 198.18.0.1/30 dev "$p-s0"
  ip -n "$p-lab" addr add 198.18.0.2/30 dev "$p-l0"
  for ns in "$p-scan" "$p-lab"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$p-scan" link set "$p-s0" up
  ip -n "$p-lab" link set "$p-l0" up
  ip -n "$p-scan" route add 198.19.0.0/16 via 198.18.0.2 dev "$p-s0"
  ip -n "$p-lab" route add local 198.19.0.0/16 dev lo
  # Fixed neighbour entries: raw-socket scanners then need no ARP.
  lmac=$(ip -n "$p-lab" -o link show "$p-l0" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  smac=$(ip -n "$p-scan" -o link show "$p-s0" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  ip -n "$p-scan" neigh replace 198.18.0.2 lladdr "$lmac" dev "$p-s0" nud permanent
  ip -n "$p-lab" neigh replace 198.18.0.1 lladdr "$smac" dev "$p-l0" nud permanent
  # Prove there is no way out before anything runs.
  if [ -n "$(ip -n "$p-scan" -4 route show default; ip -n "$p-scan" -6 route show default)" ]; then
    echo "netns-lab: $p-scan has a route off the lab; refusing" >&2
    exit 1
  fi
  echo "up: $p-scan (198.18.0.1) <-> $p-lab (198.18.0.2, answers for 198.19.0.0/16)"
  ;;
run)
  [ $# -ge 4 ] && { [ "$3" = scan ] || [ "$3" = lab ]; } || { echo "$usage" >&2; exit 2; }
  grep -qx "$p-$3" "$state/made" 2>/dev/null || { echo "netns-lab: $p-$3 was not made by netns-lab.sh up" >&2; exit 1; }
  ns=$p-$3
  shift 3
  # ip netns exec execs CMD: this PID becomes CMD's, recorded with its start time.
  echo "$$ $(starttime $$)" >> "$state/pids"
  exec ip netns exec "$ns" "$@"
  ;;
down)
  [ -d "$state" ] || { echo "netns-lab: nothing of $p was made by netns-lab.sh up" >&2; exit 0; }
  if [ -f "$state/pids" ]; then
    while read -r pid start; do
      [ "$(starttime "$pid")" = "$start" ] && kill "$pid" 2>/dev/null || true
    done < "$state/pids"
  fi
  if [ -f "$state/made" ]; then
    while read -r ns; do
      ip netns del "$ns" 2>/dev/null || true
    done < "$state/made"
  fi
  rm -rf "$state"
  ;;
*)
  echo "$usage" >&2
  exit 2
  ;;
esac
