import { type BuiltinKind, builtinKind } from '../builtins/kinds';
import { bytesOf, entriesOf, membersOf, regExpParts, timeOf, unboxed } from '../builtins/slots';
import { instanceEncoder } from './instance-key';
import { fail, MAX_KEY_DEPTH, within } from './key-error';

// Instance keying calls this module's encoder back, handed to it here rather than imported.
const encodeInstance = instanceEncoder({ value: encode, object: encodeObject, string: encodeString });

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

/**
 * The canonical, type-tagged, self-delimiting text of `value`. `stack` holds the objects being
 * encoded around it, for the cycle and depth checks.
 * @throws KeyError for what cannot be part of a key
 */
export function encode(value: unknown, stack: object[]): string {
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
