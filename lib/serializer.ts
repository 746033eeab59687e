import { type BuiltinKind, builtinKind, hasBrand, TYPED_ARRAYS, type TypedArrayKind } from './builtins/kinds';
import { bytesOf, entriesOf, membersOf, regExpParts, timeOf } from './builtins/slots';
import { shortPath } from './error-path';
import { SerializationError } from './errors';

// Envelope header: library tag, format version, body kind. Anything else in the store is a miss.
const PLAIN = 'cm1J'; // body is plain JSON and decodes with JSON.parse alone (the fast path)
const TAGGED = 'cm1T'; // body is JSON whose {"$":[tag, ...]} objects stand for non-JSON values
const TIMED = 'cm1X'; // `cm1X<freshUntil>,<computeMs>:` in base 36, then a PLAIN or TAGGED envelope
const HEADER_LENGTH = 4;
const TAG = '$';
// A bare number is the one JSON body whose truncation is another valid body ('123' cut to '12'), so a
// top-level number ends with a newline: JSON.parse skips it, and any cut removes it.
const NUMBER_END = '\n';

/** Deepest nesting of objects, arrays, Maps and Sets a cached result may have; deeper is `E_UNSERIALIZABLE`. */
export const MAX_VALUE_DEPTH = 1000;

// BigInt parsing from decimal is superlinear in V8 (8 million digits take seconds), from hex it is
// linear. Small BigInts stay decimal, which every version reads; larger ones are written in hex.
const DECIMAL_BIGINT_HEX_DIGITS = 256; // 1024 bits, at most 309 decimal digits
const MAX_DECIMAL_BIGINT_DIGITS = 1024; // decimal digits decode accepts: a few microseconds
const DECIMAL_BIGINT = /^-?(0|[1-9][0-9]*)$/;

/** A reason a value cannot be cached; each container level prepends its path segment on the way out. */
class Unserializable extends Error {
  constructor(
    readonly reason: string,
    readonly path = '',
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** The output passed its byte limit: `bytes` is how far it got (or its exact size when `exact`). */
class TooLarge extends Error {
  constructor(
    readonly bytes: number,
    readonly exact = false,
  ) {
    super('too large');
  }
}

/** Any error met while walking a value (a getter or proxy trap that throws, the stack running out). */
function asUnserializable(error: unknown): Unserializable {
  if (error instanceof Unserializable) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RangeError && message.includes('call stack')) {
    return new Unserializable(`is nested too deeply (the stack ran out before ${MAX_VALUE_DEPTH} levels)`, '', {
      cause: error,
    });
  }
  return new Unserializable(`could not be read (${message})`, '', { cause: error });
}

function within(segment: string, error: unknown): never {
  if (error instanceof TooLarge) throw error;
  const inner = asUnserializable(error);
  throw new Unserializable(inner.reason, segment + inner.path, { cause: inner.cause });
}

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

// The full encoder writes JSON text itself, tags included, and stops as soon as it passes its limit,
// so a huge or sparse result costs time and memory in proportion to the limit, not to the result.

// Pieces are joined into flat chunks every so often: one long rope of millions of small pieces would
// keep them all alive, and the garbage collector would spend most of the time copying them.
const PIECES_PER_CHUNK = 512;

/** One encode's output so far. Its length (UTF-16 units) never exceeds the UTF-8 bytes it will take. */
class Output {
  length = HEADER_LENGTH;
  tagged = false;
  readonly stack: object[] = [];
  readonly #chunks: string[] = [];
  readonly #pieces: string[] = [];

  constructor(readonly maxBytes: number) {}

  write(text: string): void {
    this.length += text.length;
    if (this.length > this.maxBytes) throw new TooLarge(this.length);
    this.#pieces.push(text);
    if (this.#pieces.length >= PIECES_PER_CHUNK) {
      this.#chunks.push(this.#pieces.join(''));
      this.#pieces.length = 0;
    }
  }

  /** Refuses before building a piece of at least `length` units that could not fit anyway. */
  reserve(length: number): void {
    if (this.length + length > this.maxBytes) throw new TooLarge(this.length + length);
  }

