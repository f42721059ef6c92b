#!/bin/sh
# image-rootfs.sh ROOTFS BINARY: lay out the clawcensus image under ROOTFS (the Containerfile's
# build stage runs it; deploy/lab/container-check.sh runs it on a local build): the static
# binary with the file capability cap_net_raw+ep (SYN sweeps as an unprivileged user), the
# users clawcensus (65532) and nobody, CA certificates for Postgres over TLS, a /tmp, and the
# home and spool directories owned by clawcensus. Needs root (ownership, setcap).
set -eu
[ $# -eq 2 ] || { echo "usage: image-rootfs.sh ROOTFS BINARY" >&2; exit 2; }
root=$1 bin=$2
install -d -m 0755 "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/etc/clawcensus" "$root/var/lib"
install -d -m 1777 "$root/tmp"
install -d -m 0750 -o 65532 -g 65532 "$root/var/lib/clawcensus" "$root/var/lib/clawcensus/spool"
install -m 0755 "$bin" "$root/usr/local/bin/clawcensus"
setcap cap_net_raw+ep "$root/usr/local/bin/clawcensus"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
  'clawcensus:x:65532:65532:clawcensus:/var/lib/clawcensus:/sbin/nologin' \
  'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' > "$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'clawcensus:x:65532:' 'nogroup:x:65534:' > "$root/etc/group"
