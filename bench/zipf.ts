/**
 * Skewed popularity for the page load: rank r (1-based) is drawn with probability proportional to 1 / r^s, as page
 * views of a marketplace are (a few gigs get most views, a long tail gets a few). Deterministic given a seed.
 */

import { prng } from '../subgraphs/toolkit/demoData.js';

/** The demo data's seedable PRNG, so every contender sees the same sequence of gig ids. */
export const seededRandom = prng;

export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Returns a sampler of 0-based ranks in [0, n) with Zipf exponent `s`. */
export function zipfSampler(n: number, s: number, seed: number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) {
    total += 1 / Math.pow(r + 1, s);
    cdf[r] = total;
  }
  const random = seededRandom(seed);
  return () => {
    const target = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
