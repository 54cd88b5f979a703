#!/usr/bin/env bash
# Starts the real servers that adapter and system tests use (InfluxDB 1.x, Mosquitto 2, PostgreSQL 15, Redis 7) on
# free loopback ports under a temporary directory, and tells the tests where they are through environment variables.
#
#   bash scripts/test-services.sh run <command...>   start, run the command, always stop; exits with its code
#   bash scripts/test-services.sh start [envfile]    start and write `export` lines to envfile, leave running
#   bash scripts/test-services.sh stop [envfile]     stop what `start` started and remove its files
#   bash scripts/test-services.sh boot-check          list test-service daemons enabled at boot; exit 1 if any
#   bash scripts/test-services.sh disable-at-boot <service...>   take them out of the boot sequence
#
# Exported to the command (or written to the env file):
#   INFLUX_URL                 http://127.0.0.1:<port>   (InfluxDB 1.x: /write, /query; no auth)
#   INFLUX_BACKUP_HOST         127.0.0.1:<port>          (its RPC address, for influxd backup/restore -host)
#   INFLUX_PID                 influxd's process id (the replicas bench reads its CPU time)
#   MOSQUITTO_URL              mqtt://127.0.0.1:<port>
#   MOSQUITTO_HUB_USERNAME, MOSQUITTO_HUB_PASSWORD   a user that may read and write everything under pb/
#   MOSQUITTO_PASSWD_FILE      add agent users with `mosquitto_passwd -b "$MOSQUITTO_PASSWD_FILE" id secret`
#   MOSQUITTO_PID              then `kill -HUP "$MOSQUITTO_PID"` makes Mosquitto reload users and ACL
#   PG_URL                     postgres://pulsebridge:<password>@127.0.0.1:<port>/pulsebridge (owner of that db)
#   REDIS_URL                  redis://127.0.0.1:<port> (no password; persistence off)
#   PB_TEST_SERVICES_DIR       the temporary directory (configs, data, logs)
#
# A service that cannot be installed or started is reported on stderr and its variables are left unset:
# the tests that need it then report themselves as skipped. Loopback only; no Docker. Daemons it installs
# (InfluxDB, Mosquitto, PostgreSQL, Redis, Prometheus) are not left enabled at boot. It also installs programs
# that tests start themselves and that never run at boot: Debian's chromium for the browser tests (test/web),
# prometheus, promtool and amtool for the monitoring tests, kubectl (kubernetes-client) to render the manifests.
set -uo pipefail

readonly WAIT_SECONDS="${PB_TEST_SERVICES_WAIT_SECONDS:-30}"
# Debian's PostgreSQL 15 server binaries: not on PATH (only postgresql-common's wrappers are).
readonly PG_BIN="${PB_TEST_SERVICES_PG_BIN:-/usr/lib/postgresql/15/bin}"
readonly DEFAULT_ENV_FILE="${TMPDIR:-/tmp}/pulsebridge-test-services.env"

say() { printf 'test-services: %s\n' "$*" >&2; }

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
}

run_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

