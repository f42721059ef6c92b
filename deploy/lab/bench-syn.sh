#!/usr/bin/env bash
# bench-syn.sh [RATES] [RETRIES]
# Sweep rate and recall of the SYN path on a /16 between two namespaces (netns-lab.sh):
# 256 random addresses of 198.19.0.0/16 have port 18789 open, every other address answers RST.
# Prints a table. Needs root, iproute2, nftables, python3 (the listener) and a built bin/clawcensus.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../bin/clawcensus
rates=${1:-"5000 20000 50000"}
retries=${2:-"0 1"}
p=ccbench
"$here/netns-lab.sh" down $p
"$here/netns-lab.sh" up $p >/dev/null
work=$(mktemp -d)
trap '"$here/netns-lab.sh" down $p; rm -rf "$work"' EXIT
# The open set, and an nftables set that resets 18789 everywhere else.
python3 -c 'import random; random.seed(7); s=set()
while len(s) < 256: s.add("198.19.%d.%d" % (random.randrange(256), random.randrange(1,255)))
print("\n".join(sorted(s)))' >"$work/open.txt"
ip netns exec $p-lab nft -f - <<NFT
table inet lab {
  set open { type ipv4_addr; elements = { $(paste -sd, "$work/open.txt") } }
  chain in {
    type filter hook input priority 0;
    tcp dport 18789 ip daddr != @open reject with tcp reset
  }
}
NFT
ip netns exec $p-lab python3 -m http.server --bind 0.0.0.0 18789 >/dev/null 2>&1 &
sleep 1
echo "probes/s and seconds are end to end: the sweep, a 2 s wait for late answers per pass, and fingerprinting the open ports"
printf "%-8s %-8s %-12s %-10s %-8s %s\n" rate retries probes/s open recall seconds
for rate in $rates; do
  for r in $retries; do
    db=$work/b-$rate-$r.db
    start=$(date +%s.%N)
    ip netns exec $p-scan "$bin" scan --lab --scope 198.18.0.0/15 --scan-type syn --rate "$rate" --retries "$r" \
      --timeout 2s --http-timeout 2s --db "$db" --seed 1 198.19.0.0/16 >/dev/null 2>"$work/err"
    end=$(date +%s.%N)
    read -r sent open < <("$bin" report --db "$db" --format json | python3 -c 'import json,sys; r=json.load(sys.stdin)["runs"][-1]; print(r["probes_sent"], r["open_ports"])')
    printf "%-8s %-8s %-12.0f %-10s %-8.3f %.1f\n" "$rate" "$r" "$(echo "$sent / ($end - $start)" | bc -l)" "$open" \
      "$(echo "$open / 256" | bc -l)" "$(echo "$end - $start" | bc -l)"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
