#!/usr/bin/env bash
# Every test HearthNet has, in order of cost: types, unit + simulation + bridge (vitest), the production build,
# then end-to-end in Chromium inside a private network namespace. Ends with one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .reports
rm -f .reports/unit.json .reports/e2e.json
status=0

echo "== types (svelte-kit sync + tsc)"
npx svelte-kit sync >/dev/null 2>&1
npx tsc --noEmit -p tsconfig.json || status=1

echo "== unit, simulation and bridge tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=.reports/unit.json || status=1

echo "== build"
npx vite build --logLevel warn || status=1

echo "== end-to-end (Chromium, private network namespace)"
if [ "$(id -u)" = "0" ] && command -v unshare >/dev/null; then
  CI=1 bash tests/netns-run.sh npx playwright test || status=1
else
  echo "end-to-end tests need root for a private network namespace (tests/netns-run.sh); run as root" >&2
  status=1
fi

node tests/summarise.mjs .reports/unit.json .reports/e2e.json || status=1
exit $status
