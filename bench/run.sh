#!/usr/bin/env bash
# All benchmarks: primitives, the bus, the event stores and the community log in Node, then the mesh and primitives in Chromium (inside a private network namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsx bench/primitives.ts
npx tsx bench/bus.ts
npx tsx bench/event-store.ts
npx tsx bench/events.ts
npx tsx bench/llm.ts
npx tsx bench/model-mirror.ts
npx tsx bench/blobs.ts
npx tsx bench/embed.ts
npx tsx bench/rag.ts
[ -f build/index.html ] || npx vite build --logLevel warn
bash tests/netns-run.sh npx tsx bench/mesh.ts
bash tests/netns-run.sh npx tsx bench/blob-transfer.ts
