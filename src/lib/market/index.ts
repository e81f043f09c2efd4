/** The marketplace (M06): posts derived from market.post.* events, the four market.* capabilities, auto-expiry. */
export * from './post.js';
export * from './schemas.js';
export * from './search.js';
export * from './market-view.js';
export * from './market-service.js';
export * from './sweeper.js';
export * from './hybrid-search.js';
