/** The capability bus (M03): registry, router, health, schemas, limits, traces. Knows no transport and no storage. */
export * from './capability.js';
export * from './namespace.js';
export * from './schema.js';
export * from './health.js';
export * from './registry.js';
export * from './router.js';
export * from './rate-limiter.js';
export * from './trust.js';
export * from './params-compatible.js';
export * from './trace.js';
export * from './bus.js';
