/**
 * Tail probabilities for the normal, chi-square and Poisson distributions, written out so the
 * auditor needs no statistics dependency. Accuracy is about 1e-7 relative, which is ample: the
 * verdict compares p-values with thresholds around 1e-8 to 1e-4, never with more digits.
 */

/**
 * Complementary error function (Chebyshev fit, Numerical Recipes `erfcc`, fractional error
 * below 1.2e-7 everywhere, including deep in the tail where p-values live).
 *
 * @example erfc(0) // 1
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (let i = ERFC_COEFFICIENTS.length - 1; i >= 0; i--) poly = poly * t + ERFC_COEFFICIENTS[i]!;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

const ERFC_COEFFICIENTS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];

/**
 * Two-sided p-value of a standard normal score.
 *
 * @example twoSidedNormalP(1.959964) // ≈ 0.05
 */
export function twoSidedNormalP(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/**
 * Upper-tail p-value P(Z ≥ z) of a standard normal score.
 *
 * @example upperNormalP(0) // 0.5
 */
export function upperNormalP(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * Natural log of the gamma function (Lanczos, Numerical Recipes `gammln`).
 *
 * @example Math.exp(lnGamma(5)) // ≈ 24
 */
export function lnGamma(x: number): number {
  const cof = [
    76.18009172947146, -86.50532032941678, 24.01409824083091, -1.231739572450155,
    0.1208650973866179e-2, -0.5395239384953e-5,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.000000000190015;
  for (const c of cof) {
    y += 1;
    ser += c / y;
  }
  return -tmp + Math.log((2.5066282746310007 * ser) / x);
}

const EPSILON = 1e-15;
const TINY = 1e-300;

/**
 * Regularised lower incomplete gamma P(a, x).
 *
 * @example regularizedGammaP(1, 1) // ≈ 1 - e^-1
 */
export function regularizedGammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  if (x < a + 1) return gammaSeries(a, x);
  return 1 - gammaContinuedFraction(a, x);
}

/**
 * Regularised upper incomplete gamma Q(a, x) = 1 − P(a, x), computed directly so that small
 * tails keep their relative precision.
 *
 * @example regularizedGammaQ(1, 1) // ≈ e^-1
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x < a + 1) return 1 - gammaSeries(a, x);
  return gammaContinuedFraction(a, x);
}

function gammaSeries(a: number, x: number): number {
  let ap = a;
  let sum = 1 / a;
  let del = sum;
  for (let n = 0; n < 10_000; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPSILON) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
}

function gammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPSILON) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
}

/**
 * Upper-tail p-value of a chi-square statistic.
 *
 * @example chiSquareUpperP(3.841, 1) // ≈ 0.05
 */
export function chiSquareUpperP(statistic: number, degreesOfFreedom: number): number {
  return regularizedGammaQ(degreesOfFreedom / 2, statistic / 2);
}

/**
 * Lower-tail p-value of a chi-square statistic (for "too uniform" checks such as FIPS poker).
 *
 * @example chiSquareLowerP(0.0039, 1) // ≈ 0.05
 */
export function chiSquareLowerP(statistic: number, degreesOfFreedom: number): number {
  return regularizedGammaP(degreesOfFreedom / 2, statistic / 2);
}

/**
 * P(X ≥ k) for X ~ Poisson(mean).
 *
 * @example poissonAtLeastP(1, 1) // ≈ 1 - e^-1
 */
export function poissonAtLeastP(k: number, mean: number): number {
  if (k <= 0) return 1;
  if (mean <= 0) return 0;
  return regularizedGammaP(k, mean);
}

/**
 * P(X ≤ k) for X ~ Poisson(mean).
 *
 * @example poissonAtMostP(0, 1) // ≈ e^-1
 */
export function poissonAtMostP(k: number, mean: number): number {
  if (k < 0) return 0;
  if (mean <= 0) return 1;
  return regularizedGammaQ(k + 1, mean);
}
