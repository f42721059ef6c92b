#!/usr/bin/env bash
# silent-hosts.sh [SILENT] [GATEWAYS] [-- SCAN FLAGS...]: issue 13's loss check, sealed. In a
# network namespace with loopback only (sealed.sh), 198.18.0.0/20 is made local on lo (an AnyIP
# route, never leaving the namespace); clawlab listens on SILENT+GATEWAYS seeded addresses of it:
# SILENT hosts that accept and never answer (3,000) and GATEWAYS real-gateway replays (10); a
# SYN scan with default settings but the rate (--rate 20000) sweeps the /20 and the report says
# what was kept. Needs root and bin/clawcensus, bin/clawlab (make build).
set -euo pipefail
silent=${1:-3000} gateways=${2:-10}
shift $(( $# >= 2 ? 2 : $# ))
[ "${1:-}" = -- ] && shift
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ "${CLAWCENSUS_SEALED:-}" != 1 ]; then
  exec "$here/sealed.sh" "$0" "$silent" "$gateways" -- "$@"
fi
block=198.18.0.0/20
ip route add local "$block" dev lo
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
"$repo/bin/clawlab" -block "$block" -hosts $((silent + gateways)) -gateways "$gateways" -silent "$silent" -seed 3 \
  -truth "$work/truth.tsv" -fixtures "$repo/fingerprint/testdata/gateways,$repo/fingerprint/testdata/negatives" >"$work/lab.log" 2>&1 &
for _ in $(seq 100); do grep -q 'testbed ready' "$work/lab.log" && break; sleep 0.1; done
grep 'testbed ready' "$work/lab.log"
export CLAWCENSUS_SCOPE=$block
start=$(date +%s.%N)
/usr/bin/env time -f 'scan: %e s wall, %M KiB peak RSS' "$repo/bin/clawcensus" scan --lab --scan-type syn --rate 20000 \
  --ports 18789 --db "$work/c.db" --format table "$@" "$block" >"$work/out.txt" 2>"$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
end=$(date +%s.%N)
tail -2 "$work/err.txt"
echo "scan took $(echo "$end - $start" | bc) s; $gateways gateways in the lab"
"$repo/bin/clawcensus" report --last --db "$work/c.db" | sed -n '1,6p'
