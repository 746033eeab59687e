import { nativeName, prototypeKind } from '../builtins/kinds';
import type { CanonicalEncoder } from './encoder';
import { fail, within } from './key-error';
import { hiddenState, visibleStateHasher, visibleStateMarker } from './visible-state';
import type { KeyWriter } from './writer';

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

/**
 * Instance keying for `encoder`: the returned function writes the canonical text of a class instance,
 * by its {@link KEY_METHOD}, else by a `toJSON()` its class defines, else by its visible state when
 * that state is all it holds; for any other instance it throws a KeyError saying how to key it.
 */
export function instanceEncoder(encoder: CanonicalEncoder): (value: object, w: KeyWriter) => void {
  const { value: encode, string: encodeString } = encoder;
  const markForHash = visibleStateMarker(encoder);
  const hashVisibleState = visibleStateHasher(encoder);
  // The encoder's parts are closed over, not passed along: nested instances recurse through this frame.
  return function encodeInstance(value: object, w: KeyWriter): void {
    const className = classNameOf(value);
    const label = `an instance of ${className || 'an anonymous class'}`;
    const keyMethod: unknown = (value as { [KEY_METHOD]?: unknown })[KEY_METHOD];
    if (keyMethod !== undefined) {
      if (typeof keyMethod !== 'function') fail(`is ${label} whose ${KEY_METHOD_NAME} is not a method`);
      try {
        const key: unknown = keyMethod.call(value);
        w.text += 'k';
        encodeString(className, w);
        encode(key, w);
        return;
      } catch (error) {
        within(`.${KEY_METHOD_NAME}()`, error);
      }
    }
    const toJSON = classToJSON(value);
    if (toJSON !== undefined) {
      try {
        const key: unknown = toJSON.call(value);
        w.text += 'k';
        encodeString(className, w);
        encode(key, w);
        return;
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
        markForHash(record[k], w, marks);
      } catch (error) {
        within(`.${k}`, error);
      }
    }
    const hash = hashVisibleState(value, marks);
    w.text += 'c';
    encodeString(className, w);
    w.text += hash;
  };
}
