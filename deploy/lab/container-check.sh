#!/usr/bin/env bash
# container-check.sh: build the image of deploy/Containerfile from this checkout and run it
# sealed, as the deploy files run it. Not part of make test (it needs root, podman and a few
# minutes); run it after changing deploy/Containerfile or deploy/image-rootfs.sh:
#   apt-get install podman runc && sudo deploy/lab/container-check.sh
# Base images cannot be pulled everywhere, so the build stage is replaced by a local static build
# laid out by the same deploy/image-rootfs.sh (podman build --build-context build=DIR); the
# final stage is the Containerfile's own. Every container runs with --network none: its own
# loopback, nothing else. It checks that
#   1. the image runs as uid 65532 and its binary carries cap_net_raw+ep;
#   2. with NET_RAW allowed (as compose.yaml and the Kubernetes manifests allow it), that user
#      sweeps with SYN and finds an open port (the web view of a store, served by a container
#      whose network namespace the scan joins);
#   3. without NET_RAW the kernel refuses to start the binary (the documented failure).
# PODMAN_OPTS adds global podman options, RUN_OPTS options of podman run: where crun cannot use
# this host's cgroups (hybrid v1) or raise its limits, say
#   PODMAN_OPTS="--runtime runc" RUN_OPTS="--ulimit nofile=4096:4096 --ulimit nproc=4096:4096"
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v podman >/dev/null || { echo "container-check: needs podman (apt-get install podman)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "container-check: needs root (setcap, the image's file ownership)" >&2; exit 1; }
read -r -a pod_opts <<< "${PODMAN_OPTS:-}"
read -r -a run_opts <<< "${RUN_OPTS:-}"
pm() { podman "${pod_opts[@]}" "$@"; }
tag=localhost/clawcensus-check:$$
name=clawcensus-check-$$
work=$(mktemp -d)
cleanup() {
  pm rm -f -v "$name-web" >/dev/null 2>&1 || true
  pm volume rm -f "$name" >/dev/null 2>&1 || true
  pm image umount "$tag" >/dev/null 2>&1 || true
  pm rmi -f "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "container-check: FAIL: $*" >&2; exit 1; }

CGO_ENABLED=0 go build -trimpath -o "$work/clawcensus" ./cmd/clawcensus
deploy/image-rootfs.sh "$work/rootfs" "$work/clawcensus"
pm build -q --build-context build="$work" -f deploy/Containerfile -t "$tag" . >/dev/null

# 1. The user, and the file capability as the image holds it.
user=$(pm image inspect "$tag" --format '{{.Config.User}}')
[ "$user" = 65532:65532 ] || fail "the image runs as $user, want 65532:65532"
mnt=$(pm image mount "$tag")
caps=$(getcap "$mnt/usr/local/bin/clawcensus")
pm image umount "$tag" >/dev/null
case $caps in *cap_net_raw=ep*) ;; *) fail "the image's binary has capabilities '$caps', want cap_net_raw=ep" ;; esac
echo "ok: the image runs as 65532, its binary has cap_net_raw=ep"

# 2. The web view of a store listens on a loopback of its own; a SYN scan joins it there.
run() { pm run "${run_opts[@]}" --cap-drop ALL -e CLAWCENSUS_SCOPE=127.0.0.0/8 "$@"; }
run --rm --network none --cap-add NET_RAW -v "$name:/var/lib/clawcensus/data:U" "$tag" migrate --db /var/lib/clawcensus/data/web.db >/dev/null
run -d --name "$name-web" --network none --cap-add NET_RAW -v "$name:/var/lib/clawcensus/data:U" "$tag" \
  serve --db /var/lib/clawcensus/data/web.db --listen 127.0.0.1:8080 >/dev/null
for _ in $(seq 100); do pm logs "$name-web" 2>&1 | grep -q '^serving' && break; sleep 0.1; done
out=$(run --rm --network "container:$name-web" --cap-add NET_RAW "$tag" \
  scan --lab --scan-type syn --ports 8079-8081 --format table --db scan.db 127.0.0.1 2>&1) ||
  fail "SYN scan as 65532 with NET_RAW: $out"
grep -q 'raw_sockets=true' <<< "$out" || fail "no raw sockets: $out"
grep -q 'method=syn' <<< "$out" || fail "not a SYN sweep: $out"
grep -q 'open 1,' <<< "$out" || fail "the SYN sweep did not find the one open port: $out"
echo "ok: as 65532 with NET_RAW, a SYN sweep found the open port"

# 3. Without NET_RAW the binary does not start.
if out=$(run --rm --network none "$tag" --version 2>&1); then
  fail "started without NET_RAW: $out"
fi
grep -qi 'operation not permitted' <<< "$out" || fail "without NET_RAW: $out"
echo "ok: without NET_RAW the kernel refuses to start the binary, as documented"
