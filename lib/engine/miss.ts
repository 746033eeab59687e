import { performance } from 'node:perf_hooks';
import { compute } from './fill';
import { beginEntry, requestLock, type WaitOutcome, waitForHolder } from './lock';
import type { Call, Runtime } from './runtime';
import { found } from './stored-value';

/**
 * A miss: ask the store to begin (take the entry's token, and its lock), then compute, or take the
 * value that landed meanwhile, or wait for the lock's holder. A store that fails here costs only
 * the cache: the function runs without it.
 */
export async function miss<A extends unknown[], R>(rt: Runtime<A, R>, call: Call<R>): Promise<R> {
  const lock = requestLock(rt);
  const askedAt = performance.now();
  const begun = await beginEntry(rt, call, lock);
  if (begun === undefined) return compute(rt, call, undefined);
  if (begun.value !== undefined) return found(rt, call, begun.value, begun.tags);
  if (lock === undefined || begun.locked !== false) return compute(rt, call, begun.token, lock?.token);
  return afterWait(rt, call, await waitForHolder(rt, call, lock, begun.holder, askedAt));
}

/** What the wait for the lock's holder ended with: its value, or this call computes. */
function afterWait<A extends unknown[], R>(rt: Runtime<A, R>, call: Call<R>, outcome: WaitOutcome): R | Promise<R> {
  if (outcome.value !== undefined) return found(rt, call, outcome.value, outcome.tags);
  return compute(rt, call, outcome.token, outcome.lockToken);
}
