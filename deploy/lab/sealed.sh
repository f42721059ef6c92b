#!/usr/bin/env bash
# sealed.sh CMD [ARG...]: run CMD inside a new network namespace whose only interface is
# loopback, so nothing it starts can send a packet off this machine, whatever a bug makes
# it try. make test runs the whole suite this way.
#
# As root: unshare -n. As another user: an unprivileged user namespace (unshare -rn) when the
# kernel allows one; the suite then sees uid 0 without real privileges, so CLAWCENSUS_USERNS=1
# tells the tests that need real root (namespaces, raw sockets) to say why they skip.
# Where neither works, it refuses rather than run unsealed.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: sealed.sh CMD [ARG...]" >&2; exit 2; }

if [ "${CLAWCENSUS_SEALED:-}" = 1 ]; then
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
  exec unshare --net env CLAWCENSUS_SEALED=1 "$0" "$@"
fi
if unshare --user --map-root-user --net true 2>/dev/null; then
  exec unshare --user --map-root-user --net env CLAWCENSUS_SEALED=1 CLAWCENSUS_USERNS=1 "$0" "$@"
fi
echo "sealed.sh: cannot make a network namespace (not root, no unprivileged user namespaces);" >&2
echo "  the suite runs only sealed: run it as root, or 'make test-short' for the unit tests" >&2
exit 1
