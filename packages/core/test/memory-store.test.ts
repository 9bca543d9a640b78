import { createMemoryStore } from '@tessera/core';
import { runStoreConformance } from '@tessera/core/testing';

runStoreConformance({
  name: 'memory',
  makeStore: async () => ({ store: createMemoryStore(), cleanup: async () => {} }),
});
