import { decode } from '../serializer';
import { refreshInBackground } from './background-refresh';
import { shouldRefreshEarly } from './early-refresh';
import { recover } from './fill';
import type { LocalTier } from './local-tier';
import type { Call, Runtime } from './runtime';

/**
 * A value read from the store (by the hit path's `GET`, or by a miss's `begin` that found one
 * landed meanwhile): decoded, it is a hit. A stale or nearly expired one also starts a background
 * refresh; a fresh one is kept by the local tier when the read may be trusted (with its tags, if
 * tagged, so that an invalidation of one of them evicts it). Damaged bytes are
 * reported and replaced by a fresh result.
 */
export function found<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  stored: string,
  tags?: readonly string[],
): R | Promise<R> {
  const decoded = decode(stored);
  if (!decoded.ok) return recover(rt, call, decoded.error);
  const { refreshes, earlyRefresh } = rt.settings;
  let stale = false;
  // Without stale-while-revalidate or early refresh, freshness only caps the local tier's copy.
  if (decoded.freshUntil !== undefined && refreshes) {
    const now = Date.now();
    stale = now >= decoded.freshUntil;
    if (
      stale ||
      (earlyRefresh !== undefined &&
        shouldRefreshEarly(now, decoded.freshUntil, decoded.computeMs ?? 0, earlyRefresh.beta, earlyRefresh.random))
    ) {
      refreshInBackground(rt, call.key, call.args, call.guard);
    }
  }
  if (!stale && call.ticket >= 0) {
    (rt.tier as LocalTier).keep(
      call.key,
      call.ticket,
      decoded.value,
      stored,
      decoded.freshUntil,
      decoded.computeMs,
      tags,
    );
  }
  rt.events.hit(call, stale ? 'stale' : undefined);
  return decoded.value as R;
}
