export * from './core/index.js';
export * from './flow/index.js';
export * from './operators/index.js';
export * from './sinks/index.js';
export * from './sources/index.js';
export * from './decode/index.js';
export * from './backend/index.js';
export * from './models/index.js';
