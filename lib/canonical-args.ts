import { createHash, hash as oneShotHash } from 'node:crypto';
import objectHash from 'object-hash';
import { builtinTag, isPlainObject } from './builtins';
import { valueKey } from './key';

// One-shot crypto.hash arrived in Node 20.12; it skips the Hash object and is about twice as fast.
const sha256: (data: string) => string =
  typeof oneShotHash === 'function'
    ? (data) => oneShotHash('sha256', data, 'base64url')
    : (data) => createHash('sha256').update(data).digest('base64url');

/** Thrown inside the encoder; each container level prepends its path segment on the way out. */
class KeyError extends TypeError {
  constructor(
    readonly reason: string,
    readonly path: string,
  ) {
    super(reason);
  }
}

function fail(reason: string): never {
  throw new KeyError(reason, '');
}

function within(segment: string, error: unknown): never {
  if (error instanceof KeyError) throw new KeyError(error.reason, segment + error.path);
  throw error;
}

function encodeString(value: string): string {
  // Lone surrogates all become U+FFFD in UTF-8, so they would collide; JSON escapes them.
  if (value.isWellFormed()) return `s${value.length}:${value}`;
  const escaped = JSON.stringify(value);
  return `w${escaped.length}:${escaped}`;
}

function encodeBytes(view: ArrayBufferView): string {
  const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
  return `B${encodeString(view.constructor.name)}${bytes.length}:${bytes}`;
}

function encodeSorted(tag: string, parts: string[]): string {
  // Each part is self-delimiting, so the sorted concatenation is unambiguous and order-free.
  parts.sort();
  return `${tag}${parts.length}:${parts.join('')}`;
}

function encodeObject(value: object, stack: object[]): string {
  if (stack.includes(value)) fail('is circular (it contains itself)');
  stack.push(value);
  try {
    if (Array.isArray(value)) {
      let out = `a${value.length}:`;
      for (let i = 0; i < value.length; i++) {
        try {
          out += encode(value[i], stack);
        } catch (error) {
          within(`[${i}]`, error);
        }
      }
      return out;
    }
    if (isPlainObject(value)) {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = `o${keys.length}:`;
      for (const k of keys) {
        try {
          out += encodeString(k) + encode(record[k], stack);
        } catch (error) {
          within(`.${k}`, error);
        }
      }
      return out;
    }
    const kind = builtinTag(value);
    if (kind === 'Date') return `D${(value as Date).getTime()};`;
    if (kind === 'Map') {
      const parts: string[] = [];
      for (const [k, v] of value as Map<unknown, unknown>) {
        try {
          parts.push(encode(k, stack) + encode(v, stack));
        } catch (error) {
          within('<map entry>', error);
        }
      }
      return encodeSorted('M', parts);
    }
    if (kind === 'Set') {
      const parts: string[] = [];
      for (const v of value as Set<unknown>) {
        try {
          parts.push(encode(v, stack));
        } catch (error) {
          within('<set member>', error);
        }
      }
      return encodeSorted('S', parts);
    }
    if (ArrayBuffer.isView(value)) return encodeBytes(value);
    if (kind === 'ArrayBuffer') return encodeBytes(new Uint8Array(value as ArrayBuffer));
    if (kind === 'RegExp') return `R${encodeString((value as RegExp).source)}${encodeString((value as RegExp).flags)}`;
    return encodeInstance(value);
  } finally {
    stack.pop();
  }
}

function encodeInstance(value: object): string {
  // No fast path for class instances: object-hash walks their own properties, tagged by class name.
  const className = (value.constructor as { name?: unknown } | undefined)?.name;
  let digest: string;
  try {
    digest = objectHash(value);
  } catch (error) {
    fail(`cannot be hashed by object-hash (${error instanceof Error ? error.message : String(error)})`);
  }
  return `c${encodeString(typeof className === 'string' ? className : '')}${digest}`;
}

function encode(value: unknown, stack: object[]): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      return Object.is(value, -0) ? 'n-0;' : `n${value};`;
    case 'boolean':
      return value ? 't' : 'f';
    case 'undefined':
      return 'u';
    case 'bigint':
      return `b${value};`;
    case 'object':
      return value === null ? 'z' : encodeObject(value, stack);
    case 'function':
      return fail('is a function; functions cannot be part of a cache key');
    default:
      return fail(`is a ${typeof value}; it cannot be part of a cache key`);
  }
}

/**
 * The canonical, type-tagged, length-prefixed text of an argument list: equal lists give equal text,
 * distinct lists (by value and type) give distinct text. Exposed for tests and benchmarks.
 *
 * @throws TypeError naming the offending argument path, for functions, symbols and circular values.
 */
export function canonicalArgs(args: readonly unknown[]): string {
  let out = `a${args.length}:`;
  const stack: object[] = [];
  for (let i = 0; i < args.length; i++) {
    try {
      out += encode(args[i], stack);
    } catch (error) {
      if (!(error instanceof KeyError)) throw error;
      throw new TypeError(
        `cache-memoize: argument ${i}${error.path} ${error.reason}. Use the keyArgs option to key on something else.`,
      );
    }
  }
  return out;
}

/** SHA-256 (base64url) of {@link canonicalArgs}: 43 characters, the same in every process and version. */
export function digestArgs(args: readonly unknown[]): string {
  return sha256(canonicalArgs(args));
}

/**
 * The key of one entry's value for `args`: `keyPrefix:name:{digest}` (see {@link valueKey}).
 * @param functionPrefix - from {@link functionKeyPrefix}
 */
export function entryKey(functionPrefix: string, args: readonly unknown[]): string {
  return valueKey(functionPrefix, digestArgs(args));
}

// Remembered texts are short: for them SHA-256 is most of a key's cost, and each entry stays small.
const REMEMBERED_TEXT_LENGTH = 128;
const REMEMBERED_KEYS = 1024;

/**
 * {@link entryKey} for one function, remembering the keys of short argument lists (up to 1024 of
 * them, forgotten all at once when full). A remembered key is also the same string object each time,
 * so maps and the Redis encoder find it flat with its hash already computed.
 */
export function entryKeys(functionPrefix: string): (args: readonly unknown[]) => string {
  const remembered = new Map<string, string>();
  return (args) => {
    const text = canonicalArgs(args);
    if (text.length > REMEMBERED_TEXT_LENGTH) return valueKey(functionPrefix, sha256(text));
    let key = remembered.get(text);
    if (key === undefined) {
      if (remembered.size >= REMEMBERED_KEYS) remembered.clear();
      key = valueKey(functionPrefix, sha256(text));
      remembered.set(text, key);
    }
    return key;
  };
}
