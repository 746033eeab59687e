import { performance } from 'node:perf_hooks';
import { MemoizeError, SerializationError } from '../errors';
import { encode, stamp } from '../serializer';
import type { LockRequest } from '../stores/store';
import { settleError } from './cached-error';
import { withEnrollment } from './enrollment';
import { releaseLock } from './lock';
import type { Call, Runtime } from './runtime';
import { stampFor } from './tagging';
import { jitteredTtlMs } from './ttl-jitter';
import { enrolledMsAgo, writeEntry } from './write';

// The fill path: run the function, then decide, encode and write its result under the entry's
// token, releasing the lock on every way out. Once the function has succeeded, nothing here turns
// its result into a rejection: what goes wrong is reported, and the result is returned.

/** Runs the function; with a token, stores the result (and releases the lock, if held). */
export async function compute<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  token: string | undefined,
  lockToken?: string,
): Promise<R> {
  const started = performance.now();
  let result: R;
  try {
    result = await rt.fn(...(call.args as A));
  } catch (error) {
    await settleError(rt, call, token, error, lockToken);
    throw error;
  }
  const computeMs = performance.now() - started;
  rt.computeTimes.observe(computeMs);
  rt.events.miss(call);
  if (token === undefined) return result;
  const { acknowledged } = await save(rt, call, token, result, computeMs, lockToken);
  // Sent is enough for the caller: a later call's read goes out after the write on the same
  // connection; callers who joined the flight wait for the answer. Not with `awaitWrite`, nor for an
  // explicit `refresh`, nor for a tagged result, whose write on a cluster first makes its tag keys
  // exist (a read in between would find a recreated tag key and the entry's old value valid).
  if (call.explicit || rt.settings.awaitWrite || rt.settings.tags !== undefined) await acknowledged;
  else call.written = acknowledged;
  return result;
}

/** A new token for the entry, deleting its value: for damaged bytes and for `refresh`. */
export async function rotate<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  operation: string,
  lock?: LockRequest,
): Promise<{ token?: string; failure?: MemoizeError }> {
  const request = { key: call.key, tokenTtlMs: rt.settings.tokenTtlMs, lock };
  try {
    const options = { explicit: call.explicit, key: call.key };
    if (rt.settings.tags === undefined) {
      return { token: await withEnrollment(rt, call, operation, (store) => store.rotate(request), options) };
    }
    const [token, epoch] = await withEnrollment(
      rt,
      call,
      operation,
      (store) => Promise.all([store.rotate(request), store.tagEpoch?.()]),
      options,
    );
    call.tagEpoch = epoch;
    return { token };
  } catch (error) {
    return { failure: rt.report(error, call, operation) };
  }
}

/** Damaged or foreign bytes: report them, and let the fresh result replace them under a new token. */
export async function recover<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  damage: MemoizeError,
): Promise<R> {
  rt.report(damage, call);
  return compute(rt, call, (await rotate(rt, call, 'rotate')).token);
}

/** A write handed to the store: `acknowledged` settles, never rejecting, once the store answered or failed. */
interface Sent {
  readonly acknowledged: Promise<void>;
}

const NOTHING_SENT: Sent = { acknowledged: Promise.resolve() };

/**
 * Sends the write of `result` if it should be stored, and resolves once it is sent (not answered).
 * Never throws, and the lock is released whatever happens.
 */
async function save<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  token: string,
  result: R,
  computeMs: number,
  lockToken: string | undefined,
): Promise<Sent> {
  // The write releases the lock itself; until it is sent, every way out releases it here, and so
  // does a write the store did not answer.
  let sent = NOTHING_SENT;
  try {
    if (!(await shouldStore(rt, call, result))) return sent;
    const tagStamp = stampFor(rt, call, result);
    let value = tagStamp === null ? undefined : encodeForStore(rt, call, result);
    if (value === undefined) return sent;
    const { timed, staleTtlMs, tokenTtlMs } = rt.settings;
    const ttlMs = jitteredTtlMs(rt.settings.ttlMs, rt.settings.ttlJitter);
    if (timed) value = stamp(value, { freshUntil: Date.now() + ttlMs, computeMs });
    const request = {
      key: call.key,
      token,
      value,
      ttlMs: ttlMs + staleTtlMs,
      tokenTtlMs,
      lockToken,
      stamp: tagStamp ?? undefined,
      enrolledMsAgo: enrolledMsAgo(call),
    };
    // writeEntry hands the request to the store before its first await: the write is sent.
    const acknowledged = writeEntry(rt, call, request).then((answered) => {
      if (!answered && lockToken !== undefined) releaseLock(rt, call, lockToken, true);
    });
    sent = { acknowledged };
    return sent;
  } catch (error) {
    rt.report(
      new MemoizeError('E_UNSERIALIZABLE', `cache-memoize: the result of ${rt.settings.name} was not stored`, {
        cause: error,
      }),
      call,
    );
    return NOTHING_SENT;
  } finally {
    if (sent === NOTHING_SENT && lockToken !== undefined) releaseLock(rt, call, lockToken);
  }
}

/** `shouldCache` says yes (awaited if it returns a promise); if it throws, that is reported and the answer is no. */
async function shouldStore<A extends unknown[], R>(rt: Runtime<A, R>, call: Call<R>, result: R): Promise<boolean> {
  const { shouldCache, name } = rt.settings;
  if (shouldCache === undefined) return true;
  try {
    const answer = (shouldCache as unknown as (result: R, args: readonly unknown[]) => unknown)(result, call.args);
    return Boolean(isThenable(answer) ? await answer : answer);
  } catch (error) {
    rt.report(
      new MemoizeError(
        'E_SHOULD_CACHE',
        `cache-memoize: shouldCache of ${name} threw; the result was returned, not stored`,
        { cause: error },
      ),
      call,
    );
    return false;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** The encoded result, or `undefined` (reported) when it cannot or must not be stored. */
function encodeForStore<A extends unknown[], R>(rt: Runtime<A, R>, call: Call<R>, result: R): string | undefined {
  const { name } = rt.settings;
  try {
    // The encoder stops as soon as the result passes maxValueBytes: memory and time stay bounded.
    return encode(result, call.guard.settings.maxValueBytes, `the result of ${name}`);
  } catch (error) {
    rt.report(
      error instanceof SerializationError
        ? error
        : new SerializationError('E_UNSERIALIZABLE', `cache-memoize: the result of ${name} cannot be encoded`, {
            cause: error,
          }),
      call,
    );
    return undefined;
  }
}
