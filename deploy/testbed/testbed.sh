#!/usr/bin/env bash
# testbed.sh: the sweep benchmark's namespace testbed. Two network namespaces joined by a veth
# pair, no default route anywhere (checked; it refuses otherwise):
#   P-scan   198.19.255.1/30 on P-s   the scanners run here; 198.18.0.0/16 is routed to the peer
#   P-hosts  198.19.255.2/30 on P-h   holds all of 198.18.0.0/16 on lo (an AnyIP route): N seeded
#            addresses listen on 18789 (real-gateway replays, nginx pages, hostile servers, by
#            clawlab -block), every other address answers RST like the Internet's closed ports
#
#   testbed.sh up [-n N] [-seed S] [-gateways K] [-hostile H] [-silent S] [-slow L] [-reset R] [-everyport E] [-p P]
#            the truth goes to P-truth.tsv: each open host and its role (clawlab -block says which);
#            every-port hosts answer on all ports (nftables sends the others to their listener)
#   testbed.sh offload on|off [-p P]   # GSO/TSO/GRO and checksum offloads on both veth ends
#   testbed.sh loss PERCENT [-p P]     # nftables random drops in the hosts namespace, each direction (0: none)
#   testbed.sh exec [-p P] CMD...      # run CMD in the scanner namespace
#   testbed.sh info [-p P]             # interface, addresses and the peer's MAC (for zmap -G, masscan --router-mac)
#   testbed.sh down [-p P]
# Needs root, iproute2, ethtool, nftables; clawlab is built from this checkout.
set -euo pipefail
cmd=${1:?usage: testbed.sh up|offload|loss|exec|info|down [...]}
shift
p=tb n=1000 seed=1 gateways=20 hostile=0 silent=0 slow=0 reset=0 everyport=0
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${TESTBED_STATE:-/run/clawcensus-testbed}

args=()
while [ $# -gt 0 ]; do
  case $1 in
    -p) p=$2; shift 2 ;;
    -n) n=$2; shift 2 ;;
    -seed) seed=$2; shift 2 ;;
    -gateways) gateways=$2; shift 2 ;;
    -hostile) hostile=$2; shift 2 ;;
    -silent) silent=$2; shift 2 ;;
    -slow) slow=$2; shift 2 ;;
    -reset) reset=$2; shift 2 ;;
    -everyport) everyport=$2; shift 2 ;;
    *) args=("$@"); break ;; # the rest is the command's (exec) or the value (offload, loss)
  esac
done
[ "$(id -u)" = 0 ] || { echo "testbed.sh: needs root (network namespaces)" >&2; exit 1; }
scan=$p-scan hosts=$p-hosts
mkdir -p "$state"

no_way_out() {
  for ns in "$scan" "$hosts"; do
    if [ -n "$(ip -n "$ns" -4 route show default; ip -n "$ns" -6 route show default)" ]; then
      echo "testbed.sh: $ns has a default route; refusing" >&2
      exit 1
    fi
    # Every route must stay inside 198.18.0.0/15 or on lo.
    if ip -n "$ns" -4 route show table all | grep -v -E ' dev lo |^(local |broadcast )?198\.1[89]\.' | grep -q .; then
      echo "testbed.sh: $ns routes beyond the testbed:" >&2
      ip -n "$ns" -4 route show table all >&2
      exit 1
    fi
  done
}

