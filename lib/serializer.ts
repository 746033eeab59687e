import { builtinTag, isPlainObject } from './builtins';
import { SerializationError } from './errors';

// Envelope header: library tag, format version, body kind. Anything else in the store is a miss.
const PLAIN = 'cm1J'; // body is plain JSON and decodes with JSON.parse alone (the fast path)
const TAGGED = 'cm1T'; // body is JSON whose {"$":[tag, ...]} objects stand for non-JSON values
const HEADER_LENGTH = 4;
const TAG = '$';

type Tagged = { [TAG]: unknown[] };

const TYPED_ARRAYS: Record<string, new (buffer: ArrayBufferLike, offset: number, length: number) => unknown> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

class Unserializable extends Error {}

function tag(...parts: unknown[]): Tagged {
  return { [TAG]: parts };
}

/** State of one encode: ancestors (to reject cycles) and whether any tag was needed. */
interface EncodeState {
  stack: object[];
  tagged: boolean;
}

function encodeValue(value: unknown, state: EncodeState, path: string): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      state.tagged = true;
      return tag('n', Object.is(value, -0) ? '-0' : String(value));
    case 'undefined':
      state.tagged = true;
      return tag('u');
    case 'bigint':
      state.tagged = true;
      return tag('b', value.toString());
    case 'object':
      return value === null ? null : encodeObject(value, state, path);
    default:
      throw new Unserializable(`${path} is a ${typeof value}`);
  }
}

function encodeObject(value: object, state: EncodeState, path: string): unknown {
  if (state.stack.includes(value)) throw new Unserializable(`${path} is circular`);
  state.stack.push(value);
  try {
    if (Array.isArray(value)) {
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = encodeValue(value[i], state, `${path}[${i}]`);
      return out;
    }
    if (isPlainObject(value)) {
      if (Object.getOwnPropertySymbols(value).length > 0) throw new Unserializable(`${path} has symbol keys`);
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(record)) {
        // defineProperty: plain assignment of "__proto__" would set the prototype instead.
        Object.defineProperty(out, k, {
          value: encodeValue(record[k], state, `${path}.${k}`),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      const nullProto = Object.getPrototypeOf(value) === null;
      if (nullProto || Object.hasOwn(record, TAG)) {
        state.tagged = true;
        return tag(nullProto ? 'N' : 'O', out);
      }
      return out;
    }
    state.tagged = true;
    const kind = builtinTag(value);
    if (kind === 'Date') return tag('D', (value as Date).getTime());
    if (kind === 'Map') {
      const entries: unknown[] = [];
      let i = 0;
      for (const [k, v] of value as Map<unknown, unknown>) {
        entries.push([encodeValue(k, state, `${path}<key ${i}>`), encodeValue(v, state, `${path}<value ${i}>`)]);
        i++;
      }
      return tag('M', entries);
    }
    if (kind === 'Set') {
      const members: unknown[] = [];
      let i = 0;
      for (const v of value as Set<unknown>) members.push(encodeValue(v, state, `${path}<member ${i++}>`));
      return tag('S', members);
    }
    if (Buffer.isBuffer(value)) return tag('B', value.toString('base64'));
    if (
      ArrayBuffer.isView(value) &&
      Object.hasOwn(TYPED_ARRAYS, value.constructor.name) &&
      Object.getPrototypeOf(value) === value.constructor.prototype
    ) {
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      return tag('A', value.constructor.name, bytes.toString('base64'));
    }
    if (kind === 'RegExp') return tag('R', (value as RegExp).source, (value as RegExp).flags);
    const className = (value.constructor as { name?: string } | undefined)?.name ?? 'unknown';
    throw new Unserializable(`${path} is an instance of ${className}, whose prototype would be lost`);
  } finally {
    state.stack.pop();
  }
}

/**
 * Whether `value` is exactly what `JSON.stringify` round-trips, so it can be written without the
 * copy that tagging needs (and without building a path string per node). Anything else, including
 * every mistake, takes the full encoder, which tags it or explains what cannot be cached.
 */
function isPlainJson(value: unknown, stack: object[]): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (stack.includes(value)) return false;
      stack.push(value);
      let plain = true;
      if (Array.isArray(value)) {
        for (let i = 0; plain && i < value.length; i++) plain = isPlainJson(value[i], stack);
      } else if (
        isPlainObject(value) &&
        Object.getPrototypeOf(value) !== null &&
        !Object.hasOwn(value, TAG) &&
        Object.getOwnPropertySymbols(value).length === 0
      ) {
        const record = value as Record<string, unknown>;
        for (const k in record) {
          if (!Object.hasOwn(record, k)) continue;
          plain = isPlainJson(record[k], stack);
          if (!plain) break;
        }
      } else plain = false;
      stack.pop();
      return plain;
    }
    default:
      return false;
  }
}

/**
 * Encodes a function's result as an envelope string.
 *
 * Round-trips `undefined`, `null`, `NaN`, `±Infinity`, `-0`, `BigInt`, `Date`, `Map`, `Set`, `Buffer`,
 * typed arrays, `RegExp`, null-prototype objects and any nesting of them with plain objects and arrays.
 * Shared references come back as copies.
 *
 * @throws SerializationError `E_UNSERIALIZABLE` for functions, symbols, symbol keys, cycles and
 * class instances (their prototype cannot be restored, and a cached copy would not be the same type).
 */
export function encode(value: unknown): string {
  if (isPlainJson(value, [])) return PLAIN + JSON.stringify(value);
  const state: EncodeState = { stack: [], tagged: false };
  let body: unknown;
  try {
    body = encodeValue(value, state, 'result');
  } catch (error) {
    if (!(error instanceof Unserializable)) throw error;
    throw new SerializationError('E_UNSERIALIZABLE', `cache-memoize: cannot cache: ${error.message}`);
  }
  return (state.tagged ? TAGGED : PLAIN) + JSON.stringify(body);
}

function bad(reason: string): never {
  throw new Unserializable(reason);
}

function reviveObject(node: Record<string, unknown>): unknown {
  if (!Object.hasOwn(node, TAG)) return reviveFields(node);
  const parts = node[TAG];
  return Array.isArray(parts) ? reviveTag(parts) : bad('malformed tag');
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
  return reviveObject(node as Record<string, unknown>);
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
      return BigInt(asString(a));
    case 'D':
      return new Date(a === null ? Number.NaN : Number(a));
    case 'M':
      return new Map(asArray(a).map((e) => asArray(e).slice(0, 2).map(revive) as [unknown, unknown]));
    case 'S':
      return new Set(asArray(a).map(revive));
    case 'B':
      return Buffer.from(asString(a), 'base64');
    case 'A': {
      const Ctor = Object.hasOwn(TYPED_ARRAYS, asString(a)) ? TYPED_ARRAYS[a as string] : bad('unknown array');
      const bytes = Buffer.from(asString(b), 'base64');
      const copy = new Uint8Array(bytes).buffer;
      const width = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      if (copy.byteLength % width !== 0) bad('truncated typed array');
      return new Ctor!(copy, 0, copy.byteLength / width);
    }
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

const TIMED = 'cm1X'; // `cm1X<freshUntil>,<computeMs>:` in base 36, then a PLAIN or TAGGED envelope

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
 * other versions and malformed tags come back as `ok: false` (a miss), and decoding never touches
 * `Object.prototype`.
 */
export function decode(text: string): Decoded {
  const header = text.slice(0, HEADER_LENGTH);
  try {
    if (header === PLAIN) return { ok: true, value: JSON.parse(text.slice(HEADER_LENGTH)) };
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
