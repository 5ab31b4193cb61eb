#!/usr/bin/env bash
# Builds the web dashboard (dashboard/ -> dashboard/dist) and copies it to OUT/wwwroot, where the gateway serves it.
# Skips `npm ci` when node_modules matches package-lock.json, and the build when dist is newer than every source.
# Usage: scripts/build-dashboard.sh [OUT]   (default artifacts/autonomic)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/autonomic}"
app=dashboard

if ! command -v npm >/dev/null 2>&1; then
  echo "build-dashboard: npm is missing (install Node.js 20 or newer); the control plane will run without its dashboard" >&2
  exit 1
fi

stamp="$app/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$app/package-lock.json" -nt "$stamp" ]; then
  (cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
fi

newest_source="$(find "$app/src" "$app/public" "$app/index.html" "$app/package-lock.json" "$app/vite.config.ts" "$app/tsconfig.json" \
  -type f -newer "$app/dist/index.html" -print -quit 2>/dev/null || true)"
if [ ! -f "$app/dist/index.html" ] || [ -n "$newest_source" ]; then
  (cd "$app" && npm run --silent build >/dev/null)
fi

mkdir -p "$out"
rm -rf "$out/wwwroot"
cp -R "$app/dist" "$out/wwwroot"
