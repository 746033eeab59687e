import { type BuiltinKind, builtinKind } from '../builtins/kinds';
import { bytesOf, entriesOf, membersOf, regExpParts, timeOf, unboxed } from '../builtins/slots';
import { instanceEncoder } from './instance-key';
import { fail, MAX_KEY_DEPTH, within } from './key-error';
import { bytesDigest, KeyWriter, LONG_BYTES, LONG_STRING, utf16Digest } from './writer';

// Instance keying calls this module's encoder back, handed to it here rather than imported.
const encodeInstance = instanceEncoder({ value: encode, object: encodeObject, string: encodeString });

// A character above U+00FF: V8 tells at once that a string stored one byte per character has none.
const WIDE = /[\u0100-\uffff]/;

function encodeString(value: string, w: KeyWriter): void {
  // A long string with a wide character early on (most non-Latin text) is keyed by the digest of its
  // UTF-16 code units, a mark and 43 characters: converting it to UTF-8 costs more than hashing it,
  // the UTF-8 is up to half as long again, and code units need no check for lone surrogates.
  // Which strings go this way depends on their first characters only, never on how V8 stores them.
  if (value.length >= LONG_STRING && WIDE.test(value.slice(0, LONG_STRING))) {
    w.text += `U${value.length}#${utf16Digest(value)}`;
    return;
  }
  // Lone surrogates all become U+FFFD in UTF-8, so they would collide; JSON escapes them.
  if (value.isWellFormed()) w.counted('s', value);
  else w.counted('w', JSON.stringify(value));
}

function encodeBytes(kind: BuiltinKind, value: object, w: KeyWriter): void {
  const bytes = bytesOf(value, kind);
  w.text += 'B';
  encodeString(kind, w);
  // A long run is keyed by the digest of its bytes (a mark and 43 characters, so still self-delimiting):
  // hashing the bytes costs a fraction of encoding them as base64 and hashing that text.
  if (bytes.length >= LONG_BYTES) w.text += `#${bytesDigest(bytes)}`;
  else w.counted('', bytes.toString('base64'));
}

function encodeSorted(tag: string, parts: string[], w: KeyWriter): void {
  // Each part is self-delimiting, so the sorted concatenation is unambiguous and order-free.
  parts.sort();
  w.text += `${tag}${parts.length}:`;
  for (const part of parts) {
    w.text += part;
    w.settle();
  }
}

function encodeBuiltin(kind: Exclude<BuiltinKind, 'Object' | 'Array'>, value: object, w: KeyWriter): void {
  switch (kind) {
    case 'Date':
      w.text += `D${timeOf(value)};`;
      return;
    case 'Map': {
      const parts: string[] = [];
      for (const [k, v] of entriesOf(value)) {
        const part = w.part();
        try {
          encode(k, part);
          encode(v, part);
        } catch (error) {
          within('<map entry>', error);
        }
        parts.push(part.text);
      }
      encodeSorted('M', parts, w);
      return;
    }
    case 'Set': {
      const parts: string[] = [];
      for (const v of membersOf(value)) {
        const part = w.part();
        try {
          encode(v, part);
        } catch (error) {
          within('<set member>', error);
        }
        parts.push(part.text);
      }
      encodeSorted('S', parts, w);
      return;
    }
    case 'RegExp': {
      const [source, flags] = regExpParts(value);
      w.text += 'R';
      encodeString(source, w);
      encodeString(flags, w);
      return;
    }
    case 'Number':
    case 'String':
    case 'Boolean':
    case 'BigInt':
      w.text += 'x';
      encode(unboxed(value, kind), w);
      return;
    case 'Symbol':
      fail('is a boxed symbol; symbols cannot be part of a cache key');
      return;
    default:
      encodeBytes(kind, value, w);
  }
}

/** A plain object's own keys, sorted, and the start of its text: its key count and each key's text. */
interface Shape {
  /** The keys in their own order, as `Object.keys` lists them. */
  readonly keys: readonly string[];
  readonly sorted: readonly string[];
  readonly head: string;
  readonly texts: readonly string[];
}

