import { safeString } from '../errors';
import { ERROR, HEADER_LENGTH } from './format';

// A thrown error as the cache stores it (`cacheErrors`): its name, message and code, nothing else.
// Class identity, stack, cause and other properties do not survive a round trip through the store.

/** An error read back from the store: a hit on it rethrows an `Error` rebuilt from it. */
export class StoredError {
  constructor(
    readonly name: string,
    readonly message: string,
    readonly code: string | number | undefined,
  ) {}

  /** A new `Error` with this name, message and code, and `cached: true`; its stack is the caller's. */
  toError(): Error {
    const error = new Error(this.message);
    error.name = this.name;
    // The stack's first line was written with the name 'Error'.
    if (error.stack?.startsWith('Error') === true) error.stack = this.name + error.stack.slice('Error'.length);
    if (this.code !== undefined) Object.assign(error, { code: this.code });
    return Object.assign(error, { cached: true });
  }

  /** What a hit on this entry settles with. */
  rejection(): Promise<never> {
    return Promise.reject(this.toError());
  }
}

/** The envelope of a thrown value: an `Error`'s name, message and code; anything else as a message. */
export function encodeError(thrown: unknown): string {
  const error = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as Record<string, unknown>;
  const isError = thrown instanceof Error;
  const name = isError && typeof error.name === 'string' ? error.name : 'Error';
  const message = isError ? safeString(error.message) : safeString(thrown);
  const code =
    isError && (typeof error.code === 'string' || (typeof error.code === 'number' && Number.isFinite(error.code)))
      ? error.code
      : undefined;
  return ERROR + JSON.stringify(code === undefined ? [name, message] : [name, message, code]);
}

/** The error in an envelope {@link encodeError} wrote. @throws on anything else. */
export function decodeError(text: string): StoredError {
  const parts: unknown = JSON.parse(text.slice(HEADER_LENGTH));
  if (!Array.isArray(parts) || parts.length < 2 || parts.length > 3) throw new Error('malformed stored error');
  const [name, message, code] = parts as unknown[];
  if (typeof name !== 'string' || typeof message !== 'string') throw new Error('malformed stored error');
  if (code !== undefined && typeof code !== 'string' && typeof code !== 'number') {
    throw new Error('malformed stored error code');
  }
  return new StoredError(name, message, code);
}
