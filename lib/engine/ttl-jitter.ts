// TTL jitter: entries written together (a deploy, a cold cache, a batch) would otherwise expire
// together and be recomputed together. Each write shortens its ttl by a random part of `ttlJitter`,
// never lengthens it, so `ttl` stays an upper bound users can rely on.

/**
 * The ttl of one write: `ttlMs × (1 − jitter × r)` with `r` from `random` (uniform in [0, 1)), so in
 * `(ttlMs × (1 − jitter), ttlMs]`, and at least 1 ms. `Infinity` and a jitter of 0 leave it as is.
 */
export function jitteredTtlMs(ttlMs: number, jitter: number, random: () => number = Math.random): number {
  if (jitter === 0 || !Number.isFinite(ttlMs)) return ttlMs;
  return Math.max(1, Math.round(ttlMs * (1 - jitter * random())));
}
