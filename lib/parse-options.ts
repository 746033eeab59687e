import { functionKeyPrefix } from './key';
import {
  boolean,
  breakerPatchOf,
  checkKnown,
  describe,
  earlyRefreshOf,
  fraction,
  isRecord,
  keyPart,
  localOf,
  MAX_KEY_PART_LENGTH,
  msOption,
  optionalFunction,
  positiveInteger,
  ttlToMs,
  versionOf,
} from './option-values';
import type { Hooks, MemoizeOptions } from './options';
import {
  applyCreation,
  type CreationSettings,
  DEFAULT_KEY_PREFIX,
  DEFAULT_TTL_MS,
  type FunctionSettings,
  type MemoizerPatch,
  type StoreChoice,
  type StoreSettingsPatch,
} from './settings';
import type { RedisLike } from './stores/redis/drivers';
import type { Store } from './stores/store';
import { parseTagList, TAG_RULE } from './tag-list';

// Options, parsed once into frozen settings. Every option is checked here and nowhere else; a
// mistake is a `TypeError` naming the option and what it must be.

// A token must outlive any computation that captured it; ten minutes covers all but pathological ones.
const MIN_TOKEN_TTL_MS = 600_000;
const CREATION_KEYS = [
  'ttl',
  'keyPrefix',
  'lock',
  'lockTtl',
  'lockWait',
  'awaitWrite',
  'staleTtl',
  'earlyRefresh',
  'local',
  'clone',
  'ttlJitter',
];
const MEMOIZER_KEYS = [
  ...CREATION_KEYS,
  'store',
  'client',
  'timeout',
  'circuitBreaker',
  'maxValueBytes',
  'onHit',
  'onMiss',
  'onError',
];
const FUNCTION_KEYS = [
  ...MEMOIZER_KEYS,
  'name',
  'keyArgs',
  'shouldCache',
  'version',
  'cacheErrors',
  'errorTtl',
  'tags',
];
const STORE_METHODS = ['get', 'begin', 'set', 'delete', 'rotate', 'deleteMatching'] as const;
const REQUEST_METHODS = ['begin', 'set', 'rotate', 'deleteMatching'] as const;

function storeSettingsPatchOf(o: Record<string, unknown>): StoreSettingsPatch {
  const patch: { -readonly [K in keyof StoreSettingsPatch]: StoreSettingsPatch[K] } = {};
  if (o.timeout !== undefined) patch.timeoutMs = msOption(o.timeout, 'timeout', true);
  if (o.maxValueBytes !== undefined) patch.maxValueBytes = positiveInteger(o.maxValueBytes, 'maxValueBytes', true);
  if (o.circuitBreaker !== undefined) patch.breaker = breakerPatchOf(o.circuitBreaker);
  return Object.freeze(patch);
}

function storeChoiceOf(o: Record<string, unknown>): StoreChoice {
  if (o.store !== undefined && o.client !== undefined) {
    throw new TypeError('cache-memoize: give either store or client, not both');
  }
  if (o.client !== undefined) return { client: o.client as RedisLike };
  if (o.store === undefined) return undefined;
  const store = o.store as Partial<Store> | null;
  if (typeof store !== 'object' || store === null || STORE_METHODS.some((m) => typeof store[m] !== 'function')) {
    throw new TypeError(`cache-memoize: store must implement the Store interface (${STORE_METHODS.join(', ')})`);
  }
  // A store written for positional arguments would be called with one request object and misbehave.
  const positional = REQUEST_METHODS.find((m) => (store[m] as (...args: unknown[]) => unknown).length > 1);
  if (positional !== undefined) {
    throw new TypeError(
      `cache-memoize: store.${positional} takes ${(store[positional] as () => unknown).length} parameters; ` +
        'Store methods take one request object (for example begin({ key, tokenTtlMs, lock }))',
    );
  }
  return { store: store as Store };
}

function creationOf(o: Record<string, unknown>): CreationSettings {
  const c: { -readonly [K in keyof CreationSettings]: CreationSettings[K] } = {};
  if (o.ttl !== undefined) c.ttlMs = ttlToMs(o.ttl);
  if (o.keyPrefix !== undefined) {
    c.keyPrefix = keyPart(
      o.keyPrefix,
      'keyPrefix',
      /[{}]/,
      `a non-empty string of at most ${MAX_KEY_PART_LENGTH} characters without { or } (well formed: no lone surrogates)`,
    );
  }
  if (o.lock !== undefined) c.lock = boolean(o.lock, 'lock');
  if (o.lockTtl !== undefined) c.lockTtlMs = msOption(o.lockTtl, 'lockTtl', false);
  if (o.lockWait !== undefined) c.lockWaitMs = msOption(o.lockWait, 'lockWait', false);
  if (o.awaitWrite !== undefined) c.awaitWrite = boolean(o.awaitWrite, 'awaitWrite');
  if (o.staleTtl !== undefined) c.staleTtlMs = o.staleTtl === 0 ? 0 : ttlToMs(o.staleTtl, 'staleTtl (or 0 for off)');
  if (o.earlyRefresh !== undefined) c.earlyRefresh = earlyRefreshOf(o.earlyRefresh);
  if (o.local !== undefined) c.local = localOf(o.local);
  if (o.clone !== undefined) c.clone = boolean(o.clone, 'clone');
  if (o.ttlJitter !== undefined) c.ttlJitter = fraction(o.ttlJitter, 'ttlJitter');
  return Object.freeze(c);
}

