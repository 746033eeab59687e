import { inspect } from 'node:util';

// Results that jest must not print: a revoked Proxy, an object whose getter throws or a structure
// 10,000 levels deep make its diff printer throw or hang, so these helpers compare and describe
// values without reading them.

/** Describes anything thrown or rejected, even values `String()` cannot convert. */
export function describeThrown(value: unknown): string {
  try {
    return inspect(value, { depth: 1, breakLength: Number.POSITIVE_INFINITY });
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The value `promise` resolves with; a rejection becomes an error saying that `what` rejected, and with what. */
export async function resolvedValue<T>(promise: Promise<T>, what: string): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw new Error(`${what} rejected (it should have resolved with the function's result): ${describeThrown(error)}`, {
      cause: error,
    });
  }
}
