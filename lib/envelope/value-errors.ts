// Why a value cannot be written or read, and where in it.

/** Deepest nesting of objects, arrays, Maps and Sets a cached result may have; deeper is `E_UNSERIALIZABLE`. */
export const MAX_VALUE_DEPTH = 1000;

/** A reason a value cannot be cached; each container level prepends its path segment on the way out. */
export class Unserializable extends Error {
  constructor(
    readonly reason: string,
    readonly path = '',
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** The output passed its byte limit: `bytes` is how far it got (or its exact size when `exact`). */
export class TooLarge extends Error {
  constructor(
    readonly bytes: number,
    readonly exact = false,
  ) {
    super('too large');
  }
}

/** Any error met while walking a value (a getter or proxy trap that throws, the stack running out). */
export function asUnserializable(error: unknown): Unserializable {
  if (error instanceof Unserializable) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RangeError && message.includes('call stack')) {
    return new Unserializable(`is nested too deeply (the stack ran out before ${MAX_VALUE_DEPTH} levels)`, '', {
      cause: error,
    });
  }
  return new Unserializable(`could not be read (${message})`, '', { cause: error });
}

/** Rethrows `error`, met inside the member at `segment` (`.a`, `[0]`), with that segment prefixed to its path. */
export function within(segment: string, error: unknown): never {
  if (error instanceof TooLarge) throw error;
  const inner = asUnserializable(error);
  throw new Unserializable(inner.reason, segment + inner.path, { cause: inner.cause });
}
