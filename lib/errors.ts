/**
 * Machine-readable reason carried by every {@link MemoizeError}.
 *
 * - `E_UNSERIALIZABLE`: the result cannot round-trip through the cache; it was returned, not stored.
 * - `E_DECODE`: the bytes found in the store are not a value this version wrote; treated as a miss.
 * - `E_UNAVAILABLE`: the store failed or refused the connection; the call went on without it.
 * - `E_WRITE_REFUSED`: the store answered but refused the write (`OOM`, `READONLY`, `NOPERM`).
 * - `E_NOT_CONFIGURED`: a memoized function was called before any store was configured.
 */
export type MemoizeErrorCode =
  | 'E_UNSERIALIZABLE'
  | 'E_DECODE'
  | 'E_UNAVAILABLE'
  | 'E_WRITE_REFUSED'
  | 'E_NOT_CONFIGURED';

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

/** A value could not be encoded for the store, or bytes from the store could not be decoded. */
export class SerializationError extends MemoizeError {
  constructor(code: 'E_UNSERIALIZABLE' | 'E_DECODE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SerializationError';
  }
}

/** The store (Redis) failed, was unreachable, or refused a command. The original error is in `cause`. */
export class StoreError extends MemoizeError {
  constructor(code: 'E_UNAVAILABLE' | 'E_WRITE_REFUSED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

const REFUSAL = /^(OOM|READONLY|NOPERM|MISCONF)\b/;

/** Wraps whatever a store threw into a {@link StoreError}, telling a refusal from an outage. */
export function toStoreError(operation: string, cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause;
  const text = cause instanceof Error ? cause.message : String(cause);
  const code = REFUSAL.test(text) ? 'E_WRITE_REFUSED' : 'E_UNAVAILABLE';
  return new StoreError(code, `cache-memoize: store ${operation} failed: ${text}`, { cause });
}
