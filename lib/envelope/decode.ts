import { TYPED_ARRAYS, type TypedArrayKind } from '../builtins/kinds';
import { SerializationError } from '../errors';
import {
  DECIMAL_BIGINT,
  ERROR,
  HEADER_LENGTH,
  MAX_DECIMAL_BIGINT_DIGITS,
  NUMBER_END,
  PLAIN,
  readStamp,
  TAG,
  TAGGED,
  TIMED,
} from './format';
import { decodeError } from './stored-error';
import { Unserializable } from './value-errors';

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

function decodeTimed(text: string): Decoded {
  const stamped = readStamp(text);
  if (stamped === undefined) {
    return { ok: false, error: new SerializationError('E_DECODE', 'cache-memoize: damaged timed envelope') };
  }
  const decoded = decode(stamped.inner);
  return decoded.ok
    ? { ok: true, value: decoded.value, freshUntil: stamped.freshUntil, computeMs: stamped.computeMs }
    : decoded;
}

/**
 * Decodes an envelope written by {@link encode} (or, for a cached error, `encodeError`: its value is
 * then a `StoredError`). Never throws: foreign bytes, truncated envelopes,
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
    if (header === ERROR) return { ok: true, value: decodeError(text) };
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
