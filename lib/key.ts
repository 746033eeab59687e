// The key format, composed and parsed here and nowhere else.
//
// A memoized function's function prefix is `keyPrefix:name:`, or `keyPrefix:name:v<version>` for a
// versioned function. An entry's value lives at `<function prefix>{digest}`: the braces are a Redis
// Cluster hash tag, and a value key is the only kind that ends with `}`.
//
// The entry's other keys (generation token, compute lock, waiters mark, tag stamp) and the
// function's entry index live on the side: the same key with `#` inserted where the keyPrefix ends,
// `keyPrefix#:name:{digest}:g` (`:l`, `:w`, `:t`) and `keyPrefix#:name:#entries`. Why:
//
// - Side keys do not start with `keyPrefix:`. The local tier once tracked `keyPrefix:` in broadcast
//   mode, where that made each changed entry one push instead of five; it now reads only value keys
//   (and a tagged entry's stamp and tag keys), so side keys are pushed to nobody either way. The
//   layout stays, so that the entries written under it keep being read.
// - The `{digest}` hash tag stays, so one script still touches all of an entry's keys in one slot.
// - `#` goes right after the keyPrefix, before the `:` that ends it: name and version have no `:`
//   and the digest neither, so the keyPrefix ends at the second-to-last `:` of a value key (a
//   keyPrefix may hold `:` itself), and side keys map back to value keys one to one. A `#` inside a
//   name could not be told apart from this mark, one after the keyPrefix can. A side key starts with
//   `keyPrefix`, so an ACL key pattern `~keyPrefix*` grants both.

/** Inserted where the keyPrefix ends, to move an entry's side keys out of `keyPrefix:`. */
const SIDE_MARK = '#';
/** Suffix of the key that holds an entry's generation token. */
const TOKEN_SUFFIX = ':g';
/** Suffix of the key that holds an entry's cross-process compute lock. */
const LOCK_SUFFIX = ':l';
/** Suffix of the key that marks a lock as waited for, so that its release is announced. */
const WAITERS_SUFFIX = ':w';
/** Suffix of the key that holds a tagged entry's stamp: the tag epoch its computation began at, and its tags. */
const STAMP_SUFFIX = ':t';
const SIBLING_SUFFIXES = [TOKEN_SUFFIX, LOCK_SUFFIX, WAITERS_SUFFIX, STAMP_SUFFIX];

/**
 * Where the keyPrefix of a value key or function prefix ends: the second-to-last `:` (the one
 * before the name), or -1 for a key with fewer than two `:`, which the library never composes.
 */
function keyPrefixEnd(key: string): number {
  const last = key.lastIndexOf(':');
  return last < 1 ? -1 : key.lastIndexOf(':', last - 1);
}

/** `key` with the side mark where its keyPrefix ends (at the start, for a key with fewer than two `:`). */
function sideOf(key: string): string {
  const end = keyPrefixEnd(key);
  return end < 0 ? SIDE_MARK + key : key.slice(0, end) + SIDE_MARK + key.slice(end);
}

/**
 * The same rule in Lua, for scripts that read value keys from an entry index: sets `side` to the
 * side form of the value key `m` (append a suffix for a sibling key).
 */
export const SIDE_OF_LUA = `local kp, rest = string.match(m, '^(.*)(:[^:]*:[^:]*)$')
if not kp then kp, rest = '', m end
local side = kp .. '${SIDE_MARK}' .. rest`;

// Tags live in one namespace per store, outside every function's keys. Each tag key carries the tag
// as its hash tag, so tags spread over a cluster.

/** What every tag key starts with; the local tier routes the changes of those it read by it. */
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
 * expire, so that `invalidateAll` reads its own entries and not the keyspace. It is a side key
 * (`keyPrefix#:name:#entries`, `keyPrefix#:name:v<version>#entries`): index updates are not pushed
 * to the local tiers, and each version has its own.
 */
export function entryIndexKey(functionPrefix: string): string {
  return `${sideOf(functionPrefix)}#entries`;
}

