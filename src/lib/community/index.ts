/** Communities (M01, M13, X02): the log's membership view, trust operations, invites and log sync over the bus. */
export * from './policy.js';
export * from './community-view.js';
export * from './signatures.js';
export * from './event-gate.js';
export * from './community.js';
export * from './log-sync.js';
export * from './invite-blob.js';
export * from './invite-proof.js';
export * from './device-card.js';
export * from './cosign.js';
export * from './manifest.js';
