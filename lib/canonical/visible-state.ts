import objectHash from 'object-hash';
import { type BuiltinKind, builtinKind, nativeName, prototypeKind } from '../builtins/kinds';
import { entriesOf, membersOf } from '../builtins/slots';
import type { CanonicalEncoder } from './encoder';
import { fail, MAX_KEY_DEPTH, within } from './key-error';
import { KeyWriter } from './writer';

// An instance with neither a key method nor a class toJSON is keyed by its visible state, hashed with
// object-hash, but only when that state is all it holds.

function article(noun: string): string {
  return `${/^[AEIOU]/i.test(noun) ? 'an' : 'a'} ${noun}`;
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
export function hiddenState(value: object): string | undefined {
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
 * The marker for `encoder`. It marks, for object-hash, every value inside an instance's state that it would not tell apart from
 * another (-0, lone surrogates, holes, bytes and regexps written without a length, nested instances,
 * toStringTag impostors): each is handed to it as a symbol carrying its canonical text. Genuine
 * symbols never reach object-hash (they are refused), so the marks cannot collide with real values.
 */
export function visibleStateMarker(
  encoder: CanonicalEncoder,
): (value: unknown, w: KeyWriter, marks: Map<object, symbol>) => void {
  const { value: encode, object: encodeObject } = encoder;
  // A frame of every level of nested instances: the encoder's parts are closed over rather than passed,
  // and a declaration, unlike a named function expression, keeps no register for its own name. Each
  // slot less per level is depth that cold (interpreted) code can still reach on a default stack.
  function markForHash(value: unknown, w: KeyWriter, marks: Map<object, symbol>): void {
    if (typeof value !== 'object' || value === null) {
      // Written only to be refused if it cannot be keyed: object-hash hashes it.
      encode(value, w.part());
      return;
    }
    if (marks.has(value)) return;
    if (w.stack.includes(value)) fail('is circular (it contains itself)');
    if (w.stack.length >= MAX_KEY_DEPTH) fail(`is nested more than ${MAX_KEY_DEPTH} levels deep`);
    const kind = builtinKind(value);
    if (!hashedAsIs(value, kind)) {
      const part = w.part();
      encodeObject(value, part);
      marks.set(value, Symbol(`cache-memoize:${part.text}`));
      return;
    }
    w.stack.push(value);
    try {
      if (kind === 'Map') {
        for (const [k, v] of entriesOf(value)) {
          try {
            markForHash(k, w, marks);
            markForHash(v, w, marks);
          } catch (error) {
            within('<map entry>', error);
          }
        }
      } else if (kind === 'Set') {
        for (const v of membersOf(value)) {
          try {
            markForHash(v, w, marks);
          } catch (error) {
            within('<set member>', error);
          }
        }
      } else if (kind === 'Array') {
        const list = value as unknown[];
        for (let i = 0; i < list.length; i++) {
          try {
            markForHash(list[i], w, marks);
          } catch (error) {
            within(`[${i}]`, error);
          }
        }
      } else if (kind === 'Object') {
        const record = value as Record<string, unknown>;
        for (const k of Object.keys(record)) {
          try {
            markForHash(record[k], w, marks);
          } catch (error) {
            within(`.${k}`, error);
          }
        }
      }
    } finally {
      w.stack.pop();
    }
  }
  return markForHash;
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

/**
 * The hasher for `encoder`: object-hash of an instance whose fields the {@link visibleStateMarker}
 * marked. A closure like the marker: it runs at the deepest level of nested instances.
 */
export function visibleStateHasher(encoder: CanonicalEncoder): (value: object, marks: Map<object, symbol>) => string {
  const { string: encodeString } = encoder;
  return (value, marks) => {
    const replacer = (v: unknown): unknown => {
      if (typeof v === 'object' && v !== null) return marks.get(v) ?? v;
      if (typeof v === 'string' && !v.isWellFormed()) {
        const part = new KeyWriter([], false);
        encodeString(v, part);
        return Symbol(`cache-memoize:${part.text}`);
      }
      if (typeof v === 'string') return v;
      return Object.is(v, -0) ? Symbol('cache-memoize:n-0;') : v;
    };
    try {
      return objectHash(value, { replacer });
    } catch (error) {
      return fail(`cannot be hashed by object-hash (${error instanceof Error ? error.message : String(error)})`);
    }
  };
}
