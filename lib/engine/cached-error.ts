import { encodeError } from '../envelope/stored-error';
import { MemoizeError, SerializationError } from '../errors';
import { stamp } from '../serializer';
import { releaseLock } from './lock';
import type { Call, Runtime } from './runtime';
import { errorStampFor } from './tagging';
import { jitteredTtlMs } from './ttl-jitter';
import { enrolledMsAgo, writeEntry } from './write';

// Cached errors (`cacheErrors`): an error the function threw is stored like a result, for `errorTtl`,
// so that hits (and the callers waiting on the lock) rethrow it instead of running the function again.
// A tagged function's error carries its fixed tags (none for a tags function, which reads a result).

/**
 * The function threw `error`: store it when `cacheErrors` says so and the call holds a token, else
 * just let the lock go. Never throws; the lock is released whatever happens.
 */
export async function settleError<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  token: string | undefined,
  error: unknown,
  lockToken: string | undefined,
): Promise<void> {
  // The write releases the lock itself; until it is sent, every way out releases it here.
  let held = lockToken;
  try {
    if (token === undefined || !shouldCacheError(rt, call, error)) return;
    const tagStamp = errorStampFor(rt, call);
    if (tagStamp === null) return;
    const { errorTtlMs, ttlJitter, timed, tokenTtlMs, name } = rt.settings;
    let value = encodeError(error);
    const limit = call.guard.settings.maxValueBytes;
    if (Buffer.byteLength(value) > limit) {
      rt.report(
        new SerializationError('E_TOO_LARGE', `cache-memoize: the error of ${name} is over ${limit} bytes; not cached`),
        call,
      );
      return;
    }
    const ttlMs = jitteredTtlMs(errorTtlMs, ttlJitter);
    // No stale window: a cached error stops being served when it stops being fresh.
    if (timed) value = stamp(value, { freshUntil: Date.now() + ttlMs, computeMs: 0 });
    const request = {
      key: call.key,
      token,
      value,
      ttlMs,
      tokenTtlMs,
      lockToken,
      stamp: tagStamp,
      enrolledMsAgo: enrolledMsAgo(call),
    };
    if (await writeEntry(rt, call, request)) held = undefined;
  } finally {
    if (held !== undefined) releaseLock(rt, call, held);
  }
}

/** `cacheErrors` says yes; if it throws, that is reported and the answer is no. */
function shouldCacheError<A extends unknown[], R>(rt: Runtime<A, R>, call: Call<R>, error: unknown): boolean {
  const { cacheErrors, name } = rt.settings;
  if (cacheErrors === undefined) return false;
  try {
    return Boolean(cacheErrors(error));
  } catch (thrown) {
    rt.report(
      new MemoizeError('E_SHOULD_CACHE', `cache-memoize: cacheErrors of ${name} threw; the error was not cached`, {
        cause: thrown,
      }),
      call,
    );
    return false;
  }
}
