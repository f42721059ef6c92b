#!/usr/bin/env bash
# tools.sh DIR: the peer tools of the side-by-side benchmark. zmap and masscan come from Debian's
# packages; the naabu CLI v2.6.1 (which needs libpcap-dev), the httpx CLI v1.8.1 and the zgrab2
# CLI v0.2.0 are built into DIR from the Go module proxy, in modules of their own (the proxy
# serves exact versions but refuses to list them, so `go install …@version` cannot be used).
set -euo pipefail
dir=${1:?usage: tools.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
need=()
command -v zmap >/dev/null || need+=(zmap)
command -v masscan >/dev/null || need+=(masscan)
command -v ethtool >/dev/null || need+=(ethtool)
command -v nft >/dev/null || need+=(nftables)
[ -e /usr/include/pcap.h ] || need+=(libpcap-dev)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -x "$dir/naabu" ] && [ -x "$dir/httpx" ] && [ -x "$dir/zgrab2" ]; then exit 0; fi
mod=$(mktemp -d)
trap 'rm -rf "$mod"' EXIT
# zgrab2 in a module apart: its dependencies are not httpx's.
[ -x "$dir/zgrab2" ] || (
  mkdir "$mod/zgrab2" && cd "$mod/zgrab2"
  go mod init benchzgrab2 >/dev/null 2>&1
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/zmap/zgrab2/cmd/zgrab2"\n' >tools.go
  GOFLAGS= go get github.com/zmap/zgrab2@v0.2.0 >/dev/null
  GOFLAGS= go mod tidy >/dev/null
  GOFLAGS= go build -o "$dir/zgrab2" github.com/zmap/zgrab2/cmd/zgrab2
)
if [ -x "$dir/naabu" ] && [ -x "$dir/httpx" ]; then
  echo "tools in $dir: naabu v2.6.1, httpx v1.8.1, zgrab2 v0.2.0"
  exit 0
fi
cd "$mod"
go mod init benchtools >/dev/null 2>&1
cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "github.com/projectdiscovery/httpx/cmd/httpx"
	_ "github.com/projectdiscovery/naabu/v2/cmd/naabu"
)
GO
GOFLAGS= go get github.com/projectdiscovery/naabu/v2@v2.6.1 github.com/projectdiscovery/httpx@v1.8.1 >/dev/null
GOFLAGS= go mod tidy >/dev/null
GOFLAGS= go build -o "$dir/naabu" github.com/projectdiscovery/naabu/v2/cmd/naabu
GOFLAGS= go build -o "$dir/httpx" github.com/projectdiscovery/httpx/cmd/httpx
echo "tools in $dir: naabu v2.6.1, httpx v1.8.1, zgrab2 v0.2.0"