/**
 * Parses the options shared by memoizers and functions.
 * @throws TypeError naming the option and what it must be.
 */
export function parseMemoizerOptions(options: unknown, where: string, known = MEMOIZER_KEYS): MemoizerPatch {
  if (!isRecord(options)) {
    throw new TypeError(`cache-memoize: options of ${where} must be an object, got ${describe(options)}`);
  }
  checkKnown(options, known, where);
  const hooks: Hooks = Object.freeze({
    onHit: optionalFunction<Hooks['onHit']>(options.onHit, 'onHit'),
    onMiss: optionalFunction<Hooks['onMiss']>(options.onMiss, 'onMiss'),
    onError: optionalFunction<Hooks['onError']>(options.onError, 'onError'),
  });
  return Object.freeze({
    storeChoice: storeChoiceOf(options),
    creation: creationOf(options),
    storeSettings: storeSettingsPatchOf(options),
    hooks,
  });
}

/** The `tags` option: a function as it is, or a fixed list checked now. */
function tagsOption(value: unknown, name: string): FunctionSettings['tags'] {
  if (value === undefined || typeof value === 'function') return value as FunctionSettings['tags'];
  const parsed = parseTagList(value);
  if ('tags' in parsed) return parsed.tags;
  throw new TypeError(`cache-memoize: tags of ${name} must be a function or ${TAG_RULE}; ${parsed.problem}`);
}

/**
 * Parses one function's options (or the ttl shorthand) and applies its memoizer's defaults.
 * @throws TypeError naming the option and what it must be.
 */
export function parseFunctionOptions(fn: unknown, options: unknown, defaults: CreationSettings): FunctionSettings {
  if (typeof fn !== 'function') throw new TypeError(`cache-memoize: memoize() needs a function, got ${describe(fn)}`);
  const o: unknown = typeof options === 'number' || typeof options === 'string' ? { ttl: options } : (options ?? {});
  const own = parseMemoizerOptions(o, `memoize(${fn.name || 'anonymous function'})`, FUNCTION_KEYS);
  const raw = o as MemoizeOptions;
  const name = keyPart(
    // A bound function is named 'bound f': its keys go by f.
    raw.name ?? (fn.name.replace(/^(bound )+/, '') || undefined),
    raw.name === undefined ? 'name (fn.name, since no name option was given)' : 'name',
    /[{}:]/,
    `a non-empty string (well formed: no lone surrogates) of at most ${MAX_KEY_PART_LENGTH} characters without {, } or :`,
  );
  const c = applyCreation(defaults, own.creation);
  const ttlMs = c.ttlMs ?? DEFAULT_TTL_MS;
  const staleTtlMs = c.staleTtlMs ?? 0;
  if (staleTtlMs > 0 && ttlMs === Number.POSITIVE_INFINITY) {
    throw new TypeError('cache-memoize: staleTtl needs a finite ttl (with ttl Infinity nothing ever goes stale)');
  }
  const local = c.local || undefined;
  const clone = c.clone ?? false;
  if (clone && local === undefined) {
    throw new TypeError('cache-memoize: clone only applies to the local tier; set local too, or leave clone out');
  }
  const earlyRefresh = c.earlyRefresh || undefined;
  const refreshes = staleTtlMs > 0 || earlyRefresh !== undefined;
  const keyPrefix = c.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const version = raw.version === undefined ? undefined : versionOf(raw.version);
  const cacheErrors = optionalFunction<FunctionSettings['cacheErrors']>(raw.cacheErrors, 'cacheErrors');
  if (raw.errorTtl !== undefined && cacheErrors === undefined) {
    throw new TypeError(
      'cache-memoize: errorTtl only applies to cached errors; set cacheErrors too, or leave errorTtl out',
    );
  }
  const errorTtlMs = raw.errorTtl === undefined ? ttlMs : ttlToMs(raw.errorTtl, 'errorTtl');
  return Object.freeze({
    name,
    keyPrefix,
    functionPrefix: functionKeyPrefix(keyPrefix, name, version),
    ttlMs,
    staleTtlMs,
    storeTtlMs: ttlMs + staleTtlMs,
    tokenTtlMs: Math.max(ttlMs + staleTtlMs, errorTtlMs, MIN_TOKEN_TTL_MS),
    // An entry that never expires has no freshness to carry.
    timed: (refreshes || local !== undefined) && Number.isFinite(ttlMs),
    refreshes,
    earlyRefresh,
    lock: c.lock ?? true,
    lockTtlMs: c.lockTtlMs,
    lockWaitMs: c.lockWaitMs,
    awaitWrite: c.awaitWrite ?? false,
    local: local && Object.freeze({ maxEntries: local.maxEntries, ttlMs: local.ttlMs ?? ttlMs, clone }),
    keyArgs: optionalFunction<FunctionSettings['keyArgs']>(raw.keyArgs, 'keyArgs'),
    shouldCache: optionalFunction<FunctionSettings['shouldCache']>(raw.shouldCache, 'shouldCache'),
    tags: tagsOption(raw.tags, name),
    hooks: own.hooks,
    storeChoice: own.storeChoice,
    storeSettings: Object.keys(own.storeSettings).length === 0 ? undefined : own.storeSettings,
    version,
    ttlJitter: c.ttlJitter ?? 0,
    cacheErrors,
    errorTtlMs,
  });
}
