import { createHash, hash as oneShotHash } from 'node:crypto';
import { asKeyError } from './canonical/key-error';
import { encode } from './canonical/text';
import { shortPath } from './error-path';
import { valueKey } from './key';

export { KEY_METHOD } from './canonical/instance-key';
export { MAX_KEY_DEPTH } from './canonical/key-error';

// One-shot crypto.hash arrived in Node 20.12; it skips the Hash object and is about twice as fast.
const sha256: (data: string) => string =
  typeof oneShotHash === 'function'
    ? (data) => oneShotHash('sha256', data, 'base64url')
    : (data) => createHash('sha256').update(data).digest('base64url');

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
