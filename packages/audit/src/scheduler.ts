/**
 * The one scheduler every waiting check shares. Checks run concurrently and each awaits
 * `until(time)`, so their waits overlap: the run takes about as long as the longest wait, not the
 * sum (reference §3.4). The scheduler also reports what it is waiting for while it waits.
 */
export interface Scheduler {
  /** Resolves at `atMs` (epoch ms). `label` is shown in progress lines. */
  until(atMs: number, label: string): Promise<void>;
  /** Pending waits, soonest first. */
  pending(): { label: string; atMs: number }[];
  /** Stops the progress ticker (pending waits still resolve). */
  close(): void;
}

export interface SchedulerOptions {
  /** Progress sink; called at most every `progressIntervalSeconds` while something waits. */
  onProgress?: (line: string) => void;
  /** @default 5 */
  progressIntervalSeconds?: number;
  now?: () => number;
}

/**
 * @example
 * const scheduler = createScheduler({ onProgress: (l) => process.stderr.write(l + '\n') });
 * await scheduler.until(Date.now() + 2000, 'SH-TIME-02 idle probe');
 */
export function createScheduler({
  onProgress,
  progressIntervalSeconds = 5,
  now = Date.now,
}: SchedulerOptions = {}): Scheduler {
  const waits = new Set<{ label: string; atMs: number }>();
  let ticker: NodeJS.Timeout | undefined;
  const tick = () => {
    if (waits.size === 0 || !onProgress) return;
    const list = [...waits].sort((a, b) => a.atMs - b.atMs);
    const next = list[0]!;
    const last = list.at(-1)!;
    onProgress(
      `waiting: ${list.length} timed probe(s); next "${next.label}" in ${Math.max(0, Math.ceil((next.atMs - now()) / 1000))} s, all done in ${Math.max(0, Math.ceil((last.atMs - now()) / 1000))} s`,
    );
  };
  return {
    until(atMs, label) {
      const entry = { label, atMs };
      waits.add(entry);
      if (!ticker && onProgress) {
        ticker = setInterval(tick, progressIntervalSeconds * 1000);
        ticker.unref();
      }
      return new Promise((resolve) => {
        setTimeout(
          () => {
            waits.delete(entry);
            resolve();
          },
          Math.max(0, atMs - now()),
        );
      });
    },
    pending() {
      return [...waits].sort((a, b) => a.atMs - b.atMs);
    },
    close() {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
    },
  };
}