case $cmd in
up)
  ip netns add "$scan"
  ip netns add "$hosts"
  ip link add "$p-s" type veth peer name "$p-h"
  ip link set "$p-s" netns "$scan"
  ip link set "$p-h" netns "$hosts"
  ip -n "$scan" addr add 198.19.255.1/30 dev "$p-s"
  ip -n "$hosts" addr add 198.19.255.2/30 dev "$p-h"
  for ns in "$scan" "$hosts"; do ip -n "$ns" link set lo up; done
  ip -n "$scan" link set "$p-s" up
  ip -n "$hosts" link set "$p-h" up
  ip -n "$scan" route add 198.18.0.0/16 via 198.19.255.2
  ip -n "$hosts" route add local 198.18.0.0/16 dev lo
  # Fixed neighbours: raw-socket scanners need no ARP, and none is lost to a full table.
  hmac=$(ip -n "$hosts" -o link show "$p-h" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  smac=$(ip -n "$scan" -o link show "$p-s" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  ip -n "$scan" neigh replace 198.19.255.2 lladdr "$hmac" dev "$p-s" nud permanent
  ip -n "$hosts" neigh replace 198.19.255.1 lladdr "$smac" dev "$p-h" nud permanent
  # Listen backlog and SYN handling sized for a sweep's bursts, as a real host population would be.
  ip netns exec "$hosts" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=65536 net.ipv4.tcp_syncookies=0
  no_way_out
  (cd "$repo" && go build -o "$state/clawlab" ./cmd/clawlab)
  ip netns exec "$hosts" "$state/clawlab" -block 198.18.0.0/16 -hosts "$n" -seed "$seed" -gateways "$gateways" \
    -hostile "$hostile" -silent "$silent" -slow "$slow" -reset "$reset" -everyport "$everyport" -truth "$state/$p-truth.tsv" \
    -fixtures "$repo/fingerprint/testdata/gateways,$repo/fingerprint/testdata/negatives" >"$state/$p-hosts.log" 2>&1 &
  echo $! >"$state/$p-hosts.pid"
  for _ in $(seq 600); do grep -q "testbed ready" "$state/$p-hosts.log" 2>/dev/null && break; sleep 0.1; done
  grep 'testbed ready' "$state/$p-hosts.log" || { cat "$state/$p-hosts.log" >&2; exit 1; }
  # Where clawlab listens on the wildcard address (too many hosts for a listener each), only the
  # open host:ports of the truth get through, every other SYN to its ports is answered RST as a
  # closed port's. Every-port hosts: any other TCP port of theirs reaches their one listener.
  {
    echo "table ip clawcensus_hosts {"
    if grep -q 'listening wildcard' "$state/$p-hosts.log"; then
      echo "  set open { type ipv4_addr . inet_service; elements = {"
      awk -F'\t' '{ split($1, a, ":"); printf "    %s . %s,\n", a[1], a[2] }' "$state/$p-truth.tsv"
      echo "  } }"
      echo "  chain in { type filter hook input priority 0; policy accept;"
      echo "    tcp dport { 18789, 8080 } ip daddr . tcp dport != @open reject with tcp reset; }"
    fi
    if [ "$everyport" -gt 0 ]; then
      # NAT needs connection tracking: only for the every-port hosts, so that a sweep's 65,536
      # probes do not fill the conntrack table.
      echo "  set everyport { type ipv4_addr; elements = {"
      awk -F'\t' '$2 == "everyport" { split($1, a, ":"); printf "    %s,\n", a[1] }' "$state/$p-truth.tsv"
      echo "  } }"
      echo "  chain raw { type filter hook prerouting priority -300; policy accept; ip daddr != @everyport notrack; }"
      echo "  chain rawout { type filter hook output priority -300; policy accept; ip saddr != @everyport notrack; }"
      echo "  chain pre { type nat hook prerouting priority -100; policy accept;"
      awk -F'\t' '$2 == "everyport" { split($1, a, ":"); printf "    ip daddr %s tcp dport != %s dnat to %s:%s\n", a[1], a[2], a[1], a[2] }' "$state/$p-truth.tsv"
      echo "  }"
    fi
    echo "}"
  } >"$state/$p-hosts.nft"
  ip netns exec "$hosts" nft -f "$state/$p-hosts.nft"
  ;;
offload)
  v=${args[0]:?offload on|off}
  ip netns exec "$scan" ethtool -K "$p-s" gso "$v" tso "$v" gro "$v" tx "$v" rx "$v" 2>/dev/null || true
  ip netns exec "$hosts" ethtool -K "$p-h" gso "$v" tso "$v" gro "$v" tx "$v" rx "$v" 2>/dev/null || true
  ip netns exec "$scan" ethtool -k "$p-s" | grep -E '^(generic-segmentation-offload|tcp-segmentation-offload|tx-checksumming|rx-checksumming):'
  ;;
loss)
  pct=${args[0]:?loss PERCENT}
  ip netns exec "$hosts" nft delete table inet clawcensus_loss 2>/dev/null || true
  if [ "$pct" != 0 ]; then
    per10k=$(awk -v p="$pct" 'BEGIN { printf "%d", p * 100 }')
    ip netns exec "$hosts" nft -f - <<NFT
table inet clawcensus_loss {
  chain in { type filter hook prerouting priority -300; policy accept; iifname "$p-h" numgen random mod 10000 < $per10k drop; }
  chain out { type filter hook postrouting priority 300; policy accept; oifname "$p-h" numgen random mod 10000 < $per10k drop; }
}
NFT
  fi
  echo "loss: $pct% each direction"
  ;;
exec)
  no_way_out
  exec ip netns exec "$scan" "${args[@]}"
  ;;
info)
  echo "interface=$p-s source=198.19.255.1 gateway=198.19.255.2 gateway_mac=$(ip -n "$hosts" -o link show "$p-h" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2) truth=$state/$p-truth.tsv"
  ;;
down)
  [ -f "$state/$p-hosts.pid" ] && kill "$(cat "$state/$p-hosts.pid")" 2>/dev/null || true
  for ns in "$scan" "$hosts"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f "$state/$p-hosts.pid"
  ;;
*) echo "testbed.sh: unknown command $cmd" >&2; exit 2 ;;
esac
