export * from './errors.js';
export * from './digest.js';
export * from './names.js';
export * from './media-types.js';
export * from './descriptor.js';
export * from './manifest.js';
export * from './pagination.js';