  tag(body: string): void {
    this.tagged = true;
    this.write(`{"$":[${body}]}`);
  }

  /** Everything written, after `header`. */
  text(header: string): string {
    return header + this.#chunks.join('') + this.#pieces.join('');
  }
}

function writeString(out: Output, value: string): void {
  out.reserve(value.length + 2);
  out.write(JSON.stringify(value));
}

function writeBigInt(out: Output, value: bigint): void {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  // Before toString: a BigInt of more than 4 bits per remaining byte cannot fit.
  if (Number.isFinite(out.maxBytes)) {
    const room = Math.max(0, out.maxBytes - out.length);
    if (magnitude >> BigInt(4 * room) > 0n) throw new TooLarge(out.length + room + 1);
  }
  const hex = magnitude.toString(16);
  const text = hex.length <= DECIMAL_BIGINT_HEX_DIGITS ? value.toString() : `${negative ? '-' : ''}0x${hex}`;
  out.reserve(text.length);
  out.tag(`"b","${text}"`);
}

function writeValue(out: Output, value: unknown): void {
  switch (typeof value) {
    case 'string':
      writeString(out, value);
      break;
    case 'boolean':
      out.write(value ? 'true' : 'false');
      break;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) out.write(String(value));
      else out.tag(Object.is(value, -0) ? '"n","-0"' : `"n","${value}"`);
      break;
    case 'undefined':
      out.tag('"u"');
      break;
    case 'bigint':
      writeBigInt(out, value);
      break;
    case 'object':
      if (value === null) out.write('null');
      else writeObject(out, value);
      break;
    default:
      throw new Unserializable(`is a ${typeof value}`);
  }
}

function writeArray(out: Output, list: unknown[]): void {
  out.write('[');
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out.write(',');
    try {
      writeValue(out, list[i]);
    } catch (error) {
      within(`[${i}]`, error);
    }
  }
  out.write(']');
}

function writeRecord(out: Output, value: object): void {
  if (Object.getOwnPropertySymbols(value).length > 0) throw new Unserializable('has symbol keys');
  const record = value as Record<string, unknown>;
  const nullProto = Object.getPrototypeOf(value) === null;
  const wrapped = nullProto || Object.hasOwn(record, TAG);
  if (wrapped) {
    out.tagged = true;
    out.write(`{"$":["${nullProto ? 'N' : 'O'}",`);
  }
  out.write('{');
  let first = true;
  for (const k of Object.keys(record)) {
    if (!first) out.write(',');
    first = false;
    out.reserve(k.length + 3);
    out.write(`${JSON.stringify(k)}:`);
    try {
      writeValue(out, record[k]);
    } catch (error) {
      within(`.${k}`, error);
    }
  }
  out.write(wrapped ? '}]}' : '}');
}

function writeEntries(out: Output, tag: 'M' | 'S', items: Iterable<unknown>): void {
  out.tagged = true;
  out.write(`{"$":["${tag}",[`);
  let i = 0;
  for (const item of items) {
    if (i > 0) out.write(',');
    if (tag === 'S') {
      try {
        writeValue(out, item);
      } catch (error) {
        within(`<member ${i}>`, error);
      }
    } else {
      const [k, v] = item as [unknown, unknown];
      out.write('[');
      try {
        writeValue(out, k);
      } catch (error) {
        within(`<key ${i}>`, error);
      }
      out.write(',');
      try {
        writeValue(out, v);
      } catch (error) {
        within(`<value ${i}>`, error);
      }
      out.write(']');
    }
    i++;
  }
  out.write(']]}');
}

function writeBytes(out: Output, kind: BuiltinKind, value: object): void {
  const bytes = bytesOf(value, kind);
  out.reserve(Math.ceil(bytes.length / 3) * 4);
  const base64 = bytes.toString('base64');
  out.tag(kind === 'Buffer' ? `"B","${base64}"` : `"A","${kind}","${base64}"`);
}

