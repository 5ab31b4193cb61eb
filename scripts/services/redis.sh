#!/usr/bin/env bash
# Redis for the lease and rate-limiter backends and their tests.
#   install  apt-get install redis-server (only when redis-server is missing)
#   start    start a throw-away server on 127.0.0.1:6379 (no persistence); no-op when it already answers PING
#   stop     shut down the server this script started (SHUTDOWN NOSAVE, then wait for the pidfile to go)
#   env      print the export line the tests read
set -euo pipefail

HOST=127.0.0.1
PORT="${AUTONOMIC_REDIS_PORT:-6379}"
STATE_DIR="${AUTONOMIC_REDIS_DIR:-${TMPDIR:-/tmp}/autonomic-redis-$PORT}"
PIDFILE="$STATE_DIR/redis.pid"
LOGFILE="$STATE_DIR/redis.log"

ping_ok() {
  redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null | grep -q PONG
}

wait_until() { # wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or the deadline passes
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.1
  done
}

cmd_install() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
}

cmd_start() {
  if ping_ok; then
    return 0
  fi
  command -v redis-server >/dev/null 2>&1 || cmd_install
  mkdir -p "$STATE_DIR"
  # Options on the command line: /etc/redis/redis.conf is written for the systemd unit.
  redis-server --bind "$HOST" --port "$PORT" --daemonize yes --save '' --appendonly no \
    --dir "$STATE_DIR" --pidfile "$PIDFILE" --logfile "$LOGFILE"
  if ! wait_until 15 ping_ok; then
    echo "redis did not answer PING on $HOST:$PORT within 15 s; log: $LOGFILE" >&2
    tail -n 20 "$LOGFILE" >&2 || true
    exit 1
  fi
}

cmd_stop() {
  if ! ping_ok; then
    return 0
  fi
  if [ ! -e "$PIDFILE" ]; then
    echo "redis on $HOST:$PORT was not started by this script (no $PIDFILE); leaving it running" >&2
    return 0
  fi
  redis-cli -h "$HOST" -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  # SHUTDOWN returns before the process exits; redis removes its pidfile on the way out.
  if ! wait_until 15 test ! -e "$PIDFILE"; then
    echo "redis on $HOST:$PORT did not exit within 15 s" >&2
    exit 1
  fi
}

cmd_env() {
  echo "export AUTONOMIC_TEST_REDIS=redis://$HOST:$PORT/0"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 install|start|stop|env" >&2
    exit 2
    ;;
esac
