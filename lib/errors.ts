/**
 * Machine-readable reason carried by every {@link MemoizeError}.
 *
 * - `E_UNSERIALIZABLE`: the result cannot round-trip through the cache; it was returned, not stored.
 * - `E_TOO_LARGE`: the encoded result is over `maxValueBytes`; it was returned, not stored.
 * - `E_DECODE`: the bytes found in the store are not a value this version wrote; treated as a miss.
 * - `E_TIMEOUT`: the store did not answer within `timeout`; the call went on without it.
 * - `E_UNAVAILABLE`: the store failed, refused the connection or was not connected; the call went on
 *   without it.
 * - `E_CIRCUIT_OPEN`: the store failed repeatedly, so this call skipped it during the cool-down.
 * - `E_WRITE_REFUSED`: the store answered but refused the write (`OOM`, `READONLY`, `MISCONF`).
 * - `E_COMMAND_ERROR`: the store answered a command with another error (say, `ERR` from a proxy that
 *   lacks a command); the store is up, so this does not count towards the circuit breaker.
 * - `E_NO_PERMISSION`: the Redis user lacks a command or key permission the cache needs (`NOPERM`);
 *   the message names it.
 * - `E_REFRESH_FAILED`: a background refresh (stale-while-revalidate, early refresh) threw; `cause` is
 *   the function's error. Callers keep getting the stale value until it expires.
 * - `E_NOT_CONFIGURED`: a memoized function was called before any store was configured.
 * - `E_SHOULD_CACHE`: the `shouldCache` option threw (or its promise rejected); the result was
 *   returned, not stored. `cause` is what it threw.
 * - `E_NO_TRACKING`: the `local` tier cannot hear changes from the store (a Redis Cluster client,
 *   a node-redis Sentinel client, node-redis before 5.9, or a custom store without `tracking()`), so it
 *   is not used: every call reads the store, as without `local`.
 * - `E_BAD_TAGS`: the `tags` function threw or returned something that is not a list of valid tags;
 *   the result was returned, not stored. `cause` is what it threw.
 * - `E_NO_TAGS`: a function has `tags` but its store does not implement tags (`getTagged`,
 *   `tagEpoch`, `invalidateTags`); its results are returned, not stored. `invalidateTags` rejects
 *   with it.
 */
export type MemoizeErrorCode =
  | 'E_UNSERIALIZABLE'
  | 'E_TOO_LARGE'
  | 'E_DECODE'
  | 'E_TIMEOUT'
  | 'E_UNAVAILABLE'
  | 'E_CIRCUIT_OPEN'
  | 'E_WRITE_REFUSED'
  | 'E_COMMAND_ERROR'
  | 'E_NO_PERMISSION'
  | 'E_REFRESH_FAILED'
  | 'E_NOT_CONFIGURED'
  | 'E_SHOULD_CACHE'
  | 'E_NO_TRACKING'
  | 'E_BAD_TAGS'
  | 'E_NO_TAGS';

/**
 * Base class of every error the library reports or throws (argument mistakes are plain `TypeError`s).
 *
 * @example
 * ```ts
 * memoize(fn, { onError: ({ error }) => log.warn(error.code, error.cause) });
 * ```
 */
export class MemoizeError extends Error {
  /** Why it happened; stable across versions, safe to switch on. */
  readonly code: MemoizeErrorCode;

  constructor(code: MemoizeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MemoizeError';
    this.code = code;
  }
}

/** A value could not be encoded or stored, or bytes from the store could not be decoded. */
export class SerializationError extends MemoizeError {
  constructor(code: 'E_UNSERIALIZABLE' | 'E_TOO_LARGE' | 'E_DECODE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SerializationError';
  }
}

/** Codes of a {@link StoreError}. */
export type StoreErrorCode =
  | 'E_TIMEOUT'
  | 'E_UNAVAILABLE'
  | 'E_CIRCUIT_OPEN'
  | 'E_WRITE_REFUSED'
  | 'E_COMMAND_ERROR'
  | 'E_NO_PERMISSION';

/** The store (Redis) failed, was slow or unreachable, or refused a command. The original error is in `cause`. */
export class StoreError extends MemoizeError {
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

/**
 * A store failure as a {@link StoreError}, for stores that do not describe their own failures: a
 * `StoreError` stays as it is, anything else is an outage (`E_UNAVAILABLE`).
 */
export function asStoreError(operation: string, cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause;
  const text = cause instanceof Error ? cause.message : safeString(cause);
  return new StoreError('E_UNAVAILABLE', `cache-memoize: store ${operation} failed: ${text}`, { cause });
}

/**
 * Whether a store failure says the store is down or too slow (`E_UNAVAILABLE`, `E_TIMEOUT`), as
 * opposed to an answer that refused the operation: the circuit breaker counts outages only.
 */
export function isOutage(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'E_UNAVAILABLE' || code === 'E_TIMEOUT';
}

/**
 * `String(value)`, for values that refuse it: an object without a prototype, or one whose
 * `toString` throws. What a hook or a store throws must never break a call.
 */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
