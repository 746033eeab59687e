import { inspect } from 'node:util';

// Results that jest must not print: a revoked Proxy, an object whose getter throws or a structure
// 10,000 levels deep make its diff printer throw or hang, so these helpers compare and describe
// values without reading them.

const FRAMES = 5;

/**
 * Describes anything thrown or rejected, even values `String()` cannot convert; an error with the
 * first frames of its stack (a stack overflow's full trace would bury the message).
 */
export function describeThrown(value: unknown): string {
  if (value instanceof Error) {
    const frames = (value.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
    return [`${value.name}: ${value.message}`, ...frames.slice(0, FRAMES)].join('\n');
  }
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
    throw new Error(`${what} rejected (it should have resolved with the function's result): ${describeThrown(error)}`);
  }
}
