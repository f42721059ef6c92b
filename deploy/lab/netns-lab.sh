#!/usr/bin/env bash
# netns-lab.sh up|down [PREFIX]
# Two network namespaces joined by a veth pair, with no default route in either:
#   PREFIX-scan  198.18.0.1/30   where the scanner runs; 198.19.0.0/16 is routed to the peer
#   PREFIX-lab   198.18.0.2/30   where the lab hosts answer; with AnyIP it answers for all of
#                198.19.0.0/16 (RST on closed ports, like the Internet's sparse negatives)
# The SYN engine works on loopback too; this testbed adds a real link (a veth pair, with its
# GSO/TSO and checksum offloads) between the scanner and the hosts.
# Needs root and iproute2.
set -euo pipefail
cmd=${1:?usage: netns-lab.sh up|down [PREFIX]}
p=${2:-cc}
case $cmd in
up)
  ip netns add "$p-scan"
  ip netns add "$p-lab"
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
down)
  for ns in "$p-scan" "$p-lab"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ;;
*)
  echo "usage: netns-lab.sh up|down [PREFIX]" >&2
  exit 2
  ;;
esac
