import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isOutage, type MemoizeError } from '../errors';
import type { Begin, LockRequest } from '../stores/store';
import { withEnrollment } from './enrollment';
import type { Call, Runtime } from './runtime';

// The caller side of the cross-process compute lock: how long a lock lives, asking for it, waiting
// for its holder, and letting it go. The store side (taking it atomically with the token, announcing
// releases) is the store's.

/** The shortest lock a holder gets when `lockTtl` is not given. */
const MIN_LOCK_TTL_MS = 5000;

/** How often a waiter re-checks when no release is announced: a twentieth of the lock, 25 to 250 ms. */
export function pollMs(lockTtlMs: number): number {
  return Math.min(250, Math.max(25, Math.round(lockTtlMs / 20)));
}

/** A lock request that a wait ended with: a value landed, or compute under `token` (holding `lockToken`). */
export type WaitOutcome =
  | { value: string; tags?: readonly string[] | undefined }
  | { value?: undefined; token: string | undefined; lockToken?: string };

/** The lock a miss asks for, or `undefined` when locking is off. */
export function requestLock<A extends unknown[], R>(rt: Runtime<A, R>): LockRequest | undefined {
  const { lock, lockTtlMs } = rt.settings;
  if (!lock) return undefined;
  return { token: randomUUID(), ttlMs: lockTtlMs ?? rt.computeTimes.lockTtlMs(MIN_LOCK_TTL_MS) };
}

/**
 * Lets a lock go (and wakes its waiters) without making the caller wait for it; a failure is
 * reported. Releasing checks the token, so releasing a lock that was never taken is harmless.
 *
 * `afterFailure`: the release cleans up after the call's own `begin` or write failed. If the store
 * is down, it fails for the same outage, which the breaker has counted and `onError` has heard once
 * already: that failure is neither counted nor reported (the lock then ends with its ttl). Any
 * other failure is reported.
 */
export function releaseLock<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  lockToken: string,
  afterFailure = false,
): void {
  call.guard
    .run('release', (store) => store.release?.({ key: call.key, lockToken }) ?? Promise.resolve(), {
      explicit: true,
      key: call.key,
      counted: !afterFailure,
    })
    .catch((error: unknown) => {
      if (afterFailure && isOutage(error)) return;
      rt.report(error, call, 'release');
    });
}

/**
 * Asks the store to begin filling the entry: its token, and the lock when `lock` is given (a
 * background refresh passes `ignoreValue`). `undefined` when the store failed: that is reported, a
 * lock the request may still have taken is let go, and the caller computes without the store.
 */
export async function beginEntry<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  lock: LockRequest | undefined,
  ignoreValue = false,
): Promise<Begin | undefined> {
  const tagged = rt.settings.tags !== undefined;
  const request = { key: call.key, tokenTtlMs: rt.settings.tokenTtlMs, lock, ignoreValue, tagged };
  try {
    const options = { key: call.key };
    if (!tagged) return await withEnrollment(rt, call, 'begin', (store) => store.begin(request), options);
    // The epoch is read in parallel with the begin; both are in before the function runs.
    const [begun, epoch] = await withEnrollment(
      rt,
      call,
      'begin',
      (store) => Promise.all([store.begin(request), store.tagEpoch?.()]),
      options,
    );
    call.tagEpoch = epoch;
    return begun;
  } catch (error) {
    rt.report(error, call, 'begin');
    abandonLock(rt, call, lock);
    return undefined;
  }
}

/**
 * A lock request whose answer was lost (timeout, dropped connection) may still have taken the lock
 * when the store wakes up; nobody would compute under it, so release it. Not while the store is not
 * connected: the request was refused before it was sent, or the release could not be sent either
 * (the lock then ends with its ttl), and its failure would only report the same outage twice. Nor
 * when `failure`, the request's own, says it was never sent (an open circuit): releases are not held
 * back by the circuit, and every call skipped by it would send one.
 */
export function abandonLock<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  lock: LockRequest | undefined,
  failure?: MemoizeError,
): void {
  if (lock === undefined || call.guard.store.isReady?.() === false) return;
  if (failure !== undefined && NEVER_SENT.has(failure.code)) return;
  releaseLock(rt, call, lock.token, true);
}

/** The codes of a store operation the guard refused before sending it. */
const NEVER_SENT: ReadonlySet<string> = new Set(['E_CIRCUIT_OPEN', 'E_UNAVAILABLE']);

/**
 * Another process holds the entry's lock: wait for its result instead of computing too. Woken when
 * the release is announced (or every poll), it asks again: a value ends the wait; a free lock is
 * taken and this call computes (the holder crashed or gave up). Patience runs per holder, so it is
 * only lost to one that kept the lock for `lockWait`; then this call computes without the lock.
 * A store that fails ends the wait too: the call computes without the store.
 */
export async function waitForHolder<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  lock: LockRequest,
  firstHolder: string | undefined,
  firstAskedAt: number,
): Promise<WaitOutcome> {
  const waitMs = rt.settings.lockWaitMs ?? lock.ttlMs;
  const poll = pollMs(lock.ttlMs);
  const { key } = call;
  let holder = firstHolder;
  let patienceEnds = performance.now() + waitMs;
  let since = firstAskedAt;
  for (;;) {
    const remaining = patienceEnds - performance.now();
    if (remaining > 0) {
      const ms = Math.min(poll, remaining);
      const { store } = call.guard;
      await (store.waitFor === undefined ? sleep(ms) : store.waitFor({ key, ms, since }).promise);
    }
    since = performance.now();
    const begun = await beginEntry(rt, call, lock);
    if (begun === undefined) return { token: undefined };
    if (begun.value !== undefined) return { value: begun.value, tags: begun.tags };
    if (begun.locked !== false) return { token: begun.token, lockToken: lock.token };
    if (begun.holder !== holder) {
      holder = begun.holder;
      patienceEnds = performance.now() + waitMs;
    } else if (performance.now() >= patienceEnds) {
      return { token: begun.token };
    }
  }
}
