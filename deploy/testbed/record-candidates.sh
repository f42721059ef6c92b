#!/usr/bin/env bash
# record-candidates.sh: records what other sweepers write, as test fixtures for
# `clawcensus scan --candidates` (scanner/testdata/candidates/). Every tool runs inside the
# namespace testbed (testbed.sh: 198.18.0.0/16, no route out) against a /24 with a few open
# hosts, and nmap on loopback; nothing leaves the machine.
#
#   deploy/testbed/record-candidates.sh [OUTDIR]
#
# Needs root, zmap, masscan and nmap (Debian packages) and the naabu CLI that tools.sh builds.
# Each fixture comes with a .want file: the open ip:port pairs from the testbed's truth, which
# the parser's test compares with.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/scanner/testdata/candidates}
p=rc
block=198.18.7.0/24
[ "$(id -u)" = 0 ] || { echo "record-candidates.sh: needs root (network namespaces)" >&2; exit 1; }
for tool in zmap masscan nmap; do
  command -v $tool >/dev/null || { echo "record-candidates.sh: $tool missing (apt-get install $tool)" >&2; exit 1; }
done
tools=${BENCH_TOOLS:-$repo/bin/bench-tools}
[ -x "$tools/naabu" ] || "$here/tools.sh" "$tools"
mkdir -p "$out"
work=$(mktemp -d)
trap '"$here/testbed.sh" down -p $p >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# A /16 whose 198.18.7.0/24 holds a handful of open hosts (the seed places them).
"$here/testbed.sh" up -p $p -n 3000 -seed 7 -gateways 0 >/dev/null
# Offloads off: with GSO/TSO on, masscan and naabu miss hosts (docs/benchmarks.md), and a
# fixture must hold every open host for its .want to be the truth.
"$here/testbed.sh" offload -p $p off >/dev/null
eval "$("$here/testbed.sh" info -p $p)" # interface, gateway_mac, truth
awk -F'\t' '$1 ~ /^198\.18\.7\./ && $2 != "extra" {print $1}' "$truth" | sort -V >"$work/want"
[ -s "$work/want" ] || { echo "record-candidates.sh: no open host in $block with this seed" >&2; exit 1; }
in_ns() { "$here/testbed.sh" exec -p $p "$@"; }

want() { cp "$work/want" "$out/$1.want"; }
in_ns zmap -p 18789 -r 2000 -b /dev/null -i "$interface" -G "$gateway_mac" -S 198.19.255.1 -c 2 -q --disable-syslog \
  -O csv -f saddr,sport,classification,success,repeat --output-filter="success = 0 || success = 1" -o "$out/zmap-all.csv" $block
want zmap-all.csv
in_ns zmap -p 18789 -r 2000 -b /dev/null -i "$interface" -G "$gateway_mac" -S 198.19.255.1 -c 2 -q --disable-syslog \
  -O json -f saddr,sport,classification,success,repeat --output-filter="success = 0 || success = 1" -o "$out/zmap-all.json" $block
want zmap-all.json
in_ns zmap -p 18789 -r 2000 -b /dev/null -i "$interface" -G "$gateway_mac" -S 198.19.255.1 -c 2 -q --disable-syslog \
  -o "$out/zmap-default.txt" $block
want zmap-default.txt
for fmt in L J D X G; do
  in_ns timeout -s INT -k 20 30 masscan -p18789 $block --rate 2000 --adapter "$interface" --adapter-ip 198.19.255.1 \
    --router-mac "$gateway_mac" --wait 2 -o$fmt "$out/masscan.o$fmt" >/dev/null 2>&1 || true
  want masscan.o$fmt
done
for fmt in plain json csv; do
  flag=; [ $fmt = plain ] || flag=-$fmt
  in_ns "$tools/naabu" -host $block -p 18789 -s s -rate 2000 -interface "$interface" -silent -warm-up-time 2 \
    -disable-update-check $flag -o "$out/naabu.$fmt" >/dev/null 2>&1
  want naabu.$fmt
done
# nmap connect scans in the scanner namespace: open, closed (RST) and the ports of one host.
in_ns nmap -n -Pn -sT -p 18789,18790 --max-retries 1 -oX "$out/nmap.xml" -oG "$out/nmap.gnmap" $block >/dev/null
want nmap.xml
want nmap.gnmap
# Volatile fields (timestamps, the command line with this machine's interface) stay as the
# tools wrote them: the parser must not care.
echo "recorded into $out:"; ls -l "$out"
