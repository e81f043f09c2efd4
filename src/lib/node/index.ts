/** The node: composition root and the capabilities every node serves. */
export * from './types.js';
export * from './create-node.js';
export * from './ping.js';
export { ManifestPublisher } from './manifest-publisher.js';
export { RttProber, PROBE_INTERVAL_MS } from './rtt-prober.js';
export * from './echo.js';
export * from './community-services.js';
