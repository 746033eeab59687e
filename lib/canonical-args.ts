import { createHash, hash as oneShotHash } from 'node:crypto';
import objectHash from 'object-hash';
import { type BuiltinKind, builtinKind, nativeName, prototypeKind } from './builtins/kinds';
import { bytesOf, entriesOf, membersOf, regExpParts, timeOf, unboxed } from './builtins/slots';
import { shortPath } from './error-path';
import { valueKey } from './key';

// One-shot crypto.hash arrived in Node 20.12; it skips the Hash object and is about twice as fast.
const sha256: (data: string) => string =
  typeof oneShotHash === 'function'
    ? (data) => oneShotHash('sha256', data, 'base64url')
    : (data) => createHash('sha256').update(data).digest('base64url');

/** Deepest nesting of objects, arrays, Maps and Sets an argument list may have; deeper is a TypeError. */
export const MAX_KEY_DEPTH = 1000;

/**
 * The method by which a class names the key of its instances: it returns a value made of what
 * keys can hold (primitives, plain objects, arrays, Dates, ...), and equal instances return equal values.
 *
 * @example
 * ```ts
 * class UserRef {
 *   #id: string;
 *   constructor(id: string) { this.#id = id; }
 *   [KEY_METHOD]() { return this.#id; }
 * }
 * ```
 */
export const KEY_METHOD: unique symbol = Symbol.for('cache-memoize.key');

const KEY_METHOD_NAME = "[Symbol.for('cache-memoize.key')]";

