#!/usr/bin/env bash
# Runs every test suite and ends with one summary line over all of them: `N passed, N failed[, N skipped]`.
# Counts come from each suite's own result file (TRX for .NET), not from console text.
# Exits non-zero when a test failed or a suite could not run. Expects `make build` to have run (Release).
#
# To add a suite of another kind (e.g. Vitest or browser tests), run it, read its report, then call
#   add_counts NAME PASSED FAILED SKIPPED     or, when it did not run at all,   suite_broken NAME REASON
set -uo pipefail
cd "$(dirname "$0")/.."

config="${CONFIGURATION:-Release}"
results="artifacts/test-results"
mkdir -p "$results"

total_passed=0
total_failed=0
total_skipped=0
broken=0

# add_counts NAME PASSED FAILED SKIPPED: records one suite's counts and prints its line.
add_counts() {
  local name="$1" passed="$2" failed="$3" skipped="$4"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
  local line="$name: $passed passed, $failed failed"
  [ "$skipped" -gt 0 ] && line+=", $skipped skipped"
  echo "$line"
}

# suite_broken NAME REASON: a suite that did not run (or ended abnormally) fails the run.
suite_broken() {
  broken=1
  echo "$1: did not complete: $2"
}

# trx_counter FILE ATTRIBUTE: one attribute of the <Counters .../> element of a TRX file (0 when absent).
trx_counter() {
  local value
  value="$(tr '\n' ' ' <"$1" | grep -o '<Counters [^>]*>' | head -n1 | grep -o " $2=\"[0-9]*\"" | grep -o '[0-9]\+')"
  echo "${value:-0}"
}

# run_dotnet_suite NAME PROJECT: dotnet test with a TRX logger, then counts from the TRX.
run_dotnet_suite() {
  local name="$1" project="$2"
  local trx="$results/$name.trx" log="$results/$name.log"
  rm -f "$trx"
  dotnet test "$project" --no-build -c "$config" \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" >"$log" 2>&1
  local rc=$?
  if [ ! -s "$trx" ]; then
    tail -n 40 "$log"
    suite_broken "$name" "dotnet test exited $rc without a result file (see $log)"
    return
  fi
  local passed failed skipped
  passed="$(trx_counter "$trx" passed)"
  failed=$(($(trx_counter "$trx" failed) + $(trx_counter "$trx" error) + $(trx_counter "$trx" timeout) + $(trx_counter "$trx" aborted)))
  # xunit skips are counted as not executed, but TRX leaves notExecuted at 0: skipped = total - executed.
  skipped=$(($(trx_counter "$trx" total) - $(trx_counter "$trx" executed)))
  [ "$skipped" -lt 0 ] && skipped=0
  if [ "$failed" -gt 0 ]; then
    grep -E '^\s+(Failed|Error Message:|  )' "$log" | head -n 80
  fi
  add_counts "$name" "$passed" "$failed" "$skipped"
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    tail -n 40 "$log"
    suite_broken "$name" "dotnet test exited $rc although no test failed (see $log)"
  fi
}

# junit_attr FILE ATTRIBUTE: one attribute of the root <testsuites .../> element of a JUnit report (0 when absent).
junit_attr() {
  local value
  value="$(tr '\n' ' ' <"$1" | grep -o '<testsuites [^>]*>' | head -n1 | grep -o " $2=\"[0-9]*\"" | grep -o '[0-9]\+')"
  echo "${value:-0}"
}

# run_vitest_suite NAME [VITEST ARGS...]: Vitest in dashboard/ with a JUnit report, then counts from the report.
run_vitest_suite() {
  local name="$1"
  shift
  local xml="$results/$name.xml" log="$results/$name.log"
  rm -f "$xml"
  (cd dashboard && npx --no-install vitest run "$@" --reporter=default --reporter=junit --outputFile.junit="../$xml") >"$log" 2>&1
  local rc=$?
  if [ ! -s "$xml" ]; then
    tail -n 40 "$log"
    suite_broken "$name" "vitest exited $rc without a result file (see $log)"
    return
  fi
  local total failed skipped
  total="$(junit_attr "$xml" tests)"
  failed=$(($(junit_attr "$xml" failures) + $(junit_attr "$xml" errors)))
  skipped="$(grep -c '<skipped' "$xml")"
  if [ "$failed" -gt 0 ]; then
    grep -E 'FAIL|AssertionError|Error:|Expected|Received' "$log" | head -n 60
  fi
  add_counts "$name" "$((total - failed - skipped))" "$failed" "$skipped"
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    tail -n 40 "$log"
    suite_broken "$name" "vitest exited $rc although no test failed (see $log)"
  fi
}

run_dotnet_suite Core tests/Autonomic.Core.Tests
run_dotnet_suite Architecture tests/Autonomic.Architecture.Tests
run_dotnet_suite Integration tests/Autonomic.Integration.Tests

# The dashboard: component tests (happy-dom), then the browser end to end against bin/autonomic up --demo.
if [ ! -d dashboard/node_modules ]; then
  suite_broken Dashboard "dashboard/node_modules is missing: run 'make build' (it runs npm ci)"
else
  run_vitest_suite Dashboard
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    suite_broken DashboardE2E "Chromium is missing: run scripts/install-deps.sh (Debian package chromium)"
  else
    run_vitest_suite DashboardE2E -c vitest.e2e.config.ts
  fi
fi

summary="$total_passed passed, $total_failed failed"
[ "$total_skipped" -gt 0 ] && summary+=", $total_skipped skipped"
echo "$summary"
[ "$total_failed" -eq 0 ] && [ "$broken" -eq 0 ]
