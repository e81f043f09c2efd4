export * from './library-view.js';
export * from './library-node.js';