/** Thrown inside the encoder; each container level prepends its path segment on the way out. */
class KeyError extends TypeError {
  constructor(
    readonly reason: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

function fail(reason: string): never {
  throw new KeyError(reason, '');
}

/** Any other error (a getter or a proxy trap that throws, the stack running out) as a KeyError. */
function asKeyError(error: unknown): KeyError {
  if (error instanceof KeyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RangeError && message.includes('call stack')) {
    return new KeyError(`is nested too deeply (the stack ran out before ${MAX_KEY_DEPTH} levels)`, '', {
      cause: error,
    });
  }
  return new KeyError(`could not be read (${message})`, '', { cause: error });
}

function within(segment: string, error: unknown): never {
  const inner = asKeyError(error);
  throw new KeyError(inner.reason, segment + inner.path, { cause: inner.cause });
}

function encodeString(value: string): string {
  // Lone surrogates all become U+FFFD in UTF-8, so they would collide; JSON escapes them.
  if (value.isWellFormed()) return `s${value.length}:${value}`;
  const escaped = JSON.stringify(value);
  return `w${escaped.length}:${escaped}`;
}

function encodeBytes(kind: BuiltinKind, value: object): string {
  const bytes = bytesOf(value, kind).toString('base64');
  return `B${encodeString(kind)}${bytes.length}:${bytes}`;
}

function encodeSorted(tag: string, parts: string[]): string {
  // Each part is self-delimiting, so the sorted concatenation is unambiguous and order-free.
  parts.sort();
  return `${tag}${parts.length}:${parts.join('')}`;
}

function encodeBuiltin(kind: Exclude<BuiltinKind, 'Object' | 'Array'>, value: object, stack: object[]): string {
  switch (kind) {
    case 'Date':
      return `D${timeOf(value)};`;
    case 'Map': {
      const parts: string[] = [];
      for (const [k, v] of entriesOf(value)) {
        try {
          parts.push(encode(k, stack) + encode(v, stack));
        } catch (error) {
          within('<map entry>', error);
        }
      }
      return encodeSorted('M', parts);
    }
    case 'Set': {
      const parts: string[] = [];
      for (const v of membersOf(value)) {
        try {
          parts.push(encode(v, stack));
        } catch (error) {
          within('<set member>', error);
        }
      }
      return encodeSorted('S', parts);
    }
    case 'RegExp': {
      const [source, flags] = regExpParts(value);
      return `R${encodeString(source)}${encodeString(flags)}`;
    }
    case 'Number':
    case 'String':
    case 'Boolean':
    case 'BigInt':
      return `x${encode(unboxed(value, kind), stack)}`;
    case 'Symbol':
      return fail('is a boxed symbol; symbols cannot be part of a cache key');
    default:
      return encodeBytes(kind, value);
  }
}

function encodeObject(value: object, stack: object[]): string {
  if (stack.includes(value)) fail('is circular (it contains itself)');
  if (stack.length >= MAX_KEY_DEPTH) fail(`is nested more than ${MAX_KEY_DEPTH} levels deep`);
  stack.push(value);
  try {
    const proto = Object.getPrototypeOf(value) as object | null;
    const kind: BuiltinKind | undefined =
      proto === Object.prototype || proto === null
        ? 'Object'
        : proto === Array.prototype && Array.isArray(value)
          ? 'Array'
          : builtinKind(value);
    if (kind === 'Object') {
      // Plain objects and arrays are most arguments: their loops stay here, not in functions of their own.
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
    if (kind === 'Array') {
      const list = value as unknown[];
      let out = `a${list.length}:`;
      for (let i = 0; i < list.length; i++) {
        try {
          const item = list[i];
          // A hole is not undefined: `i in list`, forEach and map tell them apart.
          out += item === undefined && !(i in list) ? 'h' : encode(item, stack);
        } catch (error) {
          within(`[${i}]`, error);
        }
      }
      return out;
    }
    return kind === undefined ? encodeInstance(value, stack) : encodeBuiltin(kind, value, stack);
  } finally {
    stack.pop();
  }
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

function article(noun: string): string {
  return `${/^[AEIOU]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

function classNameOf(value: object): string {
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' ? name : '';
}

/** Whether `proto` belongs to a built-in class (its constructor is native code). */
function isBuiltinPrototype(proto: object): boolean {
  return (
    prototypeKind(proto) !== undefined ||
    nativeName(Object.getOwnPropertyDescriptor(proto, 'constructor')?.value) !== undefined
  );
}

/** `toJSON` when a class of the instance defines it; a built-in's (Date's, Buffer's) does not count. */
function classToJSON(value: object): ((this: object) => unknown) | undefined {
  let owner: object | null = value;
  while (owner !== null && !Object.hasOwn(owner, 'toJSON')) owner = Object.getPrototypeOf(owner) as object | null;
  if (owner === null || (owner !== value && isBuiltinPrototype(owner))) return undefined;
  const method: unknown = (value as { toJSON?: unknown }).toJSON;
  return typeof method === 'function' ? (method as (this: object) => unknown) : undefined;
}

// `#name` anywhere in a class's source (private fields, methods, `#x in o`), or the helpers that
// TypeScript and Babel emit for them when compiling to older targets (they keep the state in WeakMaps).
const PRIVATE_STATE = /#[\p{ID_Start}$_\\]|classPrivate|ClassBrand/u;

/** Why instances with this prototype chain may hold state no key can see, or `null`. Per prototype. */
const classVerdicts = new WeakMap<object, string | null>();

function classVerdict(proto: object): string | null {
  let verdict = classVerdicts.get(proto);
  if (verdict !== undefined) return verdict;
  verdict = null;
  for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (prototypeKind(p) === 'Object') break;
    const ctor: unknown = Object.getOwnPropertyDescriptor(p, 'constructor')?.value;
    if (typeof ctor !== 'function') continue;
    const builtin = nativeName(ctor);
    if (builtin !== undefined) {
      verdict = `${p === proto ? 'it is' : 'its class extends'} the built-in ${builtin}, whose state is internal`;
      break;
    }
    if (PRIVATE_STATE.test(Function.prototype.toString.call(ctor))) {
      verdict = `class ${ctor.name || '(anonymous)'} declares #private members`;
      break;
    }
  }
  classVerdicts.set(proto, verdict);
  return verdict;
}

/** Why object-hash would not see all of this instance's state, or `undefined` when it would. */
function hiddenState(value: object): string | undefined {
  const proto = Object.getPrototypeOf(value) as object | null;
  const verdict = proto === null ? null : classVerdict(proto);
  if (verdict !== null) return verdict;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'symbol') return `it holds symbol-keyed state, ${key.toString()}`;
    const descriptor = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor;
    if (!('value' in descriptor)) return `it has an accessor property .${key}`;
    if (!descriptor.enumerable) return `it has a non-enumerable property .${key}`;
    if (typeof descriptor.value === 'function') return `it holds a function in .${key}, whose closure is hidden`;
  }
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  if (tag !== 'Object') return `it claims to be ${article(tag)} by Symbol.toStringTag`;
  return undefined;
}

/**
 * Marks, for object-hash, every value inside an instance's state that it would not tell apart from
 * another (-0, lone surrogates, holes, bytes and regexps written without a length, nested instances,
 * toStringTag impostors): each is handed to it as a symbol carrying its canonical text. Genuine
 * symbols never reach object-hash (they are refused), so the marks cannot collide with real values.
 */
function markForHash(value: unknown, stack: object[], marks: Map<object, symbol>): void {
  if (typeof value !== 'object' || value === null) {
    encode(value, stack);
    return;
  }
  if (marks.has(value)) return;
  if (stack.includes(value)) fail('is circular (it contains itself)');
  if (stack.length >= MAX_KEY_DEPTH) fail(`is nested more than ${MAX_KEY_DEPTH} levels deep`);
  const kind = builtinKind(value);
  if (!hashedAsIs(value, kind)) {
    marks.set(value, Symbol(`cache-memoize:${encodeObject(value, stack)}`));
    return;
  }
  stack.push(value);
  try {
    if (kind === 'Map') {
      for (const [k, v] of entriesOf(value)) {
        try {
          markForHash(k, stack, marks);
          markForHash(v, stack, marks);
        } catch (error) {
          within('<map entry>', error);
        }
      }
    } else if (kind === 'Set') {
      for (const v of membersOf(value)) {
        try {
          markForHash(v, stack, marks);
        } catch (error) {
          within('<set member>', error);
        }
      }
    } else if (kind === 'Array') {
      const list = value as unknown[];
      for (let i = 0; i < list.length; i++) {
        try {
          markForHash(list[i], stack, marks);
        } catch (error) {
          within(`[${i}]`, error);
        }
      }
    } else if (kind === 'Object') {
      const record = value as Record<string, unknown>;
      for (const k of Object.keys(record)) {
        try {
          markForHash(record[k], stack, marks);
        } catch (error) {
          within(`.${k}`, error);
        }
      }
    }
  } finally {
    stack.pop();
  }
}

/**
 * Whether object-hash hashes `value` faithfully itself: a plain object, a dense array, or a Date,
 * Map or Set without own properties, whose Symbol.toStringTag (which object-hash goes by) is true.
 */
function hashedAsIs(value: object, kind: BuiltinKind | undefined): boolean {
  if (kind !== 'Object' && kind !== 'Array' && kind !== 'Date' && kind !== 'Map' && kind !== 'Set') return false;
  if (Object.prototype.toString.call(value).slice(8, -1) !== kind) return false;
  if (kind === 'Object') return true;
  if (kind !== 'Array') return Reflect.ownKeys(value).length === 0;
  const list = value as unknown[];
  for (let i = 0; i < list.length; i++) if (!(i in list)) return false;
  return true;
}

/** object-hash of an instance whose fields {@link markForHash} marked. */
function hashVisibleState(value: object, marks: Map<object, symbol>): string {
  const replacer = (v: unknown): unknown => {
    if (typeof v === 'object' && v !== null) return marks.get(v) ?? v;
    if (typeof v === 'string') return v.isWellFormed() ? v : Symbol(`cache-memoize:${encodeString(v)}`);
    return Object.is(v, -0) ? Symbol('cache-memoize:n-0;') : v;
  };
  try {
    return objectHash(value, { replacer });
  } catch (error) {
    return fail(`cannot be hashed by object-hash (${error instanceof Error ? error.message : String(error)})`);
  }
}

function encodeInstance(value: object, stack: object[]): string {
  const className = classNameOf(value);
  const label = `an instance of ${className || 'an anonymous class'}`;
  const keyMethod: unknown = (value as { [KEY_METHOD]?: unknown })[KEY_METHOD];
  if (keyMethod !== undefined) {
    if (typeof keyMethod !== 'function') fail(`is ${label} whose ${KEY_METHOD_NAME} is not a method`);
    try {
      return `k${encodeString(className)}${encode(keyMethod.call(value), stack)}`;
    } catch (error) {
      within(`.${KEY_METHOD_NAME}()`, error);
    }
  }
  const toJSON = classToJSON(value);
  if (toJSON !== undefined) {
    try {
      return `k${encodeString(className)}${encode(toJSON.call(value), stack)}`;
    } catch (error) {
      within('.toJSON()', error);
    }
  }
  const hidden = hiddenState(value);
  if (hidden !== undefined) {
    const ownClass: unknown = (value as { constructor?: unknown }).constructor;
    const advice =
      nativeName(ownClass) === undefined
        ? `; give ${className || 'the class'} a ${KEY_METHOD_NAME}() method that returns what identifies an instance`
        : '';
    fail(`is ${label} that cannot be keyed by its visible state (${hidden})${advice}`);
  }
  // Marked here rather than in a helper: nested instances recurse through this frame, and each frame
  // less per level is depth that cold (interpreted) code can still reach on a default stack.
  const marks = new Map<object, symbol>();
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) {
    try {
      markForHash(record[k], stack, marks);
    } catch (error) {
      within(`.${k}`, error);
    }
  }
  return `c${encodeString(className)}${hashVisibleState(value, marks)}`;
}

/**
 * The canonical, type-tagged, length-prefixed text of an argument list: equal lists give equal text,
 * distinct lists (by value and type) give distinct text. Exposed for tests and benchmarks.
 *
 * Class instances are keyed by their `[Symbol.for('cache-memoize.key')]()` ({@link KEY_METHOD}), else
 * by a `toJSON()` their class defines, else by their visible state hashed with object-hash when that
 * state is all they hold; anything else is a TypeError saying how to key it.
 *
 * @throws TypeError naming the offending argument path and pointing to `keyArgs`: functions, symbols,
 * circular values, nesting deeper than {@link MAX_KEY_DEPTH}, instances whose state is not all visible,
 * and values that throw while being read (the error is the `cause`).
 */
export function canonicalArgs(args: readonly unknown[]): string {
  let out = `a${args.length}:`;
  const stack: object[] = [];
  for (let i = 0; i < args.length; i++) {
    try {
      out += encode(args[i], stack);
    } catch (thrown) {
      const error = asKeyError(thrown);
      throw new TypeError(
        `cache-memoize: argument ${i}${shortPath(error.path)} ${error.reason}. Use the keyArgs option to key on something else.`,
        { cause: error.cause },
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
