import type { BreakerSettings } from './breaker';
import { functionKeyPrefix } from './key';
import type { CircuitBreakerOptions, EarlyRefreshOptions, Hooks, LocalOptions, MemoizeOptions } from './options';
import type { RedisLike } from './stores/redis/client';
import type { Store } from './stores/store';

/**
 * Options, parsed once into frozen settings. Every option is checked here and nowhere else; a
 * mistake is a `TypeError` naming the option and what it must be.
 */

/** How store operations are bounded and what is stored; a memoizer's apply at call time. */
export interface StoreSettings {
  /** Deadline of each store round trip in milliseconds; `Infinity` for none. */
  readonly timeoutMs: number;
  /** `undefined` when the circuit breaker is off. */
  readonly breaker: BreakerSettings | undefined;
  /** Largest encoded value stored, in UTF-8 bytes. */
  readonly maxValueBytes: number;
}

/** The store settings an options object gives: absent fields are inherited, `breaker: false` turns it off. */
export interface StoreSettingsPatch {
  readonly timeoutMs?: number;
  readonly maxValueBytes?: number;
  readonly breaker?: false | Partial<BreakerSettings>;
}

/** Early refresh (XFetch), parsed. */
export interface EarlyRefreshSettings {
  readonly beta: number;
  readonly random: () => number;
}

/** The `local` option, parsed; `ttlMs` undefined when it follows the function's ttl. */
export interface LocalOption {
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
}

/** How a local tier behaves (see the `local` and `clone` options). */
export interface LocalSettings {
  readonly maxEntries: number;
  /** Longest a value stays, in ms; it also never outlives its entry's freshness in the store. */
  readonly ttlMs: number;
  /** Keep the stored bytes and decode a copy per hit, instead of sharing one decoded value. */
  readonly clone: boolean;
}

/** The options read when `memoize()` is called (a memoizer's are defaults for its functions). */
export interface CreationSettings {
  readonly ttlMs?: number;
  readonly keyPrefix?: string;
  readonly lock?: boolean;
  readonly lockTtlMs?: number;
  readonly lockWaitMs?: number;
  readonly staleTtlMs?: number;
  readonly earlyRefresh?: EarlyRefreshSettings | false;
  readonly local?: LocalOption | false;
  readonly clone?: boolean;
}

/** Where a function's entries go, if it says so itself. */
export type StoreChoice = { readonly store: Store } | { readonly client: RedisLike } | undefined;

/** What one options object of {@link configure}, {@link createMemoizer} or `memoize()` sets. */
export interface MemoizerPatch {
  readonly storeChoice: StoreChoice;
  readonly creation: CreationSettings;
  readonly storeSettings: StoreSettingsPatch;
  readonly hooks: Hooks;
}

/** Everything a memoized function needs, validated, with its memoizer's defaults applied. */
export interface FunctionSettings {
  readonly name: string;
  readonly keyPrefix: string;
  /** `keyPrefix:name:`, what every key of the function starts with. */
  readonly functionPrefix: string;
  readonly ttlMs: number;
  /** `0`: stale-while-revalidate off. */
  readonly staleTtlMs: number;
  /** How long an entry stays in the store: `ttl + staleTtl`. */
  readonly storeTtlMs: number;
  /** How long a generation token lives: at least the ttl, so tokens outlive the values they guard. */
  readonly tokenTtlMs: number;
  /** Entries carry their freshness: something reads it (SWR, early refresh, a local tier). */
  readonly timed: boolean;
  /** Stale-while-revalidate or early refresh is on: hits look at freshness. */
  readonly refreshes: boolean;
  readonly earlyRefresh: EarlyRefreshSettings | undefined;
  /** Whether misses take the cross-process lock. */
  readonly lock: boolean;
  /** `undefined`: derived from observed compute times. */
  readonly lockTtlMs: number | undefined;
  /** `undefined`: the lock's ttl. */
  readonly lockWaitMs: number | undefined;
  /** `undefined`: no local tier. */
  readonly local: LocalSettings | undefined;
  readonly keyArgs: ((...args: never[]) => unknown) | undefined;
  readonly shouldCache: ((result: never, args: never) => unknown) | undefined;
  /** The function's own hooks; the memoizer's run too. */
  readonly hooks: Hooks;
  /** The function's own store, if it named one. */
  readonly storeChoice: StoreChoice;
  /** The store settings this function sets itself; the memoizer's apply to the rest, at call time. */
  readonly storeSettings: StoreSettingsPatch | undefined;
}

/** Default ttl in seconds. */
export const DEFAULT_TTL_MS = 300_000;
/** Default first part of every key. */
export const DEFAULT_KEY_PREFIX = 'memo';
/** Defaults of the store settings. */
export const DEFAULT_STORE_SETTINGS: StoreSettings = Object.freeze({
  timeoutMs: 250,
  breaker: Object.freeze({ failures: 5, coolDownMs: 1000 }),
  maxValueBytes: 8 * 1024 * 1024,
});

