#!/usr/bin/env bash
# Installs, from Debian's packages, the process supervisors Autonomic is compared with and tested against,
# Prometheus with Alertmanager for the observability tests, and Chromium for the dashboard's browser tests.
# Idempotent: installs only what is missing, and says nothing when everything is present.
set -euo pipefail

# binary -> Debian package
declare -A need=(
  [supervisord]=supervisor
  [runsv]=runit
  [s6-svscan]=s6
  [monit]=monit
  [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
  [chromium]=chromium
  # s3rver, the S3 server of the object store tests (make tools)
  [node]=nodejs
  [npm]=npm
  [fail2ban-regex]=fail2ban
)

missing=()
for bin in "${!need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${need[$bin]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
