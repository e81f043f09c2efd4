/** The community event log (X02): envelopes, Lamport order, the store port and the log. Sync builds on these. */
export * from './envelope.js';
export * from './order.js';
export * from './store.js';
export * from './event-log.js';
export * from './reconcile.js';
export * from './view.js';
export * from './snapshot.js';
export * from './sync-protocol.js';
