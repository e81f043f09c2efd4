/** Engines in another thread (a model worker), served and used across a MessagePort. */
export * from './engine-port.js';
