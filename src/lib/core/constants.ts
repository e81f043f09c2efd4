/**
 * Interop constants (GLOSSARY §Defaults). Not configurable: a node that changes one desynchronises from the mesh.
 */
export const CONTRACT_VERSION = '1.0';
export const MANIFEST_VERSION = 1;
export const MANIFEST_TTL_SECONDS = 30;
export const MANIFEST_REPUBLISH_INTERVAL_SECONDS = 20;

/** A peer whose manifest expired and was not refreshed is dropped after this long (M02 §4.2). */
export const PEER_PRUNE_AFTER_SECONDS = 90;
/** Emergency mode prunes faster (M02 §4.3). */
export const PEER_PRUNE_AFTER_SECONDS_OFFLINE = 30;

/** Calls whose timestamp is further than this from our clock are rejected (DESIGN §3.4). */
export const CALL_TIMESTAMP_WINDOW_SECONDS = 60;

export const CONNECTION_IDLE_SECONDS = 60;
export const RECONNECT_BACKOFF_CAP_SECONDS = 30;
export const STREAM_WINDOW_FRAMES = 16;
export const STREAM_ACK_INTERVAL_FRAMES = 8;
export const STREAM_ACK_TIMEOUT_SECONDS = 5;
export const STREAM_CANCEL_DEADLINE_MS = 200;
export const RPC_DEFAULT_TIMEOUT_SECONDS = 30;

export const RATE_LIMIT_SOFT_RPS_PER_CAP = 10;
export const RATE_LIMIT_HARD_RPS_PER_CAP = 100;
export const RATE_LIMIT_SOFT_RPS_TOTAL = 100;
export const RATE_LIMIT_HARD_RPS_TOTAL = 1000;

export const CHUNK_SIZE_BYTES = 262144;
/** Largest single message on a data channel or relay socket (DESIGN §3.5). */
export const MAX_FRAME_BYTES = 64 * 1024;

export const HEALTH_WINDOW_CALLS = 100;
export const HEALTH_QUARANTINE_THRESHOLD = 0.5;
export const HEALTH_QUARANTINE_SECONDS = 60;
export const TRACE_RING_BUFFER = 10000;

export const NODE_PROFILES = ['anchor', 'hearth', 'spark', 'bridge'] as const;
export type NodeProfile = (typeof NODE_PROFILES)[number];

export const STABILITIES = ['experimental', 'beta', 'stable'] as const;
export type Stability = (typeof STABILITIES)[number];
