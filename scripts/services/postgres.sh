#!/usr/bin/env bash
# PostgreSQL for the integration tests: the Debian cluster "main" on 127.0.0.1:5432, loopback TCP trusted,
# durability traded for speed (fsync off) because test data is disposable.
#   postgres.sh install | start | stop | env
set -euo pipefail

PORT=5432
URL="postgres://postgres:postgres@127.0.0.1:${PORT}/postgres"
DEADLINE_SECONDS=30

version() {
    ls /etc/postgresql 2>/dev/null | sort -n | tail -1
}

install() {
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(version)" ]; then
        return 0
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

configure() {
    local v="$1" conf="/etc/postgresql/$1/main"
    # Loopback TCP clients are trusted (the packaged default asks for scram-sha-256).
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)(scram-sha-256|md5)/\1trust/' "$conf/pg_hba.conf"
    mkdir -p "$conf/conf.d"
    cat > "$conf/conf.d/autonomic-tests.conf" <<CONF
listen_addresses = '127.0.0.1'
port = ${PORT}
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
CONF
}

ready() {
    pg_isready -h 127.0.0.1 -p "$PORT" -q
}

start() {
    install
    local v
    v="$(version)"
    configure "$v"
    if ready; then
        return 0
    fi
    if ! pg_lsclusters -h | awk -v v="$v" '$1 == v && $2 == "main" && $4 == "online" { found = 1 } END { exit !found }'; then
        pg_ctlcluster "$v" main start
    fi
    local deadline=$((SECONDS + DEADLINE_SECONDS))
    until ready; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "postgres: not ready on 127.0.0.1:${PORT} after ${DEADLINE_SECONDS}s; see /var/log/postgresql/postgresql-${v}-main.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
}

stop() {
    local v
    v="$(version)"
    if [ -n "$v" ] && ready; then
        pg_ctlcluster "$v" main stop -m fast
    fi
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    env) echo "export AUTONOMIC_TEST_POSTGRES=${URL}" ;;
    *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