/**
 * The part every value key of one memoized function starts with: `keyPrefix:name:`, or with a
 * `version`, `keyPrefix:name:v<version>`. All parts are validated when options are parsed: no `{` or
 * `}`, and `name` and `version` have no `:`. Only a versioned prefix does not end with `:`, so no
 * keyPrefix and name of an unversioned function can spell a versioned one's prefix.
 */
export function functionKeyPrefix(keyPrefix: string, name: string, version?: string): string {
  return version === undefined ? `${keyPrefix}:${name}:` : `${keyPrefix}:${name}:v${version}`;
}

/** The key of one entry's value: the function prefix, then the argument digest in a hash tag. */
export function valueKey(functionPrefix: string, digest: string): string {
  return `${functionPrefix}{${digest}}`;
}

/**
 * What every value key of one function starts with: the function prefix and the opening brace, so
 * that `invalidateAll` of `memo:user:` never reaches the entries of `memo:user:x:`. The entries' side
 * keys start with {@link sideEntriesPrefix} of it.
 */
export function entriesPrefix(functionPrefix: string): string {
  return `${functionPrefix}{`;
}

/** What the side keys (token, lock, waiters mark, stamp) of the entries under `entriesPrefix` start with. */
export function sideEntriesPrefix(entriesPrefix: string): string {
  return sideOf(entriesPrefix);
}

/** The key of the generation token that guards writes to the entry at `valueKey`. */
export function tokenKeyOf(valueKey: string): string {
  return sideOf(valueKey) + TOKEN_SUFFIX;
}

/** The key of an entry's compute lock. */
export function lockKeyOf(valueKey: string): string {
  return sideOf(valueKey) + LOCK_SUFFIX;
}

/** The key that says someone waits for an entry's lock. */
export function waitersKeyOf(valueKey: string): string {
  return sideOf(valueKey) + WAITERS_SUFFIX;
}

/** The key of a tagged entry's stamp (its tag epoch and tags). */
export function stampKeyOf(valueKey: string): string {
  return sideOf(valueKey) + STAMP_SUFFIX;
}

/**
 * Every key of the entry at `valueKey`, in the order scripts receive them: value, token, lock,
 * waiters, stamp.
 */
export function entryKeysOf(valueKey: string): [string, string, string, string, string] {
  const side = sideOf(valueKey);
  return [valueKey, side + TOKEN_SUFFIX, side + LOCK_SUFFIX, side + WAITERS_SUFFIX, side + STAMP_SUFFIX];
}

/** The suffixes of the side keys that deleting an entry removes besides its value: token, lock, stamp. */
export const DELETED_SUFFIXES: readonly string[] = [TOKEN_SUFFIX, LOCK_SUFFIX, STAMP_SUFFIX];

/** Every key deleting the entry at `valueKey` removes: value, token, lock, stamp. */
export function deletedKeysOf(valueKey: string): string[] {
  const side = sideOf(valueKey);
  return [valueKey, ...DELETED_SUFFIXES.map((suffix) => side + suffix)];
}

/** The value key that an entry's key (value, token, lock, waiters mark or stamp) belongs to. */
export function valueKeyOf(key: string): string {
  const suffix = SIBLING_SUFFIXES.find((s) => key.endsWith(s));
  if (suffix === undefined) return key;
  const side = key.slice(0, -suffix.length);
  const mark = keyPrefixEnd(side) - SIDE_MARK.length;
  if (mark >= 0 && side.startsWith(SIDE_MARK, mark)) return side.slice(0, mark) + side.slice(mark + SIDE_MARK.length);
  return side.startsWith(SIDE_MARK) ? side.slice(SIDE_MARK.length) : side;
}

/**
 * The function prefix of a value key, or `undefined` for any other key (an entry's side keys, or a
 * key the library did not write).
 */
export function functionPrefixOfValueKey(key: string): string | undefined {
  if (!key.endsWith('}')) return undefined;
  const open = key.lastIndexOf('{');
  return open < 0 ? undefined : key.slice(0, open);
}
