#!/usr/bin/env bash
# All benchmarks: primitives and the bus in Node, then the mesh and primitives in Chromium (inside a private network namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsx bench/primitives.ts
npx tsx bench/bus.ts
[ -f build/index.html ] || npx vite build --logLevel warn
bash tests/netns-run.sh npx tsx bench/mesh.ts
