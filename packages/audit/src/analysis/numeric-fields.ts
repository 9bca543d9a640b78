/**
 * Finds time and counter fields: any run of characters read as a base-10/16/36 number, any run
 * of up to 53 decoded bits, and any leading or trailing digit run, whose values either look like
 * epoch timestamps near the issue time or step up (or down) by small amounts from one token to
 * the next. Statistics can pass a "timestamp + counter" token (Burp says so), so this is the
 * check that catches them (SH-TOK-04).
 */
import type { BitMatrix } from './bits.js';
import type { PatternFinding } from './report-types.js';

export interface FieldSearchInput {
  /** Tokens in issue order (known structure such as a cookie signature already removed). */
  tokens: readonly string[];
  /** The same tokens as bits, for binary fields (base64 of a big-endian timestamp, snowflakes). */
  bits: BitMatrix | null;
  /** Epoch milliseconds at which each token was received. */
  issuedAt?: readonly number[] | undefined;
  /** Reference time when `issuedAt` is missing. */
  nowMs: number;
}

/** The search looks at the first tokens only: fields show up in any stretch of the sample. */
const SEARCH_TOKENS = 512;
const DAY_MS = 86_400_000;
/** Without capture times a timestamp is only "near now" within a few years (samples are often
 * analysed later than captured); random fields still almost never land there for every token. */
const UNTIMED_TOLERANCE_MS = 3 * 365 * DAY_MS;
const UNITS = [
  { name: 'epoch seconds', toMs: 1_000 },
  { name: 'epoch milliseconds', toMs: 1 },
  { name: 'epoch microseconds', toMs: 0.001 },
] as const;
const IN_RANGE_SHARE = 0.95;
const SMALL_STEP_SHARE = 0.8;
const MAX_STEP = 1_000;

interface Verdict {
  kind: 'time' | 'counter';
  why: string;
  /** For time: mean distance from the reference time, in units of the tolerance (lower fits
   * better). Used to report the right reading when several overlap: 16^5 ≈ 10^6 and
   * 2^10 ≈ 10^3 make a seconds field plus the next digits look like micro- or milliseconds. */
  misfit: number;
}

interface Flagged extends Verdict {
  where: string;
  width: number;
}

/**
 * Searches the sample for time and counter fields.
 *
 * @example
 * const tokens = Array.from({ length: 50 }, (_, i) => `${1_700_000_000_000 + i}`);
 * findTimeAndCounterFields({ tokens, bits: null, nowMs: 1_700_000_000_000 })[0]?.kind // 'time'
 */
export function findTimeAndCounterFields(input: FieldSearchInput): PatternFinding[] {
  const size = Math.min(input.tokens.length, SEARCH_TOKENS);
  if (size < 10) return [];
  const tokens = input.tokens.slice(0, size);
  const flagged: Flagged[] = [];
  const judge = makeJudge(size, input.issuedAt, input.nowMs);
  const consider = (values: Float64Array, range: number, where: () => string, width: number) => {
    const verdict = judge(values, range);
    if (verdict !== null) flagged.push({ ...verdict, where: where(), width });
  };

  for (const base of [10, 16, 36]) searchCharWindows(tokens, base, consider);
  if (input.bits !== null) searchBitWindows(input.bits, size, consider);
  searchDigitRuns(tokens, consider);

  const findings: PatternFinding[] = [];
  for (const kind of ['time', 'counter'] as const) {
    const hits = flagged.filter((f) => f.kind === kind);
    if (hits.length === 0) continue;
    const best = hits.reduce((a, b) =>
      kind === 'time' ? (b.misfit < a.misfit ? b : a) : b.width > a.width ? b : a,
    );
    const others = hits.length - 1;
    findings.push({
      kind,
      detail: `${best.where} ${best.why}${others > 0 ? ` (and ${others} overlapping reading${others === 1 ? '' : 's'})` : ''}`,
    });
  }
  return findings;
}

type Consider = (values: Float64Array, range: number, where: () => string, width: number) => void;

function digitValue(c: number, base: number): number {
  let v = -1;
  if (c >= 48 && c <= 57) v = c - 48;
  else if (c >= 97 && c <= 122) v = c - 87;
  else if (c >= 65 && c <= 90) v = c - 55;
  return v >= 0 && v < base ? v : -1;
}

function searchCharWindows(tokens: string[], base: number, consider: Consider): void {
  const maxWidth = Math.floor(53 / Math.log2(base));
  const length = tokens.reduce((m, t) => Math.min(m, t.length), Number.POSITIVE_INFINITY);
  for (let start = 0; start < length; start++) {
    const values = new Float64Array(tokens.length);
    for (let width = 1; width <= maxWidth && start + width <= length; width++) {
      const at = start + width - 1;
      let valid = true;
      for (let t = 0; t < tokens.length; t++) {
        const d = digitValue(tokens[t]!.charCodeAt(at), base);
        if (d < 0) {
          valid = false;
          break;
        }
        values[t] = values[t]! * base + d;
      }
      if (!valid) break;
      consider(
        values,
        base ** width,
        () => `character positions ${start}–${at} read as a base-${base} number`,
        width * Math.log2(base),
      );
    }
  }
}

