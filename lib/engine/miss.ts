import { performance } from 'node:perf_hooks';
import type { MemoizeError } from '../errors';
import type { Begin, LockRequest } from '../stores/store';
import { enrollment } from './enrollment';
import { compute } from './fill';
import { abandonLock, beginEntry, requestLock, type WaitOutcome, waitForHolder } from './lock';
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
  return afterBegin(rt, call, lock, await beginEntry(rt, call, lock), askedAt);
}

/** A read that began the entry reports to its call: a value is a hit; a miss goes on from `resolve`. */
export interface BeginningRead<R> extends Call<R> {
  /** The store found a value: the read path's hit. */
  answered(stored: string): void;
  /** The read failed, timed out or was skipped: the function runs without the store. */
  failed(error: MemoizeError): void;
  /** The call's result, once the miss that follows settles it. */
  resolve(value: R | PromiseLike<R>): void;
  reject(error: unknown): void;
}

/**
 * The store read of a function whose reads mostly miss: the store's `begin` itself (one round trip,
 * under the same deadline and breaker as a read), which answers the value when there is one and
 * otherwise the token and the lock's outcome, so the miss goes on to compute or wait without a round
 * trip of its own. A lost answer lets go of the lock the request may have taken.
 */
export function readOrBegin<A extends unknown[], R>(rt: Runtime<A, R>, call: BeginningRead<R>): void {
  const lock = requestLock(rt);
  const askedAt = performance.now();
  const request = { key: call.key, tokenTtlMs: rt.settings.tokenTtlMs, lock };
  // A cluster's enrollment goes alongside, as with every begin; only a miss waits for it.
  const enrolled = enrollment(rt, call)?.then(
    () => undefined,
    (failure: unknown) => ({ failure }),
  );
  call.guard
    .run('read', (store) => store.begin(request), { key: call.key })
    .then(
      (begun) => {
        if (begun.value !== undefined) return call.answered(begun.value);
        rt.misses.observe(true);
        const work =
          enrolled === undefined
            ? afterBegin(rt, call, lock, begun, askedAt)
            : enrolled.then((failed) => afterBegin(rt, call, lock, failed ?? begun, askedAt));
        call.resolve(rt.holding(call, work));
      },
      (error: MemoizeError) => {
        abandonLock(rt, call, lock, error);
        call.failed(error);
      },
    )
    // Only a store hook that throws (isReady) gets here; a call already settled ignores it.
    .catch((error: unknown) => call.reject(error));
}

/**
 * What a begin found: no store (compute without it), a value, the lock (compute), or its holder
 * (wait). A failure of the enrollment that went with it counts as a failed begin: reported, the lock
 * let go, and the function runs without the store.
 */
async function afterBegin<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  lock: LockRequest | undefined,
  begun: Begin | undefined | { failure: unknown },
  askedAt: number,
): Promise<R> {
  if (begun !== undefined && 'failure' in begun) {
    rt.report(begun.failure, call, 'begin');
    abandonLock(rt, call, lock);
    return compute(rt, call, undefined);
  }
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
