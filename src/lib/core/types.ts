/** Wire types of the contract (CONTRACT §5, §6.1). Shapes are checked by the schemas in schemas.ts. */
import type { NodeProfile, Stability } from './constants.js';
import type { WireError } from './errors.js';

export interface Endpoint {
  transport: string;
  host: string;
  port: number;
}

export interface Hardware {
  gpu?: string | null;
  vram_gb?: number;
  ram_gb?: number;
  cpu_cores?: number;
  disk_free_gb?: number;
}

/** A capability as it appears inside a node manifest. */
export interface CapabilitySpec {
  name: string;
  version: string;
  stability: Stability;
  schema_hash: string;
  params: Record<string, unknown>;
  max_concurrent: number;
}

export interface NodeManifest {
  version: number;
  contract_version: string;
  node_id: string;
  display_name: string;
  community_id: string;
  profile: NodeProfile;
  endpoints: Endpoint[];
  hardware: Hardware;
  capabilities: CapabilitySpec[];
  uptime_seconds: number;
  load: Record<string, number>;
  issued_at: string;
  expires_at: string;
  signature: string;
}

/** The signed call object of CONTRACT §5.1 / DESIGN §3.4, carried as one frame whatever the transport. */
export interface CallEnvelope {
  capability: string;
  version: string;
  request_id: string;
  from: string;
  community: string;
  timestamp: string;
  body: unknown;
  signature: string;
}

/** A signed reply tied to its call by request_id. Exactly one of body / error. */
export interface ResponseEnvelope {
  request_id: string;
  from: string;
  timestamp: string;
  body?: unknown;
  error?: WireError;
  signature: string;
}
