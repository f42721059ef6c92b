#!/usr/bin/env bash
# sealed.sh CMD [ARG...]: run CMD inside a new network namespace whose only interface is
# loopback, so nothing it starts can send a packet off this machine, whatever a bug makes
# it try. make test runs the whole suite this way.
#
# As root: unshare -n, and -m so that the network namespaces of this machine are out of reach
# too: inside, /run/netns is a fresh tmpfs (ip netns exec finds only namespaces made inside) and
# every other handle on a namespace (an nsfs mount) is unmounted; mounts made inside stay inside.
# As another user: an unprivileged user namespace (unshare -rmn) when the kernel allows one,
# which may not enter this machine's namespaces anyway; the suite then sees uid 0 without real
# privileges, so CLAWCENSUS_USERNS=1 tells the tests that need real root (namespaces, raw
# sockets) to say why they skip. Where neither works, it refuses rather than run unsealed.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: sealed.sh CMD [ARG...]" >&2; exit 2; }

# The second stage, in the new namespaces: an argument, not the environment (CLAWCENSUS_SEALED
# is inherited, and a sealed.sh started from inside must make namespaces of its own).
if [ "$1" = --inside ]; then
  shift
  [ $# -gt 0 ] || { echo "usage: sealed.sh CMD [ARG...]" >&2; exit 2; }
  # Only in a mount namespace of its own: never hide the namespaces of the machine from itself.
  if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
    echo "sealed.sh: --inside outside a mount namespace of its own; refusing" >&2
    exit 1
  fi
  if [ -z "${CLAWCENSUS_USERNS:-}" ]; then
    # Deepest first (a mount point with a space reads \040 in mountinfo).
    awk '{for (i = 7; i < NF; i++) if ($i == "-") { if ($(i+1) == "nsfs") print $5; break }}' /proc/self/mountinfo |
      awk '{print length, $0}' | sort -rn | cut -d' ' -f2- | while read -r m; do
        umount -l "$(printf '%b' "$m")"
      done
    mkdir -p /run/netns
    mount -t tmpfs -o size=1m,mode=0755 sealed-netns /run/netns
  elif [ -d /run/netns ]; then
    # A user namespace cannot enter them anyway; hide their names where the kernel lets it.
    mount -t tmpfs -o size=1m,mode=0755 sealed-netns /run/netns 2>/dev/null || true
  fi
  ip link set lo up
  # (not /sys/class/net: sysfs shows the namespace that mounted it)
  ifaces=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
  if [ "$ifaces" != "lo " ]; then
    echo "sealed.sh: the namespace has interfaces besides loopback: $ifaces" >&2
    exit 1
  fi
  # Every route in every table must be through loopback.
  if routes=$( { ip -4 route show table all; ip -6 route show table all; } | grep -v ' dev lo\b'); then
    echo "sealed.sh: the namespace has a route off the machine: $routes" >&2
    exit 1
  fi
  exec "$@"
fi

command -v unshare >/dev/null && command -v ip >/dev/null ||
  { echo "sealed.sh: needs unshare (util-linux) and ip (iproute2)" >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then
  exec unshare --net --mount --propagation private env CLAWCENSUS_SEALED=1 "$0" --inside "$@"
fi
if unshare --user --map-root-user --net --mount true 2>/dev/null; then
  exec unshare --user --map-root-user --net --mount env CLAWCENSUS_SEALED=1 CLAWCENSUS_USERNS=1 "$0" --inside "$@"
fi
echo "sealed.sh: cannot make a network namespace (not root, no unprivileged user namespaces);" >&2
echo "  the suite runs only sealed: run it as root, or 'make test-short' for the unit tests" >&2
exit 1
