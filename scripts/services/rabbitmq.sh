#!/usr/bin/env bash
# RabbitMQ for the integration tests and benchmarks, on loopback only.
# Usage: scripts/services/rabbitmq.sh install|start|stop|env
set -euo pipefail

URL="amqp://guest:guest@127.0.0.1:5672/"
DEADLINE_S="${RABBITMQ_START_DEADLINE_S:-60}"

export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1

ensure_hostname() {
  # The node is named rabbit@$(hostname): the short hostname must resolve or the node cannot start.
  local h
  h="$(hostname)"
  if ! getent hosts "$h" >/dev/null 2>&1; then
    echo "127.0.0.1 $h" >>/etc/hosts
  fi
}

is_up() {
  rabbitmqctl -q await_startup >/dev/null 2>&1 && (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null
}

case "${1:-}" in
  install)
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
      apt-get update
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server
    fi
    ;;
  start)
    ensure_hostname
    if is_up; then
      exit 0
    fi
    rabbitmq-server -detached
    end=$((SECONDS + DEADLINE_S))
    until is_up; do
      if ((SECONDS >= end)); then
        echo "rabbitmq: not ready within ${DEADLINE_S}s" >&2
        exit 1
      fi
      sleep 0.5
    done
    ;;
  stop)
    if rabbitmqctl -q status >/dev/null 2>&1; then
      rabbitmqctl -q shutdown >/dev/null
    fi
    epmd -kill >/dev/null 2>&1 || true
    ;;
  env)
    echo "export AUTONOMIC_TEST_RABBITMQ=${URL}"
    ;;
  *)
    echo "usage: $0 install|start|stop|env" >&2
    exit 2
    ;;
esac
