export * from './kinds.js';
export * from './status.js';
