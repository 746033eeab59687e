/** Deepest nesting of objects, arrays, Maps and Sets an argument list may have; deeper is a TypeError. */
export const MAX_KEY_DEPTH = 1000;

/** Thrown inside the encoder; each container level prepends its path segment on the way out. */
export class KeyError extends TypeError {
  constructor(
    readonly reason: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** Refuses the value being encoded, for `reason`. */
export function fail(reason: string): never {
  throw new KeyError(reason, '');
}

/** Any other error (a getter or a proxy trap that throws, the stack running out) as a KeyError. */
export function asKeyError(error: unknown): KeyError {
  if (error instanceof KeyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RangeError && message.includes('call stack')) {
    return new KeyError(`is nested too deeply (the stack ran out before ${MAX_KEY_DEPTH} levels)`, '', {
      cause: error,
    });
  }
  return new KeyError(`could not be read (${message})`, '', { cause: error });
}

/** Rethrows `error`, met inside the member at `segment` (`.a`, `[0]`), with that segment prefixed to its path. */
export function within(segment: string, error: unknown): never {
  const inner = asKeyError(error);
  throw new KeyError(inner.reason, segment + inner.path, { cause: inner.cause });
}