function instanceReason(value: object): string {
  const className: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  const shown = typeof className === 'string' && className !== '' ? className : 'an anonymous class';
  const claim = Object.prototype.toString.call(value).slice(8, -1);
  let what = '';
  if (claim !== 'Object' && claim !== shown) {
    what = hasBrand(value, claim) ? ` (a subclass of ${claim})` : ` (it claims to be ${claim} by Symbol.toStringTag)`;
  }
  return `is an instance of ${shown}, whose prototype would be lost${what}`;
}

function writeObject(out: Output, value: object): void {
  const { stack } = out;
  if (stack.includes(value)) throw new Unserializable('is circular');
  if (stack.length >= MAX_VALUE_DEPTH) throw new Unserializable(`is nested more than ${MAX_VALUE_DEPTH} levels deep`);
  stack.push(value);
  try {
    const kind = builtinKind(value);
    if (kind === 'Object') writeRecord(out, value);
    else if (kind === 'Array') writeArray(out, value as unknown[]);
    else if (kind === 'Date') {
      const time = timeOf(value);
      out.tag(`"D",${Number.isNaN(time) ? 'null' : time}`);
    } else if (kind === 'Map') writeEntries(out, 'M', entriesOf(value));
    else if (kind === 'Set') writeEntries(out, 'S', membersOf(value));
    else if (kind === 'RegExp') {
      const [source, flags] = regExpParts(value);
      out.reserve(source.length + flags.length);
      out.tag(`"R",${JSON.stringify(source)},${JSON.stringify(flags)}`);
    } else if (kind === 'Buffer' || (kind !== undefined && Object.hasOwn(TYPED_ARRAYS, kind))) {
      writeBytes(out, kind, value);
    } else throw new Unserializable(instanceReason(value));
  } finally {
    stack.pop();
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

// Decoding: JSON.parse, then one pass over the parsed tree in which every step is linear in its input.

function bad(reason: string): never {
  throw new Unserializable(reason);
}

function reviveFields(node: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(node)) {
    const v = node[k];
    // JSON.parse made these own data properties, so assignment never reaches a prototype setter.
    if (typeof v === 'object' && v !== null) node[k] = revive(v);
  }
  return node;
}

function revive(node: unknown): unknown {
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const v = node[i];
      if (typeof v === 'object' && v !== null) node[i] = revive(v);
    }
    return node;
  }
  const record = node as Record<string, unknown>;
  if (!Object.hasOwn(record, TAG)) return reviveFields(record);
  const parts = record[TAG];
  return Array.isArray(parts) ? reviveTag(parts) : bad('malformed tag');
}

function asString(v: unknown): string {
  return typeof v === 'string' ? v : bad('expected a string');
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : bad('expected an array');
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : bad('expected an object');
}

function parseBigInt(text: string): bigint {
  const digits = text.startsWith('-') ? text.length - 1 : text.length;
  if (digits <= MAX_DECIMAL_BIGINT_DIGITS && DECIMAL_BIGINT.test(text)) return BigInt(text);
  // BigInt() itself refuses any character that is not a hex digit after the prefix.
  if (text.startsWith('0x')) return BigInt(text);
  if (text.startsWith('-0x')) return -BigInt(text.slice(1));
  return bad('a BigInt that is neither short decimal nor hex');
}

function reviveTypedArray(kind: unknown, base64: unknown): unknown {
  const name = asString(kind);
  if (!Object.hasOwn(TYPED_ARRAYS, name)) bad('unknown typed array');
  const Ctor = TYPED_ARRAYS[name as TypedArrayKind];
  const copy = new Uint8Array(Buffer.from(asString(base64), 'base64')).buffer;
  const width = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (copy.byteLength % width !== 0) bad('truncated typed array');
  return new Ctor(copy, 0, copy.byteLength / width);
}

