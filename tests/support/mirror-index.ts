/** A bridge model-mirror index (src/lib/llm/mirror.ts) for tests that decide what the mirror offers. */
import type { MirrorFile, MirrorIndex } from '../../src/lib/llm/mirror.js';

export const mirrorFile = (path: string, size = 1000, status: MirrorFile['status'] = 'hashed'): MirrorFile => ({
  path,
  size,
  sha256: status === 'pending' ? null : 'a'.repeat(64),
  status
});

export const mirrorIndex = (repos: MirrorIndex['repos']): MirrorIndex => ({
  version: 1,
  state: 'ready',
  hashing: { files_pending: 0, bytes_pending: 0, files_hashed: 0, bytes_hashed: 0, files_from_cache: 0 },
  repos,
  libs: []
});
