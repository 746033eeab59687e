import { asKeyError } from './canonical/key-error';
import { encode } from './canonical/text';
import { KeyWriter } from './canonical/writer';
import { shortPath } from './error-path';
import { valueKey } from './key';

export { KEY_METHOD } from './canonical/instance-key';
export { MAX_KEY_DEPTH } from './canonical/key-error';

/** Writes the text of `args` to `w`; a TypeError naming the argument path for what cannot be keyed. */
function writeArgs(args: readonly unknown[], w: KeyWriter): void {
  w.text += `a${args.length}:`;
  for (let i = 0; i < args.length; i++) {
    try {
      encode(args[i], w);
    } catch (thrown) {
      const error = asKeyError(thrown);
      throw new TypeError(
        `cache-memoize: argument ${i}${shortPath(error.path)} ${error.reason}. Use the keyArgs option to key on something else.`,
        { cause: error.cause },
      );
    }
    w.settle();
  }
}

/**
 * The canonical, type-tagged, length-prefixed text of an argument list: equal lists give equal text,
 * distinct lists (by value and type) give distinct text. Exposed for tests and benchmarks; keys
 * stream the same text into their digest instead of building it.
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
  const w = new KeyWriter([], false);
  writeArgs(args, w);
  return w.text;
}

/**
 * SHA-256 (base64url) of {@link canonicalArgs}: 43 characters, the same in every process and version.
 * The text goes to the hash as it is written, long strings directly, so it is never built whole.
 */
export function digestArgs(args: readonly unknown[]): string {
  const w = new KeyWriter([], true);
  writeArgs(args, w);
  return w.digest();
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
// A lone argument remembered by itself: the string's text stays within the remembered length.
const REMEMBERED_STRING_LENGTH = 100;

/** Whether `arg`, alone, may be remembered by itself: a Map tells such values apart as keys do. */
function rememberedAsItself(arg: unknown): boolean {
  // -0 and 0 are one Map key but two argument keys.
  if (typeof arg === 'number') return arg !== 0 || 1 / arg > 0;
  return typeof arg === 'string' && arg.length <= REMEMBERED_STRING_LENGTH;
}

/**
 * {@link entryKey} for one function, remembering the keys of short argument lists (up to 1024 of
 * them, forgotten all at once when full); a lone number or short string is remembered by itself, so
 * its key costs one lookup and no text at all. A remembered key is also the same string object each
 * time, so maps and the Redis encoder find it flat with its hash already computed.
 */
export function entryKeys(functionPrefix: string): (args: readonly unknown[]) => string {
  const remembered = new Map<string, string>();
  const byArg = new Map<unknown, string>();
  const remember = <K>(map: Map<K, string>, k: K, key: string): string => {
    if (map.size >= REMEMBERED_KEYS) map.clear();
    map.set(k, key);
    return key;
  };
  const written = (args: readonly unknown[]): string => {
    const w = new KeyWriter([], true);
    writeArgs(args, w);
    const { text } = w;
    if (!w.whole || text.length > REMEMBERED_TEXT_LENGTH) return valueKey(functionPrefix, w.digest());
    const key = remembered.get(text) ?? remember(remembered, text, valueKey(functionPrefix, w.digest()));
    const only = args[0];
    return args.length === 1 && rememberedAsItself(only) ? remember(byArg, only, key) : key;
  };
  // A local hit runs this: it stays small enough for the optimizer to inline it into the call.
  return (args) => {
    if (args.length === 1 && rememberedAsItself(args[0])) {
      const key = byArg.get(args[0]);
      if (key !== undefined) return key;
    }
    return written(args);
  };
}
