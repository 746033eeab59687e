import { performance } from 'node:perf_hooks';
import type { MemoizeError } from '../errors';
import { entriesPrefix } from '../key';
import { compute, rotate } from './fill';
import { abandonLock, requestLock } from './lock';
import { Call, type Runtime } from './runtime';

// The explicit operations: `invalidate`, `refresh` and `invalidateAll`. Each one removes the
// entries' tokens in the store, so that no computation that began before it can write after it, and
// forgets the local copies before and after the store answered, so that a read in flight meanwhile is
// not kept either. They reject when the store did not confirm, and an open circuit does not hold
// them back.

/** Deletes the entry for `args`. */
export async function invalidate<A extends unknown[], R>(rt: Runtime<A, R>, args: A): Promise<void> {
  const key = rt.keyFor(args);
  const info = { key, args, started: performance.now() };
  const guard = rt.guard();
  rt.flights.detach(key);
  rt.tier?.forget(key);
  try {
    await guard.run('invalidate', (store) => store.delete(key), { explicit: true, key });
  } catch (error) {
    throw rt.report(error, info, 'invalidate');
  } finally {
    rt.tier?.forget(key);
  }
}

/**
 * Invalidates the entry and computes it anew under its lock, so other processes wait for this
 * result. Callers in this process that join meanwhile get the fresh value even if the invalidation
 * failed; this call then rejects with that failure.
 */
export async function refresh<A extends unknown[], R>(rt: Runtime<A, R>, args: A): Promise<R> {
  const key = rt.keyFor(args);
  const call = new Call<R>(rt.guard(), key, args, true);
  let failure: MemoizeError | undefined;
  const lock = requestLock(rt);
  rt.tier?.forget(key);
  const work = (async () => {
    try {
      const rotated = await rotate(rt, call, 'refresh', lock);
      failure = rotated.failure;
      if (failure !== undefined) abandonLock(rt, call, lock);
      return await compute(rt, call, rotated.token, rotated.token === undefined ? undefined : lock?.token);
    } finally {
      rt.tier?.forget(key);
    }
  })();
  call.promise = rt.holding(call, work);
  rt.flights.add(key, call);
  const result = await call.promise;
  if (failure !== undefined) throw failure;
  return result;
}

/** Deletes every entry of the function, each round trip under the deadline. */
export async function invalidateAll<A extends unknown[], R>(rt: Runtime<A, R>): Promise<void> {
  const { functionPrefix } = rt.settings;
  const info = { key: functionPrefix, args: [], started: performance.now() };
  const guard = rt.guard();
  rt.flights.detachAll();
  rt.tier?.clear();
  try {
    const refusal = guard.explicitRefusal('invalidateAll');
    if (refusal !== undefined) throw refusal;
    await guard.store.deleteMatching({ prefix: entriesPrefix(functionPrefix), bound: guard.bound('invalidateAll') });
  } catch (error) {
    throw rt.report(error, info, 'invalidateAll');
  } finally {
    rt.tier?.clear();
  }
}