# Installs the Debian packages whose commands are missing. `apt-get update` runs only when something is
# missing, and once. Packages are retried one by one so one that fails does not block the others.
ensure_packages() {
  local missing=()
  command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
  { command -v mosquitto >/dev/null 2>&1 && command -v mosquitto_passwd >/dev/null 2>&1; } || missing+=(mosquitto)
  command -v socat >/dev/null 2>&1 || missing+=(socat)
  # libfaketime: test/clock-faketime.test.ts runs an agent whose wall clock is hours off.
  command -v faketime >/dev/null 2>&1 || missing+=(faketime)
  # Chromium: test/web/*.test.ts drive the web app with playwright-core (a program, not a service: nothing starts at boot).
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  { [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/initdb" ]; } || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # Prometheus and promtool: test/monitoring runs Prometheus against a hub and checks the alert rules.
  { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus)
  # amtool checks the Alertmanager configuration (test/monitoring); its daemon is never started.
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  # kubectl renders deploy/kubernetes with its built-in kustomize (test/deploy).
  command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing ${missing[*]} and apt-get is not available: install them by hand"
    return 0
  fi
  say "installing ${missing[*]} with apt-get"
  if ! run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; then
    say "apt-get update failed (not root and no passwordless sudo, or no network)"
  fi
  # policy-rc.d answering 101 keeps the packages' postinst from starting system-wide daemons on the
  # default ports; only add it when the machine has none, and remove it afterwards.
  local added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ] && run_as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d' 2>/dev/null; then
    added_policy=1
  fi
  local daemons_before
  daemons_before="$(installed_boot_daemons)"
  if ! run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    local pkg
    for pkg in "${missing[@]}"; do
      run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2 ||
        say "could not install $pkg"
    done
  fi
  [ "$added_policy" -eq 1 ] && run_as_root rm -f /usr/sbin/policy-rc.d
  keep_out_of_boot "$daemons_before"
  return 0
}

# --- boot enablement ------------------------------------------------------------------------------------
# A daemon package's postinst enables it at boot (systemd wants-links, SysV rc links) even while policy-rc.d
# keeps it from starting now; test services must only ever run when this script starts them.
readonly BOOT_DAEMONS="influxdb mosquitto postgresql redis-server prometheus prometheus-alertmanager"
# Tests point this at a directory laid out like / to check the boot handling without touching the machine.
readonly SYSROOT="${PB_TEST_SERVICES_SYSROOT:-}"

# installed_boot_daemons: the BOOT_DAEMONS whose package is installed, one per line.
installed_boot_daemons() {
  local daemon
  for daemon in $BOOT_DAEMONS; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$daemon" 2>/dev/null)" = installed ] && printf '%s\n' "$daemon"
  done
  return 0
}

