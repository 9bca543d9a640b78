/**
 * Min-entropy estimators from NIST SP 800-90B, applied to token samples. They give conservative
 * lower bounds whose size depends on the sample: with 1,000 tokens even perfect bits score only
 * about 0.89 bit each, so these figures are reported, never used to prove 128 bits.
 */

/** The 99% upper confidence factor SP 800-90B uses (ZALPHA in the reference tool). */
const Z_ALPHA = 2.576;

/**
 * SP 800-90B §6.3.1 most-common-value estimate for one bit position across L tokens:
 * p̂ = max count / L, p_u = min(1, p̂ + 2.576·√(p̂(1 − p̂)/(L − 1))), H = −log2 p_u.
 *
 * @example mostCommonValueBits(500, 1_000) // ≈ 0.887
 */
export function mostCommonValueBits(ones: number, samples: number): number {
  if (samples < 2) return 0;
  const pHat = Math.max(ones, samples - ones) / samples;
  const pU = Math.min(1, pHat + Z_ALPHA * Math.sqrt((pHat * (1 - pHat)) / (samples - 1)));
  return Math.max(0, -Math.log2(pU));
}

/**
 * What `mostCommonValueBits` gives on average for a perfect bit at this sample size, and the
 * standard deviation of that figure, so a shortfall can be judged against chance. p̂ − ½ of a
 * fair bit is half-normal with mean 0.3989/√L and standard deviation 0.3015/√L.
 *
 * @example expectedRandomMcv(1_000).bitsPerBit // ≈ 0.87
 */
export function expectedRandomMcv(samples: number): { bitsPerBit: number; sdPerBit: number } {
  const pHat = 0.5 + 0.3989 / Math.sqrt(samples);
  const pU = Math.min(1, pHat + Z_ALPHA * Math.sqrt((pHat * (1 - pHat)) / (samples - 1)));
  const slope = 1 / (pU * Math.LN2);
  return { bitsPerBit: -Math.log2(pU), sdPerBit: (slope * 0.3015) / Math.sqrt(samples) };
}

/** Result of the t-tuple estimator. */
export interface TupleEstimate {
  bitsPerBit: number;
  /** Largest tuple length examined. */
  maxTuple: number;
  /** Bits of the stream examined (the estimator caps the stream for speed). */
  streamBits: number;
}

/** Longest tuple examined: 2^20 counters (4 MB) is the memory ceiling chosen here. */
const MAX_TUPLE_BITS = 20;
/** Stream length examined: enough for tuples up to ~15 bits at the 35-count cut-off. */
const MAX_STREAM_BITS = 1 << 20;

/**
 * SP 800-90B §6.3.5 t-tuple estimate on a bit stream: for each tuple length i up to the largest
 * whose most common tuple occurs at least 35 times, P[i] = Q[i]/(L − i + 1); p̂ = max P[i]^(1/i);
 * upper bound as in MCV; H = −log2 p_u per bit. A constant prefix shared by all tokens makes
 * long tuples repeat and pulls the estimate down. Tuples are capped at 20 bits and the stream at
 * 2^20 bits (stated, since a longer cap could only lower the estimate).
 *
 * @example tupleEstimate(new Uint8Array(10_000)).bitsPerBit // ≈ 0: one repeated value
 */
export function tupleEstimate(stream: Uint8Array): TupleEstimate {
  const bits = stream.length > MAX_STREAM_BITS ? stream.subarray(0, MAX_STREAM_BITS) : stream;
  const length = bits.length;
  if (length < 64) return { bitsPerBit: 0, maxTuple: 0, streamBits: length };
  let pMax = 0;
  let maxTuple = 0;
  for (let t = 1; t <= MAX_TUPLE_BITS && t <= length; t++) {
    const counts = new Uint32Array(1 << t);
    const mask = (1 << t) - 1;
    let window = 0;
    let most = 0;
    for (let i = 0; i < length; i++) {
      window = ((window << 1) | bits[i]!) & mask;
      if (i >= t - 1) {
        const c = ++counts[window]!;
        if (c > most) most = c;
      }
    }
    if (most < 35) break;
    maxTuple = t;
    pMax = Math.max(pMax, (most / (length - t + 1)) ** (1 / t));
  }
  if (maxTuple === 0) return { bitsPerBit: 1, maxTuple, streamBits: length };
  const pU = Math.min(1, pMax + Z_ALPHA * Math.sqrt((pMax * (1 - pMax)) / (length - 1)));
  return { bitsPerBit: Math.min(1, -Math.log2(pU)), maxTuple, streamBits: length };
}
