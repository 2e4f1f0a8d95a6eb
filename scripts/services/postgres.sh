#!/usr/bin/env bash
# A throwaway PostgreSQL for Berth's tests and benchmarks: a private cluster (initdb) under DIR,
# listening on 127.0.0.1 on a free port, so tests never collide with a cluster of the machine's
# own or with each other. Debian package: postgresql (any major version; the newest found is used).
#
#   scripts/services/postgres.sh start DIR   # creates DIR, prints `export` lines, writes DIR/env
#   scripts/services/postgres.sh stop DIR    # stops the server started from DIR, deletes DIR
#
# DIR/env holds BERTH_TEST_POSTGRES_URL (postgres://berth:PASSWORD@127.0.0.1:PORT/berth): a
# role that logs in over TCP with a password (scram-sha-256), owning its database. Durability is
# off (fsync, synchronous_commit): this server holds nothing worth keeping, and tests run faster.
# PostgreSQL refuses to run as root; as root, the server runs as the `postgres` system user (then
# DIR's parents must be searchable by it: /tmp is).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
(($# == 2)) || usage
action=$1
dir=$2

log() { echo "postgres: $*" >&2; }

bindir() {
  local found
  found=$(find /usr/lib/postgresql -maxdepth 3 -name initdb -path '*/bin/*' 2>/dev/null | sort -V | tail -n 1)
  if [[ -z $found ]]; then
    found=$(command -v initdb || true)
  fi
  [[ -n $found ]] || {
    log "initdb not found (install the postgresql package)"
    exit 1
  }
  dirname "$found"
}

# The prefix that runs a command as the user who owns the cluster.
owner=()
[[ $(id -u) -ne 0 ]] || owner=(runuser -u postgres --)

stop() {
  [[ -d $dir ]] || return 0
  if [[ -f $dir/data/postmaster.pid ]]; then
    local pid
    pid=$(head -n 1 "$dir/data/postmaster.pid")
    # Fast shutdown: SIGINT to the postmaster (what `pg_ctl stop -m fast` sends).
    if kill -INT "$pid" 2>/dev/null; then
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}

start() {
  local begin
  begin=$(date +%s.%N)
  if [[ -e $dir ]]; then
    log "$dir exists; stop it first"
    exit 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
  local bin port password
  bin=$(bindir)
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  "${owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 200
EOF
  timeout 60 "${owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null || {
    cat "$dir/server.log" >&2
    exit 1
  }
  timeout 30 "${owner[@]}" "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<EOF
CREATE ROLE berth LOGIN PASSWORD '$password';
CREATE DATABASE berth OWNER berth;
EOF
  echo "export BERTH_TEST_POSTGRES_URL=postgres://berth:$password@127.0.0.1:$port/berth" >"$dir/env"
  local end
  end=$(date +%s.%N)
  log "ready on 127.0.0.1:$port in $(awk "BEGIN { printf \"%.1f\", $end - $begin }") s"
  cat "$dir/env"
}

case $action in
  start)
    # A failed start leaves no server behind.
    trap 'status=$?; if ((status != 0)); then stop; fi' EXIT
    start
    ;;
  stop) stop ;;
  *) usage ;;
esac
