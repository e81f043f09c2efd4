/** The isomorphic core: no DOM, no node:*. Everything a node, the bridge and tests share. */
export * from './constants.js';
export * from './errors.js';
export * from './encoding.js';
export * from './canonical-json.js';
export * from './node-id.js';
export * from './keys.js';
export * from './sign.js';
export * from './cid.js';
export * from './blake3.js';
export * from './time.js';
export * from './ulid.js';
export * from './types.js';
export * from './schemas.js';
export * from './manifest.js';
export { verifyEd25519, verifyNoble, webCryptoEd25519 } from './ed25519.js';
