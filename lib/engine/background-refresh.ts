import { MemoizeError } from '../errors';
import type { StoreGuard } from '../guard';
import { compute } from './fill';
import { beginEntry, requestLock } from './lock';
import { Call, type Runtime } from './runtime';

/**
 * Background refresh of an entry whose caller already got a value: stale-while-revalidate (past its
 * ttl) and early refresh (XFetch, close to it). Once per key in this process, and once in the cluster
 * when locking is on: a process that finds the lock taken leaves the refresh to its holder. A failure
 * is reported; the old value keeps being served until it expires.
 */
export function refreshInBackground<A extends unknown[], R>(
  rt: Runtime<A, R>,
  key: string,
  args: readonly unknown[],
  guard: StoreGuard,
): void {
  if (rt.refreshing.has(key)) return;
  rt.refreshing.add(key);
  const call = new Call<R>(guard, key, args, false);
  refresh(rt, call)
    .catch((error: unknown) =>
      rt.report(
        new MemoizeError('E_REFRESH_FAILED', 'cache-memoize: background refresh failed', { cause: error }),
        call,
      ),
    )
    .finally(() => rt.refreshing.delete(key));
}

async function refresh<A extends unknown[], R>(rt: Runtime<A, R>, call: Call<R>): Promise<void> {
  const lock = requestLock(rt);
  const begun = await beginEntry(rt, call, lock, true);
  if (begun === undefined || begun.value !== undefined || begun.locked === false) return;
  await compute(rt, call, begun.token, lock?.token);
  // Nobody waits for a background refresh: it ends (and may start again) once its write was answered.
  await call.written;
}
