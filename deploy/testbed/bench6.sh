#!/usr/bin/env bash
# bench6.sh [-n HOSTS] [-closed C] [-rate R] [-reps K]: an IPv6 census from a hitlist on the IPv6
# testbed (testbed6.sh, 2001:2::/48, no route out), clawcensus beside masscan (mainline zmap has
# no IPv6). Each tool reads the same shuffled hitlist (clawcensus the .xz as published, masscan
# the text: it reads no xz) of HOSTS open addresses (20 real-gateway replays), C closed ones
# and 100 addresses of one aliased /64, at R probes/s, one port, one pass. Prints a markdown
# table: recall (open hosts of the truth found; the aliased /64 is one), what each reports for
# the aliased /64, probes, wall seconds, pps (probes / (wall - the 2 s wait for late answers);
# masscan's: its own peak report, as it waits on long past --wait), CPU seconds, peak RSS.
# clawcensus's wall time is the whole census: reading the xz hitlist, the sweep, fingerprinting
# every open host. Needs root, masscan (apt-get install masscan), nftables, xz, python3.
set -euo pipefail
n=1000 closed=20000 rate=20000 reps=2
while [ $# -gt 0 ]; do
  case $1 in
    -n) n=$2; shift 2 ;; -closed) closed=$2; shift 2 ;; -rate) rate=$2; shift 2 ;; -reps) reps=$2; shift 2 ;;
    *) echo "usage: bench6.sh [-n HOSTS] [-closed C] [-rate R] [-reps K]" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export TESTBED_STATE=${TESTBED_STATE:-$(mktemp -d)}
st=$TESTBED_STATE
tb() { "$here/testbed6.sh" "$@"; }
command -v masscan >/dev/null || { echo "bench6.sh: needs masscan (apt-get install masscan)" >&2; exit 1; }
(cd "$repo" && go build -o "$st/clawcensus" ./cmd/clawcensus)
tb up -p b -n "$n" -gateways 20 -closed "$closed" -inaliased 100 >/dev/null
trap 'tb down -p b' EXIT
mac=$(tb info -p b | grep -o 'gateway_mac=[0-9a-f:]*' | cut -d= -f2)
xz -dkc "$st/b6-hitlist.txt.xz" | grep -v -e '^#' -e '^not-an-address' >"$st/hitlist.txt"
probes=$(wc -l <"$st/hitlist.txt")
awk -F'\t' '$2 !~ /^aliased/ { i = index($1, "]:"); print substr($1, 2, i - 2) }' "$st/b6-truth.tsv" | sort >"$st/open.txt"
open=$(wc -l <"$st/open.txt")

# measure NAME CMD...: wall seconds, CPU seconds and peak RSS (KiB) of CMD in the scanner namespace.
measure() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$st/$name.time" "$here/testbed6.sh" exec -p b "$@" >"$st/$name.out" 2>"$st/$name.err" || true
  t1=$(date +%s.%N)
  read -r u s m <"$st/$name.time"
  echo "$(echo "$t1 - $t0" | bc -l) $(echo "$u + $s" | bc -l) $m"
}

echo "| tool | recall | aliased /64 reported as | probes | wall s | pps | CPU s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
for rep in $(seq "$reps"); do
  for tool in clawcensus clawcensus-aliased masscan; do
    case $tool in
      clawcensus*)
        extra=()
        [ "$tool" = clawcensus-aliased ] && extra=(--aliased "$st/b6-aliased.txt")
        rm -f "$st/$tool.db"
        read -r wall cpu rss < <(measure "$tool" env CLAWCENSUS_SCOPE=2001:2::/48 CLAWCENSUS_USER=root CLAWCENSUS_DB= "$st/clawcensus" scan --lab \
          --scan-type syn --rate "$rate" --retries 0 --all --db "$st/$tool.db" "${extra[@]}" "@$st/b6-hitlist.txt.xz")
        grep -o '"ip":"[^"]*"' "$st/$tool.out" | cut -d'"' -f4 | sort -u >"$st/$tool.found"
        sent=$(grep -o 'done: [0-9]* probes' "$st/$tool.err" | grep -o '[0-9]*' || echo "$probes")
        aliased="$(grep -c '"aliased":"2001:2:0:a::/64"' "$st/$tool.out" || true) observation(s)"
        ;;
      masscan)
        read -r wall cpu rss < <(measure masscan timeout -s INT 120 masscan -p18789 --rate "$rate" --wait 2 -iL "$st/hitlist.txt" \
          --adapter b6-s --source-ip 2001:2:ffff::1 --router-mac-ipv6 "$mac" -oL "$st/masscan.list")
        # masscan writes a single zero group as :: (2001:2::1f62:…): read back in RFC 5952 form.
        grep '^open' "$st/masscan.list" | awk '{print $4}' |
          python3 -c 'import sys, ipaddress; [print(ipaddress.ip_address(l.strip())) for l in sys.stdin]' | sort -u >"$st/masscan.found"
        sent=$probes
        # It keeps waiting long past --wait 2 on this link: its pps is its own peak report.
        mpps=$(tr '\r' '\n' <"$st/masscan.err" | grep -o 'rate: *[0-9.]*-kpps' | grep -o '[0-9.]*' | sort -n | tail -1)
        aliased="$(grep -c '^2001:2:0:a:' "$st/masscan.found" || true) hosts"
        ;;
    esac
    hit=$(comm -12 "$st/open.txt" "$st/$tool.found" | wc -l)
    grep -q '^2001:2:0:a:' "$st/$tool.found" && hit=$((hit + 1))
    recall=$(echo "scale=3; $hit / ($open + 1)" | bc -l)
    pps=$(echo "$sent / ($wall - 2)" | bc -l)
    [ "$tool" = masscan ] && pps=$(echo "${mpps:-0} * 1000" | bc -l)
    printf "| %s | %s | %s | %d | %.1f | %.0f | %.1f | %d |\n" "$tool" "$recall" "$aliased" "$sent" "$wall" "$pps" "$cpu" $((rss / 1024))
  done
done
