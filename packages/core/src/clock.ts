/**
 * The engine's only source of time, injectable so that timeouts are tested without waiting.
 *
 * @example
 * const clock = manualClock(Date.UTC(2026, 0, 1));
 * clock.advance(15 * 60_000);
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ManualClock extends Clock {
  set(epochMs: number): void;
  advance(ms: number): void;
}

/** A clock that moves only when told to; for tests. */
export function manualClock(startEpochMs = Date.UTC(2026, 0, 1)): ManualClock {
  let current = startEpochMs;
  return {
    now: () => current,
    set: (epochMs) => {
      current = epochMs;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}
