import { type BuiltinKind, builtinKind, hasBrand, TYPED_ARRAYS } from '../builtins/kinds';
import { bytesOf, entriesOf, membersOf, regExpParts, timeOf } from '../builtins/slots';
import { DECIMAL_BIGINT_HEX_DIGITS, HEADER_LENGTH, TAG } from './format';
import { MAX_VALUE_DEPTH, TooLarge, Unserializable, within } from './value-errors';

// The full encoder writes JSON text itself, tags included, and stops as soon as it passes its limit,
// so a huge or sparse result costs time and memory in proportion to the limit, not to the result.

// Pieces are joined into flat chunks every so often: one long rope of millions of small pieces would
// keep them all alive, and the garbage collector would spend most of the time copying them.
const PIECES_PER_CHUNK = 512;

/** One encode's output so far. Its length (UTF-16 units) never exceeds the UTF-8 bytes it will take. */
export class Output {
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

/** Writes the JSON text of `value`, tags included, to `out`; throws Unserializable or TooLarge. */
export function writeValue(out: Output, value: unknown): void {
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
