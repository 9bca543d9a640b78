export type { ConformanceOptions } from './conformance.js';
export { runStoreConformance } from './conformance.js';
export { SAMPLE_EPOCH, sampleSession } from './fixtures.js';