function reviveTag(parts: unknown[]): unknown {
  const [kind, a, b] = parts;
  switch (kind) {
    case 'u':
      return undefined;
    case 'n': {
      const n = asString(a);
      if (n === '-0') return -0;
      if (n === 'NaN') return Number.NaN;
      if (n === 'Infinity') return Number.POSITIVE_INFINITY;
      if (n === '-Infinity') return Number.NEGATIVE_INFINITY;
      return bad('unknown number');
    }
    case 'b':
      return parseBigInt(asString(a));
    case 'D':
      return new Date(a === null ? Number.NaN : typeof a === 'number' ? a : bad('expected a time'));
    case 'M':
      return new Map(
        asArray(a).map((e) => {
          const pair = asArray(e);
          return [revive(pair[0]), revive(pair[1])];
        }),
      );
    case 'S':
      return new Set(asArray(a).map(revive));
    case 'B':
      return Buffer.from(asString(a), 'base64');
    case 'A':
      return reviveTypedArray(a, b);
    case 'R':
      return new RegExp(asString(a), asString(b));
    case 'O':
      return reviveFields(asRecord(a));
    case 'N':
      return Object.assign(Object.create(null), reviveFields(asRecord(a)));
    default:
      return bad('unknown tag');
  }
}

function parsePlain(text: string): unknown {
  const value: unknown = JSON.parse(text.slice(HEADER_LENGTH));
  if (typeof value === 'number' && !text.endsWith(NUMBER_END)) bad('a number without its end mark (cut short)');
  return value;
}

/** Result of {@link decode}: a decoded value, or why the stored text is not one. */
export type Decoded =
  | { ok: true; value: unknown; freshUntil?: number; computeMs?: number }
  | { ok: false; error: SerializationError };

/** When a timed entry stops being fresh, and how long its value took to compute. */
export interface Freshness {
  /** Epoch milliseconds (the writer's clock) after which the value is stale. */
  freshUntil: number;
  /** How long the function took, in milliseconds (for early refresh). */
  computeMs: number;
}

/** Wraps an encoded value with its freshness, for stale-while-revalidate and early refresh. */
export function stamp(encoded: string, freshness: Freshness): string {
  const { freshUntil, computeMs } = freshness;
  return `${TIMED}${Math.round(freshUntil).toString(36)},${Math.max(0, Math.round(computeMs)).toString(36)}:${encoded}`;
}

const BASE36 = /^[0-9a-z]{1,12}$/;

// parseInt stops quietly at the first bad character; a damaged header must be a decode error instead.
function base36(digits: string): number {
  return BASE36.test(digits) ? Number.parseInt(digits, 36) : Number.NaN;
}

function decodeTimed(text: string): Decoded {
  const colon = text.indexOf(':', HEADER_LENGTH);
  const comma = text.indexOf(',', HEADER_LENGTH);
  const freshUntil = base36(text.slice(HEADER_LENGTH, comma));
  const computeMs = base36(text.slice(comma + 1, colon));
  const inner = text.slice(colon + 1);
  if (colon < 0 || comma < 0 || comma > colon || Number.isNaN(freshUntil) || Number.isNaN(computeMs)) {
    return { ok: false, error: new SerializationError('E_DECODE', 'cache-memoize: damaged timed envelope') };
  }
  const header = inner.slice(0, HEADER_LENGTH);
  if (header !== PLAIN && header !== TAGGED) {
    return { ok: false, error: new SerializationError('E_DECODE', 'cache-memoize: damaged timed envelope') };
  }
  const decoded = decode(inner);
  return decoded.ok ? { ok: true, value: decoded.value, freshUntil, computeMs } : decoded;
}

/**
 * Decodes an envelope written by {@link encode}. Never throws: foreign bytes, truncated envelopes,
 * other versions, malformed tags and tags over the bounds (a decimal BigInt of more than 1024
 * digits) come back as `ok: false` (a miss). Every step is linear in the stored text, and decoding
 * never touches `Object.prototype`.
 */
export function decode(text: string): Decoded {
  const header = text.slice(0, HEADER_LENGTH);
  try {
    if (header === PLAIN) return { ok: true, value: parsePlain(text) };
    if (header === TAGGED) return { ok: true, value: revive(JSON.parse(text.slice(HEADER_LENGTH))) };
    if (header === TIMED) return decodeTimed(text);
  } catch (error) {
    return {
      ok: false,
      error: new SerializationError('E_DECODE', 'cache-memoize: stored value does not decode', { cause: error }),
    };
  }
  return {
    ok: false,
    error: new SerializationError(
      'E_DECODE',
      `cache-memoize: stored value has unknown header ${JSON.stringify(header)}`,
    ),
  };
}