function searchBitWindows(bits: BitMatrix, size: number, consider: Consider): void {
  for (let start = 0; start < bits.width; start++) {
    const values = new Float64Array(size);
    for (let width = 1; width <= 53 && start + width <= bits.width; width++) {
      const column = bits.columns[start + width - 1]!;
      for (let t = 0; t < size; t++) values[t] = values[t]! * 2 + column[t]!;
      if (width < 4) continue;
      consider(
        values,
        2 ** width,
        () => `decoded bits ${start}–${start + width - 1} read as an integer`,
        width,
      );
    }
  }
}

function searchDigitRuns(tokens: string[], consider: Consider): void {
  for (const [name, re] of [
    ['leading', /^\d{1,15}/],
    ['trailing', /\d{1,15}$/],
  ] as const) {
    const values = new Float64Array(tokens.length);
    let longest = 0;
    let ok = true;
    for (let t = 0; t < tokens.length && ok; t++) {
      const m = re.exec(tokens[t]!);
      if (m === null) ok = false;
      else {
        values[t] = Number(m[0]);
        longest = Math.max(longest, m[0].length);
      }
    }
    if (ok) consider(values, 10 ** longest, () => `the ${name} digit run`, longest * Math.log2(10));
  }
}

function makeJudge(size: number, issuedAt: readonly number[] | undefined, nowMs: number) {
  const timed = issuedAt !== undefined && issuedAt.length >= size;
  const tolerance = timed ? DAY_MS : UNTIMED_TOLERANCE_MS;
  const reference = (t: number) => (timed ? issuedAt[t]! : nowMs);
  const pairs = size - 1;
  return (values: Float64Array, range: number): Verdict | null => {
    // Time: every unit needs values of at least ~1e9, so narrow fields skip this. A timestamp
    // changes and runs forward; a constant word read in base 36 can land near "now" too.
    if (range > 1e9 && varies(values) && forwardShare(values) >= 0.9) {
      for (const unit of UNITS) {
        let near = 0;
        let distance = 0;
        for (let t = 0; t < size; t++) {
          const d = Math.abs(values[t]! * unit.toMs - reference(t));
          if (d <= tolerance) {
            near++;
            distance += d;
          } else if (t + 1 - near > size * (1 - IN_RANGE_SHARE)) break;
        }
        if (near >= IN_RANGE_SHARE * size) {
          const when = timed ? '±1 day of each capture time' : '±3 years of the analysis time';
          return {
            kind: 'time',
            why: `holds ${unit.name} within ${when} for ${share(near, size)} of tokens`,
            misfit: distance / near / tolerance,
          };
        }
      }
    }
    const maxStep = Math.max(1, Math.min(MAX_STEP, Math.floor(range / 64)));
    let up = 0;
    let down = 0;
    for (let t = 1; t < size; t++) {
      const d = values[t]! - values[t - 1]!;
      if (d >= 1 && d <= maxStep) up++;
      else if (d <= -1 && d >= -maxStep) down++;
      // Bail out early: random fields almost never step by small amounts.
      if (t === 20 && up < 10 && down < 10) break;
    }
    const steps = Math.max(up, down);
    if (steps >= SMALL_STEP_SHARE * pairs) {
      return {
        kind: 'counter',
        why: `${up >= down ? 'increases' : 'decreases'} by 1–${maxStep} from one token to the next in ${share(steps, pairs)} of consecutive pairs`,
        misfit: 0,
      };
    }
    if (timed) {
      const r = correlation(values, issuedAt, size);
      if (r >= 0.99 && distinctAtLeast(values, 10)) {
        return {
          kind: 'time',
          why: `tracks the capture time (correlation ${r.toFixed(3)})`,
          misfit: 1,
        };
      }
    }
    return null;
  };
}

function varies(values: Float64Array): boolean {
  for (let t = 1; t < values.length; t++) if (values[t] !== values[0]) return true;
  return false;
}

/** Share of consecutive pairs that do not go backwards. */
function forwardShare(values: Float64Array): number {
  let forward = 0;
  for (let t = 1; t < values.length; t++) if (values[t]! >= values[t - 1]!) forward++;
  return forward / Math.max(1, values.length - 1);
}

function share(part: number, whole: number): string {
  return `${Math.round((100 * part) / whole)}%`;
}

function correlation(values: Float64Array, times: readonly number[], size: number): number {
  // Centre on the first values so large epochs keep their precision.
  const x0 = values[0]!;
  const y0 = times[0]!;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let t = 0; t < size; t++) {
    const x = values[t]! - x0;
    const y = times[t]! - y0;
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  const cov = sxy - (sx * sy) / size;
  const vx = sxx - (sx * sx) / size;
  const vy = syy - (sy * sy) / size;
  return vx > 0 && vy > 0 ? cov / Math.sqrt(vx * vy) : 0;
}

function distinctAtLeast(values: Float64Array, minimum: number): boolean {
  const seen = new Set<number>();
  for (const v of values) {
    seen.add(v);
    if (seen.size >= minimum) return true;
  }
  return false;
}
