#!/usr/bin/env bash
# gateway-install.sh PACKAGE@VERSION DIR
# Installs a real OpenClaw (or Clawdbot) gateway from the npm registry into DIR, for recording
# fingerprint fixtures. Older releases pull a WhatsApp library with a git dependency (libsignal)
# that cannot be fetched here; an npm override points it at a local stub whose functions throw.
# Nothing is started: see record-fixture.sh.
set -euo pipefail
spec=${1:?usage: gateway-install.sh PACKAGE@VERSION DIR}
dir=${2:?usage: gateway-install.sh PACKAGE@VERSION DIR}
mkdir -p "$dir/libsignal-stub/src"
cat >"$dir/libsignal-stub/package.json" <<'JSON'
{"name":"libsignal","version":"0.0.0-stub","main":"index.js"}
JSON
# Named exports must be written out: Node finds a CommonJS module's exports for ESM importers by
# reading the source, so each name the WhatsApp library imports is listed.
stub() {
  echo 'const stub = () => { throw new Error("libsignal stub: not available in the lab"); };'
  for name in "$@"; do echo "exports.$name = stub;"; done
}
stub calculateMAC decrypt encrypt deriveSecrets hash >"$dir/libsignal-stub/src/crypto.js"
stub calculateSignature verifySignature generateKeyPair calculateAgreement createKeyPair >"$dir/libsignal-stub/src/curve.js"
stub SessionBuilder SessionCipher SessionRecord ProtocolAddress PreKeyWhisperMessage >"$dir/libsignal-stub/index.js"
cat >"$dir/package.json" <<JSON
{"name":"gateway-lab","private":true,
 "dependencies":{"${spec%@*}":"${spec##*@}"},
 "overrides":{"libsignal":"file:./libsignal-stub"}}
JSON
cd "$dir"
npm install --ignore-scripts --no-audit --no-fund --loglevel=error >install.log 2>&1 || { tail -20 install.log >&2; exit 1; }
echo "installed $spec in $dir"
