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

/** `%TypedArray%.prototype`, the prototype every typed array prototype of this realm extends. */
export const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

// This realm's intrinsic getter: it reads the internal slot of a typed array from any realm, and an
// own property of the value cannot shadow it.
const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag)?.get as (
  this: unknown,
) => unknown;

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