// The rows of a list usually have the same keys in the same order: the last shape met at each depth
// is kept, so that such objects skip the sort and the key texts. Deeper levels are rarely lists.
const SHAPE_DEPTHS = 8;
const shapes: Array<Shape | undefined> = [];

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function shapeOf(keys: string[], depth: number): Shape {
  const last = depth < SHAPE_DEPTHS ? shapes[depth] : undefined;
  if (last !== undefined && sameKeys(last.keys, keys)) return last;
  const sorted = [...keys].sort();
  const texts = sorted.map((k) => {
    const part = new KeyWriter([], false);
    encodeString(k, part);
    return part.text;
  });
  const shape: Shape = { keys, sorted, head: `o${keys.length}:`, texts };
  if (depth < SHAPE_DEPTHS) shapes[depth] = shape;
  return shape;
}

function encodeObject(value: object, w: KeyWriter): void {
  if (w.stack.includes(value)) fail('is circular (it contains itself)');
  if (w.stack.length >= MAX_KEY_DEPTH) fail(`is nested more than ${MAX_KEY_DEPTH} levels deep`);
  w.stack.push(value);
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
      const { head, sorted, texts } = shapeOf(Object.keys(record), w.stack.length);
      w.text += head;
      for (let i = 0; i < sorted.length; i++) {
        const k = sorted[i] as string;
        try {
          w.text += texts[i];
          encode(record[k], w);
        } catch (error) {
          within(`.${k}`, error);
        }
        w.settle();
      }
    } else if (kind === 'Array') {
      const list = value as unknown[];
      w.text += `a${list.length}:`;
      for (let i = 0; i < list.length; i++) {
        try {
          const item = list[i];
          // A hole is not undefined: `i in list`, forEach and map tell them apart.
          if (item === undefined && !(i in list)) w.text += 'h';
          else encode(item, w);
        } catch (error) {
          within(`[${i}]`, error);
        }
        w.settle();
      }
    } else if (kind === undefined) {
      encodeInstance(value, w);
    } else {
      encodeBuiltin(kind, value, w);
    }
  } finally {
    w.stack.pop();
  }
}

// A fraction is written as its IEEE 754 bits, the high and the low 32 bits as integers, indexed by
// the machine's byte order so that every machine writes the same text.
const fraction = new Float64Array(1);
const words = new Uint32Array(fraction.buffer);
const HIGH = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The text of a number. Integers (and -0, NaN, the infinities) are decimal; a fraction is its bits
 * (one value, one bit pattern; NaN, whose patterns differ, is not a fraction): its shortest decimal
 * costs three times more (measured: 105 ns against 300 to 390 ns a number, in lists of distinct ones
 * that V8's number-to-string cache does not hold).
 */
function numberText(value: number): string {
  if (Number.isInteger(value)) return Object.is(value, -0) ? 'n-0;' : `n${value};`;
  if (!Number.isFinite(value)) return `n${value};`;
  fraction[0] = value;
  return `d${words[HIGH]}.${words[1 - HIGH]};`;
}

/**
 * Writes the canonical, type-tagged, self-delimiting text of `value` to `w`, whose stack holds the
 * objects being encoded around it (for the cycle and depth checks).
 * @throws KeyError for what cannot be part of a key
 */
export function encode(value: unknown, w: KeyWriter): void {
  switch (typeof value) {
    case 'string':
      encodeString(value, w);
      return;
    case 'number':
      w.text += numberText(value);
      return;
    case 'boolean':
      w.text += value ? 't' : 'f';
      return;
    case 'undefined':
      w.text += 'u';
      return;
    case 'bigint':
      w.text += `b${value};`;
      return;
    case 'object':
      if (value === null) w.text += 'z';
      else encodeObject(value, w);
      return;
    case 'function':
      fail('is a function; functions cannot be part of a cache key');
      return;
    default:
      fail(`is a ${typeof value}; it cannot be part of a cache key`);
  }
}