const MAX_KEY_PART_LENGTH = 200;
// A token must outlive any computation that captured it; ten minutes covers all but pathological ones.
const MIN_TOKEN_TTL_MS = 600_000;
// Node's timers cannot wait longer (setTimeout turns anything above into 1 ms).
const MAX_TIMER_MS = 2_147_483_647;
const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const DEFAULT_LOCAL_MAX_ENTRIES = 1000;

const CREATION_KEYS = ['ttl', 'keyPrefix', 'lock', 'lockTtl', 'lockWait', 'staleTtl', 'earlyRefresh', 'local', 'clone'];
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
const FUNCTION_KEYS = [...MEMOIZER_KEYS, 'name', 'keyArgs', 'shouldCache'];
const BREAKER_KEYS = ['failures', 'coolDown'];
const EARLY_REFRESH_KEYS = ['beta', 'random'];
const LOCAL_KEYS = ['maxEntries', 'ttl'];
const STORE_METHODS = ['get', 'begin', 'set', 'delete', 'rotate', 'deleteMatching'] as const;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a ttl to milliseconds.
 * @throws TypeError for 0, negatives, NaN, below 1 ms, or strings not in `DurationString` form.
 */
export function ttlToMs(ttl: unknown, option = 'ttl'): number {
  let seconds: number | undefined;
  if (typeof ttl === 'number') seconds = ttl;
  else if (typeof ttl === 'string') {
    const match = DURATION.exec(ttl);
    if (match) seconds = Number(match[1]) * (UNITS[match[2]!] as number);
  }
  if (seconds === undefined || Number.isNaN(seconds) || seconds < 0.001) {
    throw new TypeError(
      `cache-memoize: ${option} must be a number of seconds (at least 0.001, or Infinity) or a duration ` +
        `string such as '500ms', '30s', '5m', '1h', '1d'; got ${describe(ttl)}`,
    );
  }
  return seconds === Number.POSITIVE_INFINITY ? seconds : Math.round(seconds * 1000);
}

/**
 * Parses a duration given in milliseconds or as a `DurationString`.
 * @throws TypeError unless it is a positive number of milliseconds (or `Infinity` where allowed).
 */
export function msOption(value: unknown, option: string, allowInfinity: boolean): number {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const match = DURATION.exec(value);
    if (match) ms = Math.round(Number(match[1]) * (UNITS[match[2]!] as number) * 1000 * 1000) / 1000;
  }
  const infinite = ms === Number.POSITIVE_INFINITY;
  if (ms === undefined || Number.isNaN(ms) || ms <= 0 || (infinite ? !allowInfinity : ms > MAX_TIMER_MS)) {
    throw new TypeError(
      `cache-memoize: ${option} must be a positive number of milliseconds up to ${MAX_TIMER_MS} (about 24.8 days)` +
        `${allowInfinity ? ', or Infinity,' : ''} or a duration string such as '250ms', '2s'; got ${describe(value)}`,
    );
  }
  return ms;
}

function positiveInteger(value: unknown, option: string, allowInfinity: boolean): number {
  if (
    typeof value !== 'number' ||
    !(Number.isSafeInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY)) ||
    value < 1
  ) {
    throw new TypeError(
      `cache-memoize: ${option} must be a positive integer${allowInfinity ? ' (or Infinity)' : ''}; got ${describe(value)}`,
    );
  }
  return value;
}

function boolean(value: unknown, option: string): boolean {
  if (typeof value !== 'boolean')
    throw new TypeError(`cache-memoize: ${option} must be true or false; got ${describe(value)}`);
  return value;
}

function checkKnown(options: object, known: string[], where: string): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new TypeError(`cache-memoize: unknown option '${k}' in ${where}; known options: ${known.join(', ')}`);
    }
  }
}

function optionalFunction<T>(value: unknown, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`cache-memoize: ${option} must be a function, got ${describe(value)}`);
  }
  return value as T | undefined;
}

/** A `keyPrefix` or `name`: it ends up in every key, so it must be well formed and brace-free. */
function keyPart(value: unknown, option: string, forbidden: RegExp, rule: string): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_KEY_PART_LENGTH ||
    forbidden.test(value) ||
    // Lone surrogates all become U+FFFD in UTF-8: two different names would share their keys.
    !value.isWellFormed()
  ) {
    throw new TypeError(`cache-memoize: ${option} must be ${rule}; got ${describe(value)}`);
  }
  return value;
}

