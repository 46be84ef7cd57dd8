export * from './client.js';
export * from './errorActions.js';
export * from './OcrError.js';
export * from './types.js';
