import { shortPath } from '../error-path';
import { SerializationError } from '../errors';
import { HEADER_LENGTH, NUMBER_END, PLAIN, TAG, TAGGED } from './format';
import { Output, writeValue } from './json-writer';
import { asUnserializable, MAX_VALUE_DEPTH, TooLarge } from './value-errors';

// The fast path: a walk that allocates nothing decides whether JSON.stringify alone can write the
// value, and bounds the size of what it would write.

const NOT_PLAIN = -1;
// Every part the walk counts as n bytes takes at most 26n: a UTF-16 unit at most 6 bytes (`\u001f`),
// a number (counted 1) at most 25 characters ('-0.0000012345678901234567') and its comma.
const PLAIN_EXPANSION = 26;

/**
 * A lower bound of the UTF-8 bytes JSON.stringify writes for `value` (at most {@link PLAIN_EXPANSION}
 * times too low), or {@link NOT_PLAIN} when it would not round-trip exactly. Stops early, returning
 * a bound over `budget`, once the value is known to be larger than that.
 */
function plainJsonSize(value: unknown, stack: object[], budget: number): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'boolean':
      return 4;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? 1 : NOT_PLAIN;
    case 'object': {
      if (value === null) return 4;
      if (stack.length >= MAX_VALUE_DEPTH || stack.includes(value)) return NOT_PLAIN;
      let size: number;
      stack.push(value);
      if (Array.isArray(value)) {
        // Brackets and commas.
        size = Object.getPrototypeOf(value) === Array.prototype ? value.length + 1 : NOT_PLAIN;
        for (let i = 0; size >= 0 && size <= budget && i < value.length; i++) {
          const item = plainJsonSize(value[i], stack, budget);
          size = item < 0 ? NOT_PLAIN : size + item;
        }
      } else if (
        Object.getPrototypeOf(value) === Object.prototype &&
        !Object.hasOwn(value, TAG) &&
        Object.getOwnPropertySymbols(value).length === 0
      ) {
        // Braces; per key its quotes, colon and comma.
        size = 1;
        const record = value as Record<string, unknown>;
        for (const k in record) {
          if (!Object.hasOwn(record, k)) continue;
          const item = plainJsonSize(record[k], stack, budget);
          size = item < 0 ? NOT_PLAIN : size + k.length + 4 + item;
          if (size < 0 || size > budget) break;
        }
      } else size = NOT_PLAIN;
      stack.pop();
      return size;
    }
    default:
      return NOT_PLAIN;
  }
}

function tooLarge(error: TooLarge, maxBytes: number, subject: string): SerializationError {
  return new SerializationError(
    'E_TOO_LARGE',
    `cache-memoize: ${subject} is ${error.exact ? '' : 'at least '}${error.bytes} bytes encoded, ` +
      `over maxValueBytes (${maxBytes}); it was returned, not stored`,
  );
}

/**
 * Encodes a function's result as an envelope string of at most `maxBytes` UTF-8 bytes.
 *
 * Round-trips `undefined`, `null`, `NaN`, `±Infinity`, `-0`, `BigInt`, `Date`, `Map`, `Set`, `Buffer`,
 * typed arrays, `RegExp`, null-prototype objects and any nesting of them with plain objects and arrays.
 * Types are told by their brand and prototype (from any realm), never by `Symbol.toStringTag`. Shared
 * references come back as copies.
 *
 * @param maxBytes - the largest envelope to return; encoding stops as soon as the output passes it,
 * so time and memory stay in proportion to `maxBytes` whatever the size of `value`
 * @param subject - what the size error calls the value (`'the result of getUser'`)
 * @throws SerializationError `E_TOO_LARGE` past `maxBytes`; `E_UNSERIALIZABLE` (with the `cause`, if
 * any) for functions, symbols, symbol keys, cycles, nesting deeper than {@link MAX_VALUE_DEPTH}, class
 * instances (their prototype cannot be restored, so a cached copy would not be the same type), and
 * anything that throws while being read. Never any other error.
 */
export function encode(value: unknown, maxBytes = Number.POSITIVE_INFINITY, subject = 'the result'): string {
  try {
    let size: number;
    try {
      size = HEADER_LENGTH + plainJsonSize(value, [], maxBytes);
    } catch {
      // A getter or proxy trap threw: the full encoder meets it again and reports where.
      size = NOT_PLAIN;
    }
    if (size > maxBytes) throw new TooLarge(size);
    if (size >= HEADER_LENGTH && size * PLAIN_EXPANSION + 1 <= maxBytes) {
      return typeof value === 'number' ? PLAIN + value + NUMBER_END : PLAIN + JSON.stringify(value);
    }
    const out = new Output(maxBytes);
    writeValue(out, value);
    if (typeof value === 'number' && !out.tagged) out.write(NUMBER_END);
    const text = out.text(out.tagged ? TAGGED : PLAIN);
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count exactly only when the length cannot decide.
    if (text.length * 3 > maxBytes) {
      const bytes = Buffer.byteLength(text);
      if (bytes > maxBytes) throw new TooLarge(bytes, true);
    }
    return text;
  } catch (error) {
    if (error instanceof TooLarge) throw tooLarge(error, maxBytes, subject);
    const reason = asUnserializable(error);
    throw new SerializationError(
      'E_UNSERIALIZABLE',
      `cache-memoize: cannot cache: result${shortPath(reason.path)} ${reason.reason}`,
      {
        cause: reason.cause,
      },
    );
  }
}
