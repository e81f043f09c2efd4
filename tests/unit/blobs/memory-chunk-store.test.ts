import { MemoryChunkStore } from '../../../src/lib/blobs/index.js';
import { chunkStoreAcceptance } from './chunk-store-acceptance.js';

chunkStoreAcceptance('memory', async () => new MemoryChunkStore());
