#!/usr/bin/env bash
# record-fixture.sh GATEWAY_DIR PACKAGE VERSION AUTH OUT.txtar
# Starts a real gateway (installed by gateway-install.sh) inside a loopback-only network namespace
# and records what a *remote* client sees as a txtar fixture for fingerprint/testdata/.
# The gateway trusts 127.0.0.1 as a proxy and every request carries X-Forwarded-For from a
# documentation address, so the gateway answers as it would to a stranger.
# AUTH is "token" or "none". Needs root (ip netns) and Node >= 22.12 first on PATH.
set -euo pipefail
gwdir=$1 pkg=$2 version=$3 auth=$4 out=$5
port=${PORT:-18789}
ns=ccrec$$
scratch=$(mktemp -d)
cleanup() {
  [ -n "${gwpid:-}" ] && kill "$gwpid" 2>/dev/null; sleep 1
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up

case $pkg in
  clawdbot) confdir=$scratch/.clawdbot conf=clawdbot.json bin=$gwdir/node_modules/clawdbot/dist/entry.js ;;
  *) confdir=$scratch/.openclaw conf=openclaw.json bin=$gwdir/node_modules/openclaw/openclaw.mjs ;;
esac
[ -f "$bin" ] || bin=$(node -e "const p=require('$gwdir/node_modules/$pkg/package.json'); const b=typeof p.bin==='string'?p.bin:Object.values(p.bin)[0]; console.log('$gwdir/node_modules/$pkg/'+b)")
mkdir -p "$confdir"
authjson='"auth":{"mode":"token","token":"lab-token-not-secret"},'
if [ "$auth" = none ]; then
  authjson='"auth":{"mode":"none"},'
  # Clawdbot and 2026.1.29 know no "none" mode: with no token configured they are open.
  [ "${LEGACY_ARGS:-0}" = 1 ] && authjson=
fi
# EXTRA_GATEWAY_JSON adds gateway settings (e.g. '"http":{"endpoints":{"chatCompletions":{"enabled":true}}},');
# UNTRUSTED_PROXY=1 leaves trustedProxies out, as a misconfigured reverse proxy does.
proxies='"trustedProxies":["127.0.0.1","::1"]'
[ "${UNTRUSTED_PROXY:-0}" = 1 ] && proxies='"port":'$port
echo "{\"gateway\":{\"mode\":\"local\",$authjson${EXTRA_GATEWAY_JSON:-}$proxies}}" >"$confdir/$conf"

args=(gateway run --port "$port" --bind loopback --allow-unconfigured)
if [ "${LEGACY_ARGS:-0}" = 1 ]; then
  # 2026.1.29 and Clawdbot swallow options after "gateway run".
  args=(gateway --port "$port" --bind loopback)
  [ "$auth" = token ] && args+=(--token lab-token-not-secret)
else
  [ "$auth" = token ] && args+=(--auth token --token lab-token-not-secret) || args+=(--auth none)
fi
HOME=$scratch OPENCLAW_HOME= ip netns exec "$ns" node "$bin" "${args[@]}" >"$scratch/gateway.log" 2>&1 &
gwpid=$!
for _ in $(seq 1 120); do
  ip netns exec "$ns" curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/" && break
  kill -0 "$gwpid" 2>/dev/null || { cat "$scratch/gateway.log" >&2; exit 1; }
  sleep 1
done

# Hand-written expectations ("# expect: …" lines, passive_*, active_*, advisories, flags) survive a refresh.
kept=$(grep -E '^(# expect: |passive_[a-z]+:|active_[a-z]+:|advisories:|flags:)' "$out" 2>/dev/null || true)
{
  echo "# Recorded by deploy/lab/record-fixture.sh from a real gateway on $(date -u +%Y-%m-%d)."
  echo "# Requests carried X-Forwarded-For: 198.51.100.9 through a trusted loopback proxy (remote view)."
  [ -n "${EXTRA_GATEWAY_JSON:-}" ] && echo "# Extra gateway settings: ${EXTRA_GATEWAY_JSON%,}"
  [ "${UNTRUSTED_PROXY:-0}" = 1 ] && echo "# The proxy is NOT in gateway.trustedProxies (a misconfigured reverse proxy)."
  echo "product: $([ "$pkg" = clawdbot ] && echo clawdbot || echo openclaw)"
  echo "version: $version"
  echo "auth: $([ "$auth" = none ] && echo none || echo required)"
  echo "official: true"
  [ -n "$kept" ] && echo "$kept"
  for path in / /clawcensus-probe-$RANDOM /sw.js /__openclaw/control-ui-config.json /control-ui-config.json \
    /__clawdbot/control-ui-config.json /avatar/main /health /readyz /v1/chat/completions /__openclaw__/canvas/ \
    /manifest.webmanifest; do
    echo "-- GET $path --"
    ip netns exec "$ns" curl -s -i --max-time 5 -H 'X-Forwarded-For: 198.51.100.9' \
      -H 'User-Agent: clawcensus-fixture-recorder' "http://127.0.0.1:$port$path" | tr -d '\r' | head -c 65536
    echo
  done
  # The server's first WebSocket frame (Node's built-in client; it cannot add X-Forwarded-For,
  # so this one frame is the local view: the challenge carries no client-specific detail).
  echo "-- WS / --"
  ip netns exec "$ns" node -e '
    const ws = new WebSocket(process.argv[1]);
    const t = setTimeout(() => process.exit(0), 5000);
    ws.onmessage = (m) => { process.stdout.write(String(m.data).slice(0, 4096) + "\n"); clearTimeout(t); ws.close(); process.exit(0); };
    ws.onerror = () => process.exit(0);' "ws://127.0.0.1:$port/" || true
  # The opt-in active auth probe (body validation only): recorded so its classifier is tested too.
  echo "-- POST /tools/invoke --"
  ip netns exec "$ns" curl -s -i --max-time 5 -X POST -H 'Content-Type: application/json' -d '{}' \
    -H 'X-Forwarded-For: 198.51.100.9' -H 'User-Agent: clawcensus-fixture-recorder' \
    "http://127.0.0.1:$port/tools/invoke" | tr -d '\r' | head -c 65536
  echo
} >"$out"
sed -i 's#/clawcensus-probe-[0-9]*#/clawcensus-random-path#' "$out"
echo "recorded $pkg $version auth=$auth -> $out"
