import { types } from 'node:util';

// Type tests for both encoders. They decide by brand (internal slots, which no object can fake) and
// by the prototype being that built-in's own, never by Symbol.toStringTag, which any class can set.
// They hold across realms: values from structuredClone, vm contexts or jest's sandbox have another
// realm's Date, Map and Object.prototype, and are still what they are.

/** The built-in types the encoders know, each named as its constructor is. */
export type BuiltinKind =
  | 'Object'
  | 'Array'
  | 'Date'
  | 'Map'
  | 'Set'
  | 'RegExp'
  | 'ArrayBuffer'
  | 'SharedArrayBuffer'
  | 'DataView'
  | 'Buffer'
  | TypedArrayKind
  | 'Number'
  | 'String'
  | 'Boolean'
  | 'BigInt'
  | 'Symbol';

/** Typed array kinds, named as their constructors. */
export type TypedArrayKind =
  | 'Int8Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array';

type TypedArrayConstructor = new (buffer: ArrayBufferLike, offset: number, length: number) => ArrayBufferView;

/** Constructors of the typed arrays the value encoder writes and reads back. */
export const TYPED_ARRAYS: Readonly<Record<TypedArrayKind, TypedArrayConstructor>> = {
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

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

function getter(proto: object, key: PropertyKey): (this: unknown) => unknown {
  return Object.getOwnPropertyDescriptor(proto, key)?.get as (this: unknown) => unknown;
}

// Intrinsic getters and methods of this realm: they read the internal slots of a value from any
// realm, and an own property of the value cannot shadow them.
const typedArrayTag = getter(TypedArrayPrototype, Symbol.toStringTag);
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

function isTypedArrayOf(kind: TypedArrayKind): (value: object) => boolean {
  return (value) => typedArrayTag.call(value) === kind;
}

const BRANDS: Readonly<Record<BuiltinKind, (value: object) => boolean>> = {
  Object: () => true,
  Array: Array.isArray,
  Date: types.isDate,
  Map: types.isMap,
  Set: types.isSet,
  RegExp: types.isRegExp,
  ArrayBuffer: types.isArrayBuffer,
  SharedArrayBuffer: types.isSharedArrayBuffer,
  DataView: types.isDataView,
  Buffer: (value) => Buffer.isBuffer(value) && types.isUint8Array(value),
  Number: types.isNumberObject,
  String: types.isStringObject,
  Boolean: types.isBooleanObject,
  BigInt: types.isBigIntObject,
  Symbol: types.isSymbolObject,
  ...(Object.fromEntries(
    Object.keys(TYPED_ARRAYS).map((kind) => [kind, isTypedArrayOf(kind as TypedArrayKind)]),
  ) as Record<TypedArrayKind, (value: object) => boolean>),
};

const KINDS = new Set<string>([...Object.keys(BRANDS), 'TypedArray']);

/** This realm's built-in prototypes. Buffer is Node's own, so it has no counterpart in other realms. */
const LOCAL_PROTOTYPES = new Map<object, string>([
  [Object.prototype, 'Object'],
  [Array.prototype, 'Array'],
  [Date.prototype, 'Date'],
  [Map.prototype, 'Map'],
  [Set.prototype, 'Set'],
  [RegExp.prototype, 'RegExp'],
  [ArrayBuffer.prototype, 'ArrayBuffer'],
  [SharedArrayBuffer.prototype, 'SharedArrayBuffer'],
  [DataView.prototype, 'DataView'],
  [Buffer.prototype, 'Buffer'],
  [Number.prototype, 'Number'],
  [String.prototype, 'String'],
  [Boolean.prototype, 'Boolean'],
  [BigInt.prototype, 'BigInt'],
  [Symbol.prototype, 'Symbol'],
  [TypedArrayPrototype, 'TypedArray'],
  ...Object.entries(TYPED_ARRAYS).map(([kind, ctor]): [object, string] => [ctor.prototype, kind]),
]);

/** Verdicts on prototypes from other realms: the built-in each one is, or `null`. */
const foreignPrototypes = new WeakMap<object, string | null>();

const NATIVE_FUNCTION = /^function ([A-Za-z0-9_$]+)\(\) \{ \[native code\] \}$/;

/**
 * The name of a built-in function (`'Date'` for `Date`), or `undefined` for a function written in
 * JavaScript, a bound function or a proxy (their source text has no name before `[native code]`).
 */
export function nativeName(fn: unknown): string | undefined {
  if (typeof fn !== 'function') return undefined;
  return NATIVE_FUNCTION.exec(Function.prototype.toString.call(fn))?.[1];
}

function foreignKind(proto: object): string | null {
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'constructor');
  const ctor: unknown = descriptor?.value;
  const name = nativeName(ctor);
  if (name === undefined || !KINDS.has(name)) return null;
  if ((ctor as { prototype?: unknown }).prototype !== proto) return null;
  const parent = Object.getPrototypeOf(proto) as object | null;
  if (name === 'Object') return parent === null ? name : null;
  if (parent === null) return null;
  const expected = name in TYPED_ARRAYS ? 'TypedArray' : 'Object';
  return prototypeKind(parent) === expected ? name : null;
}

/**
 * Which built-in's own prototype `proto` is (`'Date'` for `Date.prototype` of any realm), or
 * `undefined` when it is any other object (a class's prototype, a plain object).
 */
export function prototypeKind(proto: object): string | undefined {
  const local = LOCAL_PROTOTYPES.get(proto);
  if (local !== undefined) return local;
  let kind = foreignPrototypes.get(proto);
  if (kind === undefined) {
    kind = foreignKind(proto);
    foreignPrototypes.set(proto, kind);
  }
  return kind ?? undefined;
}

/**
 * The built-in type `value` is exactly: it carries that type's brand and has that type's own
 * prototype (of any realm). A subclass instance, an object posing as a built-in through
 * `Symbol.toStringTag`, or one made with `Object.create(Date.prototype)` is none (`undefined`).
 * `Object` means a plain object: `{...}` or `Object.create(null)`.
 */
export function builtinKind(value: object): BuiltinKind | undefined {
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === null) return 'Object';
  const kind = prototypeKind(proto);
  if (kind === undefined || kind === 'TypedArray') return undefined;
  return BRANDS[kind as BuiltinKind](value) ? (kind as BuiltinKind) : undefined;
}

/** Whether `value` carries the brand of the built-in named `name` (a subclass instance does too). */
export function hasBrand(value: object, name: string): boolean {
  return Object.hasOwn(BRANDS, name) && name !== 'Object' && BRANDS[name as BuiltinKind](value);
}

/** True for `{...}` literals and `Object.create(null)` objects, from any realm. */
export function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || proto === Object.prototype || prototypeKind(proto) === 'Object';
}

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

const PATH_END_LENGTH = 60;

/** A path for an error message (`.a[0].b`), with the middle of a very deep one left out. */
export function shortPath(path: string): string {
  if (path.length <= 3 * PATH_END_LENGTH) return path;
  return `${path.slice(0, PATH_END_LENGTH)}…${path.slice(-PATH_END_LENGTH)}`;
}
