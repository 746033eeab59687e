import { type BuiltinKind, TypedArrayPrototype } from './kinds';

// Readers of built-in values from any realm. Each calls this realm's intrinsic getter or method, which
// reads the value's internal slots, so no own property of the value can change what it reads.

function getter(proto: object, key: PropertyKey): (this: unknown) => unknown {
  return Object.getOwnPropertyDescriptor(proto, key)?.get as (this: unknown) => unknown;
}

const typedArrayBuffer = getter(TypedArrayPrototype, 'buffer');
const typedArrayOffset = getter(TypedArrayPrototype, 'byteOffset');
const typedArrayLength = getter(TypedArrayPrototype, 'byteLength');
const dataViewBuffer = getter(DataView.prototype, 'buffer');
const dataViewOffset = getter(DataView.prototype, 'byteOffset');
const dataViewLength = getter(DataView.prototype, 'byteLength');
const regExpSource = getter(RegExp.prototype, 'source');
// The flags getter reads `global` and the rest through the object, so an own property could lie to it.
const regExpFlags = (
  [
    ['d', 'hasIndices'],
    ['g', 'global'],
    ['i', 'ignoreCase'],
    ['m', 'multiline'],
    ['s', 'dotAll'],
    ['u', 'unicode'],
    ['v', 'unicodeSets'],
    ['y', 'sticky'],
  ] as const
)
  .filter(([, name]) => Object.hasOwn(RegExp.prototype, name))
  .map(([flag, name]): [string, (this: unknown) => unknown] => [flag, getter(RegExp.prototype, name)]);
const dateTime = Date.prototype.getTime;
const mapEntries = Map.prototype.entries;
const setValues = Set.prototype.values;

/** The bytes a Buffer, typed array, DataView, ArrayBuffer or SharedArrayBuffer holds (a view, not a copy). */
export function bytesOf(value: object, kind: BuiltinKind): Buffer {
  if (kind === 'ArrayBuffer' || kind === 'SharedArrayBuffer') return Buffer.from(value as ArrayBuffer);
  const isView = kind === 'DataView';
  const buffer = (isView ? dataViewBuffer : typedArrayBuffer).call(value) as ArrayBuffer;
  const offset = (isView ? dataViewOffset : typedArrayOffset).call(value) as number;
  const length = (isView ? dataViewLength : typedArrayLength).call(value) as number;
  return Buffer.from(buffer, offset, length);
}

/** Epoch milliseconds of a Date from any realm (`NaN` for an invalid one). */
export function timeOf(date: object): number {
  return dateTime.call(date);
}

/** The entries of a Map from any realm, whatever its own properties say. */
export function entriesOf(map: object): IterableIterator<[unknown, unknown]> {
  return mapEntries.call(map as Map<unknown, unknown>);
}

/** The members of a Set from any realm, whatever its own properties say. */
export function membersOf(set: object): IterableIterator<unknown> {
  return setValues.call(set as Set<unknown>);
}

/** Source and flags of a RegExp from any realm. */
export function regExpParts(regExp: object): [source: string, flags: string] {
  let flags = '';
  for (const [flag, isSet] of regExpFlags) if (isSet.call(regExp) === true) flags += flag;
  return [regExpSource.call(regExp) as string, flags];
}

/** The primitive inside a boxed `Number`, `String`, `Boolean`, `BigInt` or `Symbol`. */
export function unboxed(value: object, kind: 'Number' | 'String' | 'Boolean' | 'BigInt' | 'Symbol'): unknown {
  switch (kind) {
    case 'Number':
      return Number.prototype.valueOf.call(value);
    case 'String':
      return String.prototype.valueOf.call(value);
    case 'Boolean':
      return Boolean.prototype.valueOf.call(value);
    case 'BigInt':
      return BigInt.prototype.valueOf.call(value);
    default:
      return Symbol.prototype.valueOf.call(value);
  }
}
