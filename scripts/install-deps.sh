#!/usr/bin/env bash
# Installs the process supervisors Autonomic is compared with and tested against, from Debian's packages.
# Idempotent: installs only what is missing, and says nothing when everything is present.
set -euo pipefail

# binary -> Debian package
declare -A need=(
  [supervisord]=supervisor
  [runsv]=runit
  [s6-svscan]=s6
  [monit]=monit
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
