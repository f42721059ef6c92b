#!/usr/bin/env bash
# record-negatives.sh
# Records the negative fixtures in fingerprint/testdata/negatives/ from a real nginx (Debian's
# nginx-light) on 127.0.0.1: its default page, and a blog post that merely talks about the
# OpenClaw Control UI. Then derives two look-alikes from a real gateway recording:
#   - a honeypot copy that adds a Server: Apache header and drops the era's CSP,
#   - a self-built fork whose bundle hashes are in no published release.
# Needs nginx and curl. Run from anywhere.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../../fingerprint/testdata/negatives" && pwd)
gw=$(cd "$here/../../fingerprint/testdata/gateways" && pwd)
port=${PORT:-18089}
scratch=$(mktemp -d)
trap 'nginx -p "$scratch" -c nginx.conf -s stop 2>/dev/null || true; rm -rf "$scratch"' EXIT
mkdir -p "$scratch/www/blog" "$scratch/logs"
chmod 755 "$scratch"  # nginx workers run unprivileged
cp /var/www/html/index.nginx-debian.html "$scratch/www/index.html"
cat >"$scratch/www/blog/index.html" <<'HTML'
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hardening my OpenClaw gateway | notes</title></head>
<body><article>
<h1>Hardening my OpenClaw gateway</h1>
<p>After the advisories this spring I finally moved the <em>OpenClaw Control</em> UI off the public
interface. The page is a single <code>&lt;openclaw-app&gt;</code> element; if you can see
"OpenClaw Control" in your browser tab from outside your network, so can everyone else.</p>
<p>Set <code>gateway.bind</code> back to <code>loopback</code> and put it behind your VPN.</p>
</article></body></html>
HTML
cat >"$scratch/nginx.conf" <<CONF
daemon on;
pid $scratch/nginx.pid;
error_log $scratch/logs/error.log;
events {}
http {
  access_log off;
  include /etc/nginx/mime.types;
  server {
    listen 127.0.0.1:$port;
    root $scratch/www;
    location / { try_files \$uri \$uri/ /blog/index.html; }
  }
}
CONF
nginx -p "$scratch" -c nginx.conf
sleep 0.5
record() { # record NAME ROOT_PATH
  {
    echo "# Recorded by deploy/lab/record-negatives.sh from a real nginx on $(date -u +%Y-%m-%d)."
    echo "product: none"
    for path in "$2" /sw.js /__openclaw/control-ui-config.json; do
      echo "-- GET ${path/$2//} --"
      curl -s -i --max-time 5 "http://127.0.0.1:$port$path" | tr -d '\r'
      echo
    done
  } >"$out/$1.txtar"
  echo "recorded $1"
}
record nginx-default /
record blog-mentions-openclaw /blog/

# A honeypot copy of a real 2026.6.10 gateway: Server: Apache on every answer, no CSP.
sed -e 's/^HTTP\/1.1 \(.*\)$/HTTP\/1.1 \1\nServer: Apache\/2.4.58 (Ubuntu)/' -e '/^Content-Security-Policy:/d' \
  -e 's/^# Recorded by .*/# Derived by deploy\/lab\/record-negatives.sh from a real 2026.6.10 recording: a look-alike honeypot./' \
  -e 's/^official: true/official: false\nhoneypot: true/' -e '/^passive_auth:/d; /^# expect:/d; /^advisories:/d; /^flags:/d' \
  "$gw/openclaw-2026.6.10-none.txtar" >"$out/lookalike-server-apache.txtar"
echo "derived lookalike-server-apache"

# A self-built fork of 2026.9.6: same markers and version strings, bundle hashes nobody published.
sed -e 's/index-DsEuFQRE\.js/index-Fork0001.js/g' -e 's/control-ui-core-2cJmD3kZ\.css/control-ui-core-Fork0002.css/g' \
  -e 's/^# Recorded by .*/# Derived by deploy\/lab\/record-negatives.sh from a real 2026.9.6 recording: a self-built fork./' \
  -e 's/^official: true/official: false/' -e '/^passive_auth:/d; /^# expect:/d; /^advisories:/d; /^flags:/d' \
  "$gw/openclaw-2026.9.6-token.txtar" >"$out/fork-unknown-assets.txtar"
echo "derived fork-unknown-assets"

# A decoy of 2026.9.6: the published bundles, but a build id and service worker naming another
# commit, which no release of that version has.
sed -e 's/release-eb377ac59e6c/release-0123456789ab/g' \
  -e 's/^# Recorded by .*/# Derived by deploy\/lab\/record-negatives.sh from a real 2026.9.6 recording: a build naming a commit the release does not have./' \
  -e 's/^official: true/official: false/' -e '/^passive_auth:/d; /^# expect:/d; /^advisories:/d; /^flags:/d' \
  "$gw/openclaw-2026.9.6-none.txtar" >"$out/decoy-wrong-commit.txtar"
echo "derived decoy-wrong-commit"
