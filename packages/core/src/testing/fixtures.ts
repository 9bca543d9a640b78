import { generateId, generateToken, hashToken } from '../token.js';
import type { SessionRecord } from '../types.js';

const T0 = Date.UTC(2026, 0, 1);

/** A live session record with fresh ids and hashes; `overrides` win. For store tests. */
export function sampleSession(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: generateId(),
    userId: `user-${generateId()}`,
    policy: 'medium',
    createdAt: T0,
    lastActiveAt: T0,
    idleExpiresAt: T0 + 30 * 60_000,
    absoluteExpiresAt: T0 + 24 * 3_600_000,
    authenticatedAt: T0,
    authMethods: ['pwd'],
    device: {
      id: 'device-1',
      name: 'Pixel 9',
      platform: 'android',
      appVersion: '1.2.3',
      ip: '203.0.113.7',
      userAgent: 'app/1.2.3',
    },
    generation: 0,
    accessTokenHash: hashToken(generateToken('access')),
    accessExpiresAt: T0 + 5 * 60_000,
    refreshTokenHash: hashToken(generateToken('refresh')),
    rotatedAt: T0,
    successorSealed: null,
    endedAt: null,
    endReason: null,
    ...overrides,
  };
}

export const SAMPLE_EPOCH = T0;
