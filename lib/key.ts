// The key format, composed and parsed here and nowhere else.
//
// Every key of one memoized function starts with its function prefix, `keyPrefix:name:`. An entry's
// value lives at `keyPrefix:name:{digest}`; the braces are a Redis Cluster hash tag, so the entry's
// sibling keys (generation token, compute lock, waiters mark: the value key plus a suffix) live in
// the same slot and one script can touch them all. A value key is the only kind that ends with `}`.

/** Suffix of the key that holds an entry's generation token. */
const TOKEN_SUFFIX = ':g';
/** Suffix of the key that holds an entry's cross-process compute lock. */
const LOCK_SUFFIX = ':l';
/** Suffix of the key that marks a lock as waited for, so that its release is announced. */
const WAITERS_SUFFIX = ':w';
/** Suffix of the key that holds a tagged entry's stamp: the tag epoch its computation began at, and its tags. */
const STAMP_SUFFIX = ':t';
const SIBLING_SUFFIXES = [TOKEN_SUFFIX, LOCK_SUFFIX, WAITERS_SUFFIX, STAMP_SUFFIX];

// Tags live in one namespace per store, outside every function's keys: a function prefix has no `{`
// and ends with `:`, so it is never a prefix of these keys nor they of it (Redis refuses overlapping
// tracking prefixes). Each tag key carries the tag as its hash tag, so tags spread over a cluster.

/** What every tag key starts with; the local tier tracks it. */
export const TAG_KEY_PREFIX = 'cache-memoize:tag{';
/** The tag epoch: a counter that every `invalidateTags` increments. */
export const TAG_EPOCH_KEY = 'cache-memoize:tag-epoch';

/** The key holding the epoch of the last invalidation of `tag`. */
export function tagKey(tag: string): string {
  return `${TAG_KEY_PREFIX}${tag}}`;
}

/** The tag a tag key stands for, or `undefined` for any other key. */
export function tagOfKey(key: string): string | undefined {
  return key.startsWith(TAG_KEY_PREFIX) && key.endsWith('}') ? key.slice(TAG_KEY_PREFIX.length, -1) : undefined;
}

/**
 * The key of a function's entry index: a sorted set of its value keys, scored by when their tokens
 * expire, so that `invalidateAll` reads its own entries and not the keyspace. It is outside the
 * function prefix, so index updates are not pushed to the local tiers that track the prefix.
 */
export function entryIndexKey(functionPrefix: string): string {
  return `${functionPrefix.slice(0, -1)}#entries`;
}

/**
 * The part every key of one memoized function starts with: `keyPrefix:name:`. Both parts are
 * validated when options are parsed: no `{` or `}`, and `name` has no `:`.
 */
export function functionKeyPrefix(keyPrefix: string, name: string): string {
  return `${keyPrefix}:${name}:`;
}

/** The key of one entry's value: the function prefix, then the argument digest in a hash tag. */
export function valueKey(functionPrefix: string, digest: string): string {
  return `${functionPrefix}{${digest}}`;
}

/**
 * What every key of every entry of one function starts with: the function prefix and the opening
 * brace, so that `invalidateAll` of `memo:user:` never reaches the entries of `memo:user:x:`.
 */
export function entriesPrefix(functionPrefix: string): string {
  return `${functionPrefix}{`;
}

/** The key of the generation token that guards writes to the entry at `valueKey`. */
export function tokenKeyOf(valueKey: string): string {
  return valueKey + TOKEN_SUFFIX;
}

/** The key of an entry's compute lock. */
export function lockKeyOf(valueKey: string): string {
  return valueKey + LOCK_SUFFIX;
}

/** The key that says someone waits for an entry's lock. */
export function waitersKeyOf(valueKey: string): string {
  return valueKey + WAITERS_SUFFIX;
}

/** The key of a tagged entry's stamp (its tag epoch and tags). */
export function stampKeyOf(valueKey: string): string {
  return valueKey + STAMP_SUFFIX;
}

/**
 * Every key of the entry at `valueKey`, in the order scripts receive them: value, token, lock,
 * waiters, stamp.
 */
export function entryKeysOf(valueKey: string): [string, string, string, string, string] {
  return [valueKey, tokenKeyOf(valueKey), lockKeyOf(valueKey), waitersKeyOf(valueKey), stampKeyOf(valueKey)];
}

/** The suffixes of the keys that deleting an entry removes besides its value: token, lock, stamp. */
export const DELETED_SUFFIXES: readonly string[] = [TOKEN_SUFFIX, LOCK_SUFFIX, STAMP_SUFFIX];

/** The value key that an entry's key (value, token, lock or waiters mark) belongs to. */
export function valueKeyOf(key: string): string {
  for (const suffix of SIBLING_SUFFIXES) if (key.endsWith(suffix)) return key.slice(0, -suffix.length);
  return key;
}

/**
 * The function prefix of a value key, or `undefined` for any other key (an entry's token, lock or
 * waiters mark, or a key the library did not write).
 */
export function functionPrefixOfValueKey(key: string): string | undefined {
  if (!key.endsWith('}')) return undefined;
  const open = key.lastIndexOf('{');
  return open < 0 ? undefined : key.slice(0, open);
}
