#!/usr/bin/env bash
# testbed6.sh: the IPv6 census testbed, in 2001:2::/48 (the IPv6 benchmarking block, RFC 5180).
# Two network namespaces joined by a veth pair, no default route anywhere (checked; it refuses
# otherwise):
#   P6-scan   2001:2:ffff::1/64 on P6-s   the scanners run here; 2001:2::/49 is routed to the peer
#   P6-hosts  2001:2:ffff::2/64 on P6-h   holds all of 2001:2::/49 on lo (an AnyIP route): N seeded
#             addresses, a /64 each, listen on 18789 (real-gateway replays, nginx pages, by clawlab
#             -block6); every address of the aliased /64 (2001:2:0:a::/64) reaches one more gateway
#             replay, one box for the whole prefix; every other address answers RST (nftables)
#
#   testbed6.sh up [-p P] [-n N] [-seed S] [-gateways K] [-closed C] [-inaliased A]
#            writes, in the state directory: P6-truth.tsv (each open host, its role, and the aliased
#            /64), P6-hitlist.txt.xz (as TUM publishes responsive-addresses: the open addresses, C
#            closed ones, A of the aliased /64, shuffled, with comments and a few bad lines) and
#            P6-aliased.txt (the aliased-prefixes file)
#   testbed6.sh exec [-p P] CMD...      # run CMD in the scanner namespace
#   testbed6.sh info [-p P]             # interface, addresses, the peer's MAC (masscan --router-mac-ipv6), files
#   testbed6.sh down [-p P]
# Needs root, iproute2, nftables and xz; clawlab is built from this checkout.
set -euo pipefail
cmd=${1:?usage: testbed6.sh up|exec|info|down [...]}
shift
p=tb n=200 seed=1 gateways=20 closed=2000 inaliased=100
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
    -closed) closed=$2; shift 2 ;;
    -inaliased) inaliased=$2; shift 2 ;;
    *) args=("$@"); break ;; # the rest is the command's (exec)
  esac
done
[ "$(id -u)" = 0 ] || { echo "testbed6.sh: needs root (network namespaces)" >&2; exit 1; }
p=${p}6
scan=$p-scan hosts=$p-hosts
mkdir -p "$state"

no_way_out() {
  for ns in "$scan" "$hosts"; do
    if [ -n "$(ip -n "$ns" -4 route show default; ip -n "$ns" -6 route show default)" ]; then
      echo "testbed6.sh: $ns has a default route; refusing" >&2
      exit 1
    fi
    # No IPv4 route at all but loopback's; every IPv6 route inside 2001:2::/48, link-local,
    # multicast or on lo.
    if ip -n "$ns" -4 route show table all | grep -v -E ' dev lo( |$)' | grep -q .; then
      echo "testbed6.sh: $ns has an IPv4 route:" >&2
      ip -n "$ns" -4 route show table all >&2
      exit 1
    fi
    if ip -n "$ns" -6 route show table all | grep -v -E ' dev lo( |$)|^(local |anycast |multicast )?(2001:2:|fe80:|ff00::/8)' | grep -q .; then
      echo "testbed6.sh: $ns routes beyond the testbed:" >&2
      ip -n "$ns" -6 route show table all >&2
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
  ip -n "$scan" addr add 2001:2:ffff::1/64 dev "$p-s" nodad
  ip -n "$hosts" addr add 2001:2:ffff::2/64 dev "$p-h" nodad
  for ns in "$scan" "$hosts"; do ip -n "$ns" link set lo up; done
  ip -n "$scan" link set "$p-s" up
  ip -n "$hosts" link set "$p-h" up
  ip -n "$scan" -6 route add 2001:2::/49 via 2001:2:ffff::2 dev "$p-s"
  ip -n "$hosts" -6 route add local 2001:2::/49 dev lo
  # Fixed neighbours: raw-socket scanners need no neighbour discovery, and none is lost to it.
  hmac=$(ip -n "$hosts" -o link show "$p-h" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  smac=$(ip -n "$scan" -o link show "$p-s" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  ip -n "$scan" -6 neigh replace 2001:2:ffff::2 lladdr "$hmac" dev "$p-s" nud permanent
  ip -n "$hosts" -6 neigh replace 2001:2:ffff::1 lladdr "$smac" dev "$p-h" nud permanent
  ip netns exec "$hosts" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=65536 net.ipv4.tcp_syncookies=0
  no_way_out
  (cd "$repo" && go build -o "$state/clawlab" ./cmd/clawlab)
  rm -f "$state/$p-hitlist.txt" "$state/$p-hitlist.txt.xz"
  ip netns exec "$hosts" "$state/clawlab" -block6 2001:2::/49 -aliased6 2001:2:0:a::/64 -hosts "$n" -seed "$seed" \
    -gateways "$gateways" -closed "$closed" -inaliased "$inaliased" -truth "$state/$p-truth.tsv" \
    -hitlist "$state/$p-hitlist.txt" -aliased-list "$state/$p-aliased.txt" \
    -fixtures "$repo/fingerprint/testdata/gateways,$repo/fingerprint/testdata/negatives" >"$state/$p-hosts.log" 2>&1 &
  echo $! >"$state/$p-hosts.pid"
  for _ in $(seq 600); do grep -q "testbed ready" "$state/$p-hosts.log" 2>/dev/null && break; sleep 0.1; done
  grep 'testbed ready' "$state/$p-hosts.log" || { cat "$state/$p-hosts.log" >&2; exit 1; }
  xz -T1 "$state/$p-hitlist.txt"
  # The wildcard listener would complete a handshake for every address of the block: only the
  # open host:ports of the truth and the aliased /64 get through, every other SYN to the port is
  # answered RST, as a closed port's.
  {
    echo "table ip6 clawcensus_hosts6 {"
    echo "  set open { type ipv6_addr . inet_service; elements = {"
    awk -F'\t' '$2 !~ /^aliased/ { i = index($1, "]:"); printf "    %s . %s,\n", substr($1, 2, i - 2), substr($1, i + 2) }' "$state/$p-truth.tsv"
    echo "  } }"
    echo "  chain in { type filter hook input priority 0; policy accept;"
    echo "    tcp dport 18789 ip6 daddr 2001:2:0:a::/64 accept"
    echo "    tcp dport 18789 ip6 daddr . tcp dport != @open reject with tcp reset; }"
    echo "}"
  } >"$state/$p-hosts.nft"
  ip netns exec "$hosts" nft -f "$state/$p-hosts.nft"
  ;;
exec)
  no_way_out
  exec ip netns exec "$scan" "${args[@]}"
  ;;
info)
  echo "interface=$p-s source=2001:2:ffff::1 gateway=2001:2:ffff::2 gateway_mac=$(ip -n "$hosts" -o link show "$p-h" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2) truth=$state/$p-truth.tsv hitlist=$state/$p-hitlist.txt.xz aliased=$state/$p-aliased.txt"
  ;;
down)
  [ -f "$state/$p-hosts.pid" ] && kill "$(cat "$state/$p-hosts.pid")" 2>/dev/null || true
  for ns in "$scan" "$hosts"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f "$state/$p-hosts.pid"
  ;;
*) echo "testbed6.sh: unknown command $cmd" >&2; exit 2 ;;
esac