# boot_links <service>: the links that start it at boot, one per line.
boot_links() {
  local link
  for link in "$SYSROOT"/etc/systemd/system/*.wants/"$1".service "$SYSROOT"/etc/rc[2-5S].d/S[0-9][0-9]"$1"; do
    if [ -L "$link" ] || [ -e "$link" ]; then printf '%s\n' "$link"; fi
  done
  return 0
}

# disable_at_boot <service...>: systemctl (which also runs update-rc.d) on the real system, then removes any
# start link that is left, e.g. where systemctl is missing or cannot run.
disable_at_boot() {
  local service link
  for service in "$@"; do
    [ -n "$(boot_links "$service")" ] || continue
    if [ -z "$SYSROOT" ]; then
      command -v systemctl >/dev/null 2>&1 && run_as_root systemctl disable --quiet "$service.service" >/dev/null 2>&1
      command -v update-rc.d >/dev/null 2>&1 && run_as_root update-rc.d "$service" disable >/dev/null 2>&1
    fi
    while IFS= read -r link; do
      if [ -n "$SYSROOT" ]; then rm -f "$link"; else run_as_root rm -f "$link"; fi
    done < <(boot_links "$service")
    say "$service: taken out of the boot sequence"
  done
  return 0
}

# check_not_enabled_at_boot <service...>: names every one still enabled at boot; fails if any is.
check_not_enabled_at_boot() {
  local service links status=0
  for service in "$@"; do
    links="$(boot_links "$service")"
    [ -n "$links" ] || continue
    say "$service is enabled at boot: $(printf '%s ' $links)(run: $0 disable-at-boot $service)"
    status=1
  done
  return "$status"
}

# keep_out_of_boot <daemons installed before>: disables the daemons this run installed and checks them.
keep_out_of_boot() {
  local before="$1" daemon new=()
  for daemon in $(installed_boot_daemons); do
    printf '%s\n' "$before" | grep -qx "$daemon" || new+=("$daemon")
  done
  [ "${#new[@]}" -gt 0 ] || return 0
  disable_at_boot "${new[@]}"
  check_not_enabled_at_boot "${new[@]}" || say "could not take every daemon this script installed out of the boot sequence"
  return 0
}

free_port() {
  node -e "const s=require('node:net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

tcp_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_until <what> <pid> <command...>: polls the command until it succeeds, the process dies or time runs out.
wait_until() {
  local what="$1" pid="$2"
  shift 2
  local deadline=$((SECONDS + WAIT_SECONDS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "$what exited while starting"
      return 1
    fi
    "$@" && return 0
    sleep 0.2
  done
  say "timed out after ${WAIT_SECONDS}s waiting for $what to answer"
  return 1
}

# started <what> <pid> <log> <probe command...>: waits for the service to answer; when it does not, shows
# the end of its log and stops it.
started() {
  local what="$1" pid="$2" log="$3"
  shift 3
  wait_until "$what" "$pid" "$@" && return 0
  tail -n 20 "$log" >&2
  stop_pid "$pid"
  return 1
}

influx_pinged() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/ping" 2>/dev/null
}

start_influx() {
  command -v influxd >/dev/null 2>&1 || { say "influxd not available: INFLUX_URL stays unset"; return 1; }
  local dir="$SERVICES_DIR/influxdb" http_port rpc_port
  mkdir -p "$dir/meta" "$dir/data" "$dir/wal"
  http_port="$(free_port)" && rpc_port="$(free_port)" || { say "no free port for InfluxDB"; return 1; }
  cat >"$dir/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:${rpc_port}"

[meta]
  dir = "${dir}/meta"

[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${http_port}"
  auth-enabled = false
  log-enabled = false
  max-body-size = 0

[logging]
  level = "warn"

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
EOF
  influxd -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
  INFLUX_PID=$!
  started "InfluxDB on 127.0.0.1:${http_port}" "$INFLUX_PID" "$dir/influxd.log" influx_pinged "$http_port" || { INFLUX_PID=""; return 1; }
  export INFLUX_URL="http://127.0.0.1:${http_port}"
  # The RPC address `influxd backup -host` and `influxd restore -host` talk to (docs/operations.md).
  export INFLUX_BACKUP_HOST="127.0.0.1:${rpc_port}"
  export INFLUX_PID
  say "InfluxDB $(influxd version 2>/dev/null | head -n 1) at $INFLUX_URL"
}

start_mosquitto() {
  { command -v mosquitto >/dev/null 2>&1 && command -v mosquitto_passwd >/dev/null 2>&1; } ||
    { say "mosquitto not available: MOSQUITTO_URL stays unset"; return 1; }
  local dir="$SERVICES_DIR/mosquitto" port password
  mkdir -p "$dir"
  port="$(free_port)" || { say "no free port for Mosquitto"; return 1; }
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  ( umask 077 && : >"$dir/passwd" )
  mosquitto_passwd -b "$dir/passwd" hub "$password" >/dev/null || { say "mosquitto_passwd failed"; return 1; }
  # Agents get the production ACL (deploy/mosquitto/agents.acl) when the repository has it: each may only
  # touch its own topics, its username being its agent id. The hub account may do anything under pb/.
  local agents_acl
  agents_acl="$(cd "$(dirname "$0")/.." && pwd)/deploy/mosquitto/agents.acl"
  {
    if [ -f "$agents_acl" ]; then
      cat "$agents_acl"
    else
      echo 'pattern readwrite pb/v1/%u/#'
    fi
    printf '\nuser hub\ntopic readwrite pb/#\n'
  } >"$dir/acl"
  chmod 600 "$dir/acl"
  # As root, Mosquitto would switch to the `mosquitto` user and could no longer read these root-owned
  # files, nor the password file after a test rewrites it with mosquitto_passwd.
  local user_line=""
  [ "$(id -u)" -eq 0 ] && user_line="user root"
  cat >"$dir/mosquitto.conf" <<EOF
${user_line}
listener ${port} 127.0.0.1
allow_anonymous false
password_file ${dir}/passwd
acl_file ${dir}/acl
persistence false
log_dest stderr
log_type error
log_type warning
EOF
  mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
  MOSQUITTO_PID=$!
  started "Mosquitto on 127.0.0.1:${port}" "$MOSQUITTO_PID" "$dir/mosquitto.log" tcp_open "$port" || { MOSQUITTO_PID=""; return 1; }
  export MOSQUITTO_URL="mqtt://127.0.0.1:${port}"
  export MOSQUITTO_HUB_USERNAME=hub
  export MOSQUITTO_HUB_PASSWORD="$password"
  export MOSQUITTO_PASSWD_FILE="$dir/passwd"
  export MOSQUITTO_PID
  say "Mosquitto $(mosquitto -h 2>/dev/null | head -n 1 | sed 's/.*version //') at $MOSQUITTO_URL"
}

redis_answers() {
  [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

start_redis() {
  command -v redis-server >/dev/null 2>&1 || { say "redis-server not available: REDIS_URL stays unset"; return 1; }
  local dir="$SERVICES_DIR/redis" port
  mkdir -p "$dir"
  port="$(free_port)" || { say "no free port for Redis"; return 1; }
  # No snapshots and no append-only file: test data need not survive the run.
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no --daemonize no \
    --loglevel warning --logfile "$dir/redis.log" >/dev/null 2>&1 &
  REDIS_PID=$!
  started "Redis on 127.0.0.1:${port}" "$REDIS_PID" "$dir/redis.log" redis_answers "$port" || { REDIS_PID=""; return 1; }
  export REDIS_URL="redis://127.0.0.1:${port}"
  say "Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') at $REDIS_URL"
}

# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user (the Debian package
# creates it), otherwise to the current user.
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_answers() {
  as_pg_owner "$PG_BIN/pg_isready" -q -h "$1" -p "$2" 2>/dev/null
}

start_postgres() {
  { [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/initdb" ]; } || { say "PostgreSQL not found in $PG_BIN: PG_URL stays unset"; return 1; }
  local dir="$SERVICES_DIR/postgres" port password
  mkdir -p "$dir"
  # mktemp -d makes the services dir private to its creator; the postgres user must reach its own folder.
  chmod 711 "$SERVICES_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir" || return 1; fi
  port="$(free_port)" || { say "no free port for PostgreSQL"; return 1; }
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  as_pg_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { tail -n 20 "$dir/initdb.log" >&2; say "initdb failed: PG_URL stays unset"; return 1; }
  # Trust on the unix socket, which only the cluster's owner can reach; a password over TCP, as in production.
  printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$dir/data/pg_hba.conf"
  # Durability off: test data need not survive a power loss, and the suite stays fast on a busy disk.
  as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -s -w -t "$WAIT_SECONDS" \
    -o "-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null 2>&1 || { tail -n 20 "$dir/postgres.log" >&2; say "PostgreSQL did not start: PG_URL stays unset"; return 1; }
  POSTGRES_DATA="$dir/data"
  POSTGRES_PID="$(head -n 1 "$dir/data/postmaster.pid")"
  started "PostgreSQL on 127.0.0.1:${port}" "$POSTGRES_PID" "$dir/postgres.log" pg_answers "$dir" "$port" || { stop_postgres; return 1; }
  printf "CREATE ROLE pulsebridge LOGIN PASSWORD '%s';\nCREATE DATABASE pulsebridge OWNER pulsebridge;\n" "$password" |
    as_pg_owner "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres >/dev/null ||
    { say "could not create the PostgreSQL test user: PG_URL stays unset"; stop_postgres; return 1; }
  export PG_URL="postgres://pulsebridge:${password}@127.0.0.1:${port}/pulsebridge"
  say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') at postgres://127.0.0.1:${port}/pulsebridge"
}

# stop_postgres: a fast shutdown through pg_ctl, which waits for every backend to go; the pid as a last resort.
stop_postgres() {
  [ -n "${POSTGRES_PID:-}" ] || return 0
  if [ -n "${POSTGRES_DATA:-}" ] && [ -d "$POSTGRES_DATA" ]; then
    as_pg_owner "$PG_BIN/pg_ctl" -D "$POSTGRES_DATA" -m fast -s -w -t 10 stop >/dev/null 2>&1
  fi
  stop_pid "$POSTGRES_PID"
  POSTGRES_PID=""
}

# stop_pid <pid>: SIGTERM, then SIGKILL if it has not gone within 5 s.
stop_pid() {
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
}

start_services() {
  SERVICES_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pulsebridge-services.XXXXXX")" || { say "cannot create a temp dir"; exit 1; }
  export PB_TEST_SERVICES_DIR="$SERVICES_DIR"
  INFLUX_PID=""
  MOSQUITTO_PID=""
  POSTGRES_PID=""
  POSTGRES_DATA=""
  REDIS_PID=""
  ensure_packages
  start_influx || true
  start_mosquitto || true
  start_postgres || true
  start_redis || true
}

stop_services() {
  stop_pid "${MOSQUITTO_PID:-}"
  stop_pid "${INFLUX_PID:-}"
  stop_pid "${REDIS_PID:-}"
  stop_postgres
  [ -n "${SERVICES_DIR:-}" ] && [ -d "$SERVICES_DIR" ] && rm -rf "$SERVICES_DIR"
  SERVICES_DIR=""
}

cmd_run() {
  [ "$#" -gt 0 ] || usage
  trap stop_services EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start_services
  # In the background so that a TERM or INT reaches the command at once and the services are stopped as
  # soon as it has gone; bash would hold the signal until a foreground command finished. `<&0` keeps stdin.
  "$@" <&0 &
  local child=$!
  trap 'kill -TERM "$child" 2>/dev/null' TERM
  trap 'kill -INT "$child" 2>/dev/null' INT
  local rc=0
  while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  exit "$rc"
}

cmd_start() {
  local env_file="${1:-$DEFAULT_ENV_FILE}"
  if [ -f "$env_file" ]; then
    say "$env_file exists: services already started? run 'stop' first"
    exit 1
  fi
  start_services
  {
    printf 'export PB_TEST_SERVICES_DIR=%q\n' "$SERVICES_DIR"
    [ -n "$INFLUX_PID" ] && printf 'export INFLUX_URL=%q\nexport INFLUX_BACKUP_HOST=%q\nexport INFLUX_PID=%q\nPB_TEST_SERVICES_INFLUX_PID=%q\n' "$INFLUX_URL" "$INFLUX_BACKUP_HOST" "$INFLUX_PID" "$INFLUX_PID"
    if [ -n "$MOSQUITTO_PID" ]; then
      printf 'export MOSQUITTO_URL=%q\nexport MOSQUITTO_HUB_USERNAME=%q\nexport MOSQUITTO_HUB_PASSWORD=%q\n' \
        "$MOSQUITTO_URL" "$MOSQUITTO_HUB_USERNAME" "$MOSQUITTO_HUB_PASSWORD"
      printf 'export MOSQUITTO_PASSWD_FILE=%q\nexport MOSQUITTO_PID=%q\n' "$MOSQUITTO_PASSWD_FILE" "$MOSQUITTO_PID"
    fi
    if [ -n "$POSTGRES_PID" ]; then
      printf 'export PG_URL=%q\nPB_TEST_SERVICES_POSTGRES_PID=%q\nPB_TEST_SERVICES_POSTGRES_DATA=%q\n' \
        "$PG_URL" "$POSTGRES_PID" "$POSTGRES_DATA"
    fi
    [ -n "$REDIS_PID" ] && printf 'export REDIS_URL=%q\nPB_TEST_SERVICES_REDIS_PID=%q\n' "$REDIS_URL" "$REDIS_PID"
  } >"$env_file"
  chmod 600 "$env_file"
  say "services left running; 'source $env_file' to use them, '$0 stop $env_file' to stop them"
}

cmd_stop() {
  local env_file="${1:-$DEFAULT_ENV_FILE}"
  [ -f "$env_file" ] || { say "no $env_file: nothing to stop"; exit 0; }
  local PB_TEST_SERVICES_INFLUX_PID="" MOSQUITTO_PID="" PB_TEST_SERVICES_DIR=""
  local PB_TEST_SERVICES_POSTGRES_PID="" PB_TEST_SERVICES_POSTGRES_DATA="" PB_TEST_SERVICES_REDIS_PID=""
  # shellcheck disable=SC1090
  . "$env_file"
  INFLUX_PID="$PB_TEST_SERVICES_INFLUX_PID"
  POSTGRES_PID="$PB_TEST_SERVICES_POSTGRES_PID"
  POSTGRES_DATA="$PB_TEST_SERVICES_POSTGRES_DATA"
  REDIS_PID="$PB_TEST_SERVICES_REDIS_PID"
  SERVICES_DIR="$PB_TEST_SERVICES_DIR"
  case "$SERVICES_DIR" in
    "${TMPDIR:-/tmp}"/pulsebridge-services.*) ;;
    *) say "$env_file names an unexpected directory '$SERVICES_DIR': not removing it"; SERVICES_DIR="" ;;
  esac
  stop_services
  rm -f "$env_file"
}

# Sourced (by test/test-services.test.ts), it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    run) shift; cmd_run "$@" ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    boot-check) shift; check_not_enabled_at_boot ${BOOT_DAEMONS} ;;
    disable-at-boot) shift; [ "$#" -gt 0 ] || usage; disable_at_boot "$@"; check_not_enabled_at_boot "$@" ;;
    *) usage ;;
  esac
fi
