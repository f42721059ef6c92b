#!/usr/bin/env bash
# pg-throwaway.sh start DIR | stop DIR | pause DIR
# A throwaway PostgreSQL cluster for tests: initdb in DIR, listening only on a unix socket in
# DIR (no TCP), trust auth. "start" prints the TEST_DATABASE_URL to use. Uses the system's
# PostgreSQL binaries (Debian: postgresql-15, in /usr/lib/postgresql/15/bin). As root, the
# cluster runs as the "postgres" user, since PostgreSQL refuses to run as root.
set -euo pipefail
cmd=${1:?usage: pg-throwaway.sh start|stop DIR}
dir=${2:?usage: pg-throwaway.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg-throwaway: no PostgreSQL server binaries found; install them: apt-get install postgresql" >&2
  exit 1
fi
as=()
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  as=(runuser -u postgres --)
  user=postgres
fi
case $cmd in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U "$user" -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "postgres:///postgres?host=$dir&user=$user"
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  rm -rf "$dir"
  ;;
pause)
  # Stop the server but keep its data: "start DIR" brings the same cluster back (tests of a
  # database that goes away mid-run).
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
*)
  echo "usage: pg-throwaway.sh start|stop|pause DIR" >&2
  exit 2
  ;;
esac
