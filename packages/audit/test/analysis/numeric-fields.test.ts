import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findTimeAndCounterFields } from '../../src/analysis/numeric-fields.js';
import { seededBytes } from './seeded-bytes.js';

const NOW = 1_764_000_000_000;

describe('findTimeAndCounterFields', () => {
  it('finds epoch seconds in hex, as in a MongoDB ObjectId', () => {
    const next = seededBytes('oid');
    const tokens = Array.from({ length: 200 }, (_, i) => {
      const seconds = Math.floor(NOW / 1_000) + Math.floor(i / 7);
      return seconds.toString(16) + next(8).toString('hex');
    });
    const findings = findTimeAndCounterFields({ tokens, bits: null, nowMs: NOW });
    assert.equal(findings[0]?.kind, 'time');
    assert.match(findings[0]!.detail, /epoch seconds/);
  });

  it('finds a field that tracks the capture time in unknown units', () => {
    const next = seededBytes('uptime');
    const issuedAt: number[] = [];
    let at = NOW;
    const tokens = Array.from({ length: 200 }, () => {
      at += 2_000 + next(1)[0]! * 40;
      issuedAt.push(at);
      // Milliseconds since a server start 9 days ago, after 64 random bits.
      return next(8).toString('hex') + (at - (NOW - 9 * 86_400_000)).toString(16).padStart(12, '0');
    });
    const findings = findTimeAndCounterFields({ tokens, bits: null, issuedAt, nowMs: NOW });
    assert.ok(findings.some((f) => f.kind === 'time' && /tracks the capture time/.test(f.detail)));
  });

  it('finds a trailing sequence number of varying length', () => {
    const tokens = Array.from({ length: 150 }, (_, i) => `user-session-${i + 1}`);
    const findings = findTimeAndCounterFields({ tokens, bits: null, nowMs: NOW });
    assert.deepEqual(
      findings.map((f) => f.kind),
      ['counter'],
    );
  });

  it('finds nothing in random hex', () => {
    const next = seededBytes('none');
    const tokens = Array.from({ length: 500 }, () => next(32).toString('hex'));
    assert.deepEqual(findTimeAndCounterFields({ tokens, bits: null, nowMs: NOW }), []);
  });
});
