/** Node manifests (CONTRACT §6.1): built and signed every 20 s, valid for exactly 30 s, verified with key pinning. */
import { CALL_TIMESTAMP_WINDOW_SECONDS, CONTRACT_VERSION, MANIFEST_TTL_SECONDS, MANIFEST_VERSION, type NodeProfile } from './constants.js';
import { HearthError } from './errors.js';
import type { KeyPair } from './keys.js';
import { shortOf } from './node-id.js';
import { checkShape } from './schemas.js';
import { signPayload, verifyPayload } from './sign.js';
import { parseRfc3339, rfc3339, type Clock } from './time.js';
import type { CapabilitySpec, Endpoint, Hardware, NodeManifest } from './types.js';

export interface NodeManifestInput {
  communityId: string;
  displayName: string;
  profile: NodeProfile;
  endpoints?: Endpoint[];
  hardware?: Hardware;
  capabilities?: CapabilitySpec[];
  uptimeSeconds?: number;
  load?: Record<string, number>;
}

export async function buildNodeManifest(keyPair: KeyPair, input: NodeManifestInput, clock: Clock): Promise<NodeManifest> {
  const issuedMs = Math.floor(clock.now() / 1000) * 1000;
  const unsigned = {
    version: MANIFEST_VERSION,
    contract_version: CONTRACT_VERSION,
    node_id: keyPair.nodeId,
    display_name: input.displayName,
    community_id: input.communityId,
    profile: input.profile,
    endpoints: input.endpoints ?? [],
    hardware: input.hardware ?? {},
    capabilities: input.capabilities ?? [],
    uptime_seconds: Math.max(0, Math.floor(input.uptimeSeconds ?? 0)),
    load: input.load ?? {},
    issued_at: rfc3339(issuedMs),
    expires_at: rfc3339(issuedMs + MANIFEST_TTL_SECONDS * 1000)
  };
  return signPayload(unsigned, keyPair) as Promise<NodeManifest>;
}

/**
 * Trust-on-first-use pins (M01 §5.4). Users recognise peers by the short id, so the pin maps a short id to the
 * first full key seen with it: a second key that grinds the same short id is refused.
 */
export class KeyPins {
  private readonly pins = new Map<string, string>();

  /** Throws invalid_signature when `nodeId`'s short form is pinned to another key. */
  check(nodeId: string): void {
    const pinned = this.pins.get(shortOf(nodeId));
    if (pinned !== undefined && pinned !== nodeId) {
      throw new HearthError('invalid_signature', `key for ${shortOf(nodeId)} differs from the first-seen key`);
    }
  }

  pin(nodeId: string): void {
    this.check(nodeId);
    this.pins.set(shortOf(nodeId), nodeId);
  }

  get size(): number {
    return this.pins.size;
  }
}

/**
 * Shape, TTL, expiry, signature and pin checks, in that order (cheap first). Throws HearthError with
 * bad_request, expired or invalid_signature; returns the manifest typed on success and pins its key.
 */
export async function verifyNodeManifest(candidate: unknown, clock: Clock, pins?: KeyPins): Promise<NodeManifest> {
  const problem = checkShape('nodeManifest', candidate);
  if (problem) throw new HearthError('bad_request', `node manifest: ${problem}`);
  const manifest = candidate as NodeManifest;
  if (manifest.contract_version !== CONTRACT_VERSION) {
    throw new HearthError('bad_request', `node manifest: contract_version ${manifest.contract_version} is not ${CONTRACT_VERSION}`);
  }
  const issued = parseRfc3339(manifest.issued_at);
  const expires = parseRfc3339(manifest.expires_at);
  if (expires - issued !== MANIFEST_TTL_SECONDS * 1000) {
    throw new HearthError('bad_request', `node manifest: expires_at must be issued_at + ${MANIFEST_TTL_SECONDS} s`);
  }
  const now = clock.now();
  if (now > expires) throw new HearthError('expired', `node manifest expired at ${manifest.expires_at}`);
  if (issued - now > CALL_TIMESTAMP_WINDOW_SECONDS * 1000) {
    throw new HearthError('bad_request', 'node manifest: issued_at is in the future beyond the clock-skew window');
  }
  pins?.check(manifest.node_id);
  if (!(await verifyPayload(manifest, manifest.node_id))) {
    throw new HearthError('invalid_signature', 'node manifest: signature does not verify for node_id');
  }
  pins?.pin(manifest.node_id);
  return manifest;
}
