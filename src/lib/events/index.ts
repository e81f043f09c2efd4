/** The community event log (X02): envelopes, Lamport order. Storage and sync build on these. */
export * from './envelope.js';
export * from './order.js';