function earlyRefreshOf(value: unknown): EarlyRefreshSettings | false {
  if (value === false) return false;
  if (value === true) return Object.freeze({ beta: 1, random: Math.random });
  if (!isRecord(value)) {
    throw new TypeError(`cache-memoize: earlyRefresh must be true, false or { beta, random }; got ${describe(value)}`);
  }
  checkKnown(value, EARLY_REFRESH_KEYS, 'earlyRefresh');
  const { beta = 1, random = Math.random } = value as EarlyRefreshOptions;
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta <= 0) {
    throw new TypeError(`cache-memoize: earlyRefresh.beta must be a positive finite number; got ${describe(beta)}`);
  }
  if (typeof random !== 'function') {
    throw new TypeError(
      `cache-memoize: earlyRefresh.random must be a function returning [0, 1); got ${describe(random)}`,
    );
  }
  return Object.freeze({ beta, random });
}

function localOf(value: unknown): LocalOption | false {
  if (value === false) return false;
  if (value === true) return Object.freeze({ maxEntries: DEFAULT_LOCAL_MAX_ENTRIES, ttlMs: undefined });
  if (!isRecord(value)) {
    throw new TypeError(`cache-memoize: local must be true, false or { maxEntries, ttl }; got ${describe(value)}`);
  }
  checkKnown(value, LOCAL_KEYS, 'local');
  const { maxEntries, ttl } = value as LocalOptions;
  return Object.freeze({
    maxEntries:
      maxEntries === undefined ? DEFAULT_LOCAL_MAX_ENTRIES : positiveInteger(maxEntries, 'local.maxEntries', false),
    ttlMs: ttl === undefined ? undefined : ttlToMs(ttl, 'local.ttl'),
  });
}

function breakerPatchOf(breaker: unknown): false | Partial<BreakerSettings> {
  if (breaker === false) return false;
  if (!isRecord(breaker)) {
    throw new TypeError(
      `cache-memoize: circuitBreaker must be false or an object { failures, coolDown }; got ${describe(breaker)}`,
    );
  }
  checkKnown(breaker, BREAKER_KEYS, 'circuitBreaker');
  const { failures, coolDown } = breaker as CircuitBreakerOptions;
  const fields: { -readonly [K in keyof BreakerSettings]?: BreakerSettings[K] } = {};
  if (failures !== undefined) fields.failures = positiveInteger(failures, 'circuitBreaker.failures', false);
  if (coolDown !== undefined) fields.coolDownMs = msOption(coolDown, 'circuitBreaker.coolDown', false);
  return Object.freeze(fields);
}

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
  if (o.staleTtl !== undefined) c.staleTtlMs = o.staleTtl === 0 ? 0 : ttlToMs(o.staleTtl, 'staleTtl (or 0 for off)');
  if (o.earlyRefresh !== undefined) c.earlyRefresh = earlyRefreshOf(o.earlyRefresh);
  if (o.local !== undefined) c.local = localOf(o.local);
  if (o.clone !== undefined) c.clone = boolean(o.clone, 'clone');
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

/** `base` with `patch` applied; breaker fields a patch leaves out come from `base` (or the defaults). */
export function applyStoreSettings(base: StoreSettings, patch: StoreSettingsPatch): StoreSettings {
  let breaker = base.breaker;
  if (patch.breaker === false) breaker = undefined;
  else if (patch.breaker !== undefined) {
    breaker = Object.freeze({
      ...(base.breaker ?? DEFAULT_STORE_SETTINGS.breaker),
      ...patch.breaker,
    } as BreakerSettings);
  }
  return Object.freeze({
    timeoutMs: patch.timeoutMs ?? base.timeoutMs,
    maxValueBytes: patch.maxValueBytes ?? base.maxValueBytes,
    breaker,
  });
}

/** `base` with the fields `patch` sets. */
export function applyCreation(base: CreationSettings, patch: CreationSettings): CreationSettings {
  return Object.freeze({ ...base, ...patch });
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
    raw.name ?? (fn.name || undefined),
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
  return Object.freeze({
    name,
    keyPrefix,
    functionPrefix: functionKeyPrefix(keyPrefix, name),
    ttlMs,
    staleTtlMs,
    storeTtlMs: ttlMs + staleTtlMs,
    tokenTtlMs: Math.max(ttlMs + staleTtlMs, MIN_TOKEN_TTL_MS),
    // An entry that never expires has no freshness to carry.
    timed: (refreshes || local !== undefined) && Number.isFinite(ttlMs),
    refreshes,
    earlyRefresh,
    lock: c.lock ?? true,
    lockTtlMs: c.lockTtlMs,
    lockWaitMs: c.lockWaitMs,
    local: local && Object.freeze({ maxEntries: local.maxEntries, ttlMs: local.ttlMs ?? ttlMs, clone }),
    keyArgs: optionalFunction<FunctionSettings['keyArgs']>(raw.keyArgs, 'keyArgs'),
    shouldCache: optionalFunction<FunctionSettings['shouldCache']>(raw.shouldCache, 'shouldCache'),
    hooks: own.hooks,
    storeChoice: own.storeChoice,
    storeSettings: Object.keys(own.storeSettings).length === 0 ? undefined : own.storeSettings,
  });
}
