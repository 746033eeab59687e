import type { BreakerSettings } from './breaker';
import type { MemoizeError } from './errors';
import type { GuardSettings } from './guard';
import type { LocalSettings } from './local-tier';
import { type RedisLike, RedisStore } from './stores/redis';
import type { Store } from './stores/store';

/** A duration string: a number followed by `ms`, `s`, `m`, `h` or `d`, e.g. `'500ms'`, `'30s'`, `'1h'`. */
export type DurationString = `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/** Seconds (fractional down to 0.001, or `Infinity` for no expiry) or a {@link DurationString}. */
export type Ttl = number | DurationString;

/** What a hook learns about one call. */
export interface CallEvent {
  /** The entry's Redis key. */
  key: string;
  /** The memoized function's name as used in keys. */
  name: string;
  /** The arguments of the call, as passed (before `keyArgs`). */
  args: readonly unknown[];
  /** Milliseconds from the call to its result (a miss includes the function's own time). */
  durationMs: number;
  /** `onHit` only: the value was past its `ttl` (stale-while-revalidate); a refresh was triggered. */
  stale?: boolean;
  /** `onHit` only: the value came from the in-process `local` tier, without a store round trip. */
  local?: boolean;
}

/** What `onError` learns: the call, and the failure it recovered from. */
export interface ErrorEvent extends CallEvent {
  /** What went wrong; `error.code` says which kind, `error.cause` keeps the original. */
  error: MemoizeError;
}

/** Observation hooks. Hooks of the memoizer and of the function both run; a hook that throws is
 * reported with `process.emitWarning` and never affects the call. */
export interface Hooks {
  /** Called after a result came from the store. */
  onHit?: (event: CallEvent) => void;
  /** Called after the function ran because the store had no usable value. */
  onMiss?: (event: CallEvent) => void;
  /**
   * Called when the store failed, a value could not be stored or decoded. The call itself went on:
   * the cache fails open.
   */
  onError?: (event: ErrorEvent) => void;
}

/** When the circuit breaker opens and how long it stays open. */
export interface CircuitBreakerOptions {
  /**
   * Consecutive store failures (timeouts, connection errors) that open the circuit. Refusals such as
   * `OOM` or `NOPERM` do not count: the store answered.
   * @default 5
   */
  failures?: number;
  /**
   * How long an open circuit skips the store before one call probes it: milliseconds, or a
   * {@link DurationString}.
   * @default 1000
   */
  coolDown?: number | DurationString;
}

/** Probabilistic early refresh (XFetch: Vattani, Chierichetti, Lowenstein, VLDB 2015). */
export interface EarlyRefreshOptions {
  /**
   * Eagerness: above 1 refreshes earlier, below 1 later.
   * @default 1
   */
  beta?: number;
  /**
   * The random source, uniform in [0, 1); inject one to make tests deterministic.
   * @default Math.random
   */
  random?: () => number;
}

/** The in-process tier in front of the store (see {@link MemoizerOptions.local}). */
export interface LocalOptions {
  /**
   * Most values kept per function; the least recently used go first.
   * @default 1000
   */
  maxEntries?: number;
  /**
   * Longest a value stays in the tier (seconds or a {@link DurationString}). A value never outlives
   * its entry's `ttl` either: the tier knows when the entry was written.
   * @default the function's ttl
   */
  ttl?: Ttl;
}

/** Options shared by {@link configure}, {@link createMemoizer} and every memoized function. */
export interface MemoizerOptions extends Hooks {
  /**
   * How long a result stays cached.
   * @default 300 (seconds)
   */
  ttl?: Ttl;
  /**
   * First part of every key: `keyPrefix:name:{digest}`. Non-empty, at most 200 characters,
   * no `{` or `}` (they would break Redis Cluster hash tags).
   * @default 'memo'
   */
  keyPrefix?: string;
  /** The store to use. Give this or `client`, not both. */
  store?: Store;
  /** A node-redis client, cluster or sentinel object; shorthand for `store: new RedisStore(client)`. */
  client?: RedisLike;
  /**
   * Deadline of each store round trip: milliseconds, or a {@link DurationString}; `Infinity` for none.
   * A read that misses it is a miss (the function runs); a write that misses it is reported.
   * @default 250
   */
  timeout?: number | DurationString;
  /**
   * After repeated store failures, skip the store for a cool-down instead of paying the deadline on
   * every call; `false` turns it off. The circuit belongs to the store (to the client, for Redis), so
   * every function using that client shares it. A function that gives only some fields takes the
   * others from its memoizer.
   * @default { failures: 5, coolDown: 1000 }
   */
  circuitBreaker?: CircuitBreakerOptions | false;
  /**
   * Cross-process single-flight. On a miss, one caller in the whole cluster takes the entry's lock
   * (`SET NX PX`) and computes; the others wait for its result (woken by pub/sub, polling as a
   * fallback) instead of computing too. `false`: every process that misses computes.
   * @default true
   */
  lock?: boolean;
  /**
   * How long a compute lock lives (milliseconds or a {@link DurationString}): a holder that crashed
   * costs the waiters at most this. A holder still computing when it ends loses the lock (its write
   * still obeys the generation token).
   * @default twice the slowest recent computation of the function, at least 5 s
   */
  lockTtl?: number | DurationString;
  /**
   * How long a caller waits for one lock holder before computing itself (milliseconds or a
   * {@link DurationString}). When it ends the caller takes the lock if it is free, or waits for the
   * new holder if one took over.
   * @default lockTtl
   */
  lockWait?: number | DurationString;
  /**
   * Stale-while-revalidate: an entry stays in the store for `ttl + staleTtl`; after `ttl` a call gets
   * the stale value at once and triggers one background refresh, cluster-wide (under the lock).
   * Seconds or a {@link DurationString}; `0` turns it off. Freshness uses the writer's clock.
   * @default 0
   */
  staleTtl?: Ttl;
  /**
   * Probabilistic early refresh: a hit close to expiry may trigger one background refresh, more
   * likely the nearer the expiry and the slower the function. `true` or {@link EarlyRefreshOptions}.
   * @default false
   */
  earlyRefresh?: boolean | EarlyRefreshOptions;
  /**
   * Largest encoded result that is stored, in bytes (UTF-8). A larger result is returned, not stored,
   * and reported as `E_TOO_LARGE`.
   * @default 8388608 (8 MiB)
   */
  maxValueBytes?: number;
  /**
   * An in-process tier of decoded values in front of the store: a hit costs a map lookup instead of
   * a round trip. Redis keeps every process's tier consistent: each client gets one more connection
   * with client tracking in broadcast mode, and any change of an entry (`invalidate`, `refresh`,
   * `invalidateAll`, a new value, expiry) in any process evicts it everywhere, typically within a
   * millisecond. While that connection is down the tier is emptied and bypassed. Needs node-redis
   * 5.9 or later and a plain client (not a cluster); otherwise it is reported as `E_NO_TRACKING`
   * and unused. Values are shared by reference between callers: see `clone`.
   * @default false
   * @example `local: { maxEntries: 10_000, ttl: '1m' }`
   */
  local?: boolean | LocalOptions;
  /**
   * With `local`: give every caller its own copy, decoded from the stored bytes (as a store hit
   * does), so a caller that mutates its result cannot change what others get. Without it, callers
   * hitting the local tier share one object: treat results as read-only.
   * @default false
   */
  clone?: boolean;
}

/** Options of one memoized function. */
export interface MemoizeOptions<A extends unknown[] = unknown[], R = unknown> extends MemoizerOptions {
  /**
   * The function's stable id in keys. Must not be empty or contain `{`, `}` or `:`.
   * @default fn.name
   */
  name?: string;
  /**
   * Rewrites the arguments before keying (django's `args_rewrite`); must return an array.
   * @example `keyArgs: (user, page) => [user.id, page]`
   */
  keyArgs?: (...args: A) => unknown[];
  /**
   * Decides whether a result is stored; it is returned either way.
   * @example `shouldCache: (rows) => rows.length > 0`
   */
  shouldCache?: (result: R, args: A) => boolean;
}

/** Everything a memoized function needs, validated and with defaults applied. */
export interface ResolvedOptions {
  ttlMs: number;
  /** How long a generation token lives: at least the ttl, so tokens outlive the values they guard. */
  tokenTtlMs: number;
  keyPrefix: string;
  name: string;
  store: Store | undefined;
  keyArgs: ((...args: never[]) => unknown[]) | undefined;
  shouldCache: ((result: never, args: never) => boolean) | undefined;
  hooks: Hooks;
  /** The store settings this function sets itself; the memoizer's apply to the rest, at call time. */
  storeSettings: StoreSettingsPatch | undefined;
  /** Whether misses take the cross-process lock. */
  lock: boolean;
  /** `undefined`: derived from observed compute times. */
  lockTtlMs: number | undefined;
  /** `undefined`: the lock's ttl. */
  lockWaitMs: number | undefined;
  /** `0`: stale-while-revalidate off. */
  staleTtlMs: number;
  earlyRefresh: { beta: number; random: () => number } | undefined;
  /** `undefined`: no local tier. */
  local: LocalSettings | undefined;
}

/** Defaults a memoizer applies when `memoize()` is called (see {@link Memoize.configure}). */
export interface CreationDefaults {
  ttl: Ttl;
  keyPrefix: string;
  lock?: boolean;
  lockTtl?: number | DurationString;
  lockWait?: number | DurationString;
  staleTtl?: Ttl;
  earlyRefresh?: boolean | EarlyRefreshOptions;
  local?: boolean | LocalOptions;
  clone?: boolean;
}

/** The options read when `memoize()` is called, rather than at call time. */
export const CREATION_KEYS = [
  'ttl',
  'keyPrefix',
  'lock',
  'lockTtl',
  'lockWait',
  'staleTtl',
  'earlyRefresh',
  'local',
  'clone',
] as const;

/** How store operations are bounded and what is stored; read at call time. */
export interface StoreSettings extends GuardSettings {
  readonly maxValueBytes: number;
}

/** Default ttl in seconds. */
export const DEFAULT_TTL = 300;
/** Default first part of every key. */
export const DEFAULT_KEY_PREFIX = 'memo';
const MAX_PREFIX_LENGTH = 200;
// A token must outlive any computation that captured it; ten minutes covers all but pathological ones.
const MIN_TOKEN_TTL_MS = 600_000;
// Node's timers cannot wait longer (setTimeout turns anything above into 1 ms).
const MAX_TIMER_MS = 2_147_483_647;
const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Defaults of the store settings. */
export const DEFAULT_STORE_SETTINGS: StoreSettings = {
  timeoutMs: 250,
  breaker: { failures: 5, coolDownMs: 1000 },
  maxValueBytes: 8 * 1024 * 1024,
};
const MEMOIZER_KEYS: string[] = [
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
const BREAKER_KEYS = ['failures', 'coolDown'];
const EARLY_REFRESH_KEYS = ['beta', 'random'];
const LOCAL_KEYS = ['maxEntries', 'ttl'];
const DEFAULT_LOCAL_MAX_ENTRIES = 1000;
const FUNCTION_KEYS = [...MEMOIZER_KEYS, 'name', 'keyArgs', 'shouldCache'];

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Parses a ttl to milliseconds.
 * @throws TypeError for 0, negatives, NaN, below 1 ms, or strings not in {@link DurationString} form.
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
 * Parses a duration given in milliseconds or as a {@link DurationString}.
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

function staleTtlToMs(value: unknown): number {
  return value === 0 ? 0 : ttlToMs(value, 'staleTtl (or 0 for off)');
}

function earlyRefreshOf(value: unknown): ResolvedOptions['earlyRefresh'] {
  if (value === false) return undefined;
  if (value === true) return { beta: 1, random: Math.random };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
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
  return { beta, random };
}

/** The validated `local` option: `undefined` when off; `ttlMs` undefined when it follows the ttl. */
function localOf(value: unknown): { maxEntries: number; ttlMs: number | undefined } | undefined {
  if (value === false) return undefined;
  if (value === true) return { maxEntries: DEFAULT_LOCAL_MAX_ENTRIES, ttlMs: undefined };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`cache-memoize: local must be true, false or { maxEntries, ttl }; got ${describe(value)}`);
  }
  checkKnown(value, LOCAL_KEYS, 'local');
  const { maxEntries, ttl } = value as LocalOptions;
  return {
    maxEntries:
      maxEntries === undefined ? DEFAULT_LOCAL_MAX_ENTRIES : positiveInteger(maxEntries, 'local.maxEntries', false),
    ttlMs: ttl === undefined ? undefined : ttlToMs(ttl, 'local.ttl'),
  };
}

/** The store settings an options object gives: absent fields are inherited, `breaker: false` turns it off. */
export interface StoreSettingsPatch {
  timeoutMs?: number;
  maxValueBytes?: number;
  breaker?: false | Partial<BreakerSettings>;
}

/** The store settings an options object sets (validated); fields it leaves out are absent. */
export function storeSettingsOf(options: MemoizerOptions): StoreSettingsPatch {
  const patch: StoreSettingsPatch = {};
  if (options.timeout !== undefined) patch.timeoutMs = msOption(options.timeout, 'timeout', true);
  if (options.maxValueBytes !== undefined) {
    patch.maxValueBytes = positiveInteger(options.maxValueBytes, 'maxValueBytes', true);
  }
  const breaker: unknown = options.circuitBreaker;
  if (breaker === false) patch.breaker = false;
  else if (breaker !== undefined) {
    if (typeof breaker !== 'object' || breaker === null || Array.isArray(breaker)) {
      throw new TypeError(
        `cache-memoize: circuitBreaker must be false or an object { failures, coolDown }; got ${describe(breaker)}`,
      );
    }
    checkKnown(breaker, BREAKER_KEYS, 'circuitBreaker');
    const { failures, coolDown } = breaker as CircuitBreakerOptions;
    const fields: { -readonly [K in keyof BreakerSettings]?: BreakerSettings[K] } = {};
    if (failures !== undefined) fields.failures = positiveInteger(failures, 'circuitBreaker.failures', false);
    if (coolDown !== undefined) fields.coolDownMs = msOption(coolDown, 'circuitBreaker.coolDown', false);
    patch.breaker = fields;
  }
  return patch;
}

/** `base` with `patch` applied; breaker fields a patch leaves out come from `base` (or the defaults). */
export function applySettings(base: StoreSettings, patch: StoreSettingsPatch): StoreSettings {
  let breaker = base.breaker;
  if (patch.breaker === false) breaker = undefined;
  else if (patch.breaker !== undefined) {
    breaker = { ...(base.breaker ?? (DEFAULT_STORE_SETTINGS.breaker as BreakerSettings)), ...patch.breaker };
  }
  return {
    timeoutMs: patch.timeoutMs ?? base.timeoutMs,
    maxValueBytes: patch.maxValueBytes ?? base.maxValueBytes,
    breaker,
  };
}

function checkKnown(options: object, known: string[], where: string): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new TypeError(`cache-memoize: unknown option '${k}' in ${where}; known options: ${known.join(', ')}`);
    }
  }
}

function checkFunction(options: Record<string, unknown>, option: string): void {
  const value = options[option];
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`cache-memoize: ${option} must be a function, got ${describe(value)}`);
  }
}

function checkKeyPart(value: unknown, option: string, forbidden: RegExp, rule: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_PREFIX_LENGTH || forbidden.test(value)) {
    throw new TypeError(`cache-memoize: ${option} must be ${rule}; got ${describe(value)}`);
  }
  return value;
}

/** Validates options shared by memoizers and functions; returns the store they name, if any. */
export function validateMemoizerOptions(options: unknown, where: string, known = MEMOIZER_KEYS): Store | undefined {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`cache-memoize: options of ${where} must be an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  checkKnown(o, known, where);
  if (o.ttl !== undefined) ttlToMs(o.ttl);
  if (o.keyPrefix !== undefined) {
    checkKeyPart(
      o.keyPrefix,
      'keyPrefix',
      /[{}]/,
      `a non-empty string of at most ${MAX_PREFIX_LENGTH} characters without { or }`,
    );
  }
  for (const hook of ['onHit', 'onMiss', 'onError']) checkFunction(o, hook);
  storeSettingsOf(o);
  if (o.lock !== undefined && typeof o.lock !== 'boolean') {
    throw new TypeError(`cache-memoize: lock must be true or false; got ${describe(o.lock)}`);
  }
  if (o.lockTtl !== undefined) msOption(o.lockTtl, 'lockTtl', false);
  if (o.lockWait !== undefined) msOption(o.lockWait, 'lockWait', false);
  if (o.staleTtl !== undefined) staleTtlToMs(o.staleTtl);
  if (o.earlyRefresh !== undefined) earlyRefreshOf(o.earlyRefresh);
  if (o.local !== undefined) localOf(o.local);
  if (o.clone !== undefined && typeof o.clone !== 'boolean') {
    throw new TypeError(`cache-memoize: clone must be true or false; got ${describe(o.clone)}`);
  }
  if (o.store !== undefined && o.client !== undefined) {
    throw new TypeError('cache-memoize: give either store or client, not both');
  }
  if (o.client !== undefined) return new RedisStore(o.client as RedisLike);
  if (o.store !== undefined) {
    const store = o.store as Partial<Store> | null;
    const methods = ['get', 'begin', 'set', 'delete', 'rotate', 'deleteMatching'] as const;
    if (typeof store !== 'object' || store === null || methods.some((m) => typeof store[m] !== 'function')) {
      throw new TypeError(`cache-memoize: store must implement the Store interface (${methods.join(', ')})`);
    }
    return store as Store;
  }
  return undefined;
}

/**
 * Validates one function's options (or the ttl shorthand) and applies the memoizer's defaults.
 * @throws TypeError naming the option and what it must be.
 */
export function resolveOptions(fn: unknown, options: unknown, defaults: CreationDefaults): ResolvedOptions {
  if (typeof fn !== 'function') throw new TypeError(`cache-memoize: memoize() needs a function, got ${describe(fn)}`);
  const o: Record<string, unknown> =
    typeof options === 'number' || typeof options === 'string'
      ? { ttl: options }
      : ((options ?? {}) as Record<string, unknown>);
  const store = validateMemoizerOptions(o, `memoize(${fn.name || 'anonymous function'})`, FUNCTION_KEYS);
  for (const option of ['keyArgs', 'shouldCache']) checkFunction(o, option);
  const name = checkKeyPart(
    o.name ?? (fn.name || undefined),
    o.name === undefined ? 'name (fn.name, since no name option was given)' : 'name',
    /[{}:]/,
    `a non-empty string of at most ${MAX_PREFIX_LENGTH} characters without {, } or :`,
  );
  const ttlMs = ttlToMs(o.ttl ?? defaults.ttl);
  const own = storeSettingsOf(o);
  const staleTtlMs = staleTtlToMs(o.staleTtl ?? defaults.staleTtl ?? 0);
  if (staleTtlMs > 0 && ttlMs === Number.POSITIVE_INFINITY) {
    throw new TypeError('cache-memoize: staleTtl needs a finite ttl (with ttl Infinity nothing ever goes stale)');
  }
  const lockTtl = o.lockTtl ?? defaults.lockTtl;
  const lockWait = o.lockWait ?? defaults.lockWait;
  const local = localOf(o.local ?? defaults.local ?? false);
  const clone = (o.clone ?? defaults.clone ?? false) as boolean;
  if (clone && local === undefined) {
    throw new TypeError('cache-memoize: clone only applies to the local tier; set local too, or leave clone out');
  }
  return {
    ttlMs,
    tokenTtlMs: Math.max(ttlMs + staleTtlMs, MIN_TOKEN_TTL_MS),
    lock: (o.lock ?? defaults.lock ?? true) as boolean,
    lockTtlMs: lockTtl === undefined ? undefined : msOption(lockTtl, 'lockTtl', false),
    lockWaitMs: lockWait === undefined ? undefined : msOption(lockWait, 'lockWait', false),
    staleTtlMs,
    earlyRefresh: earlyRefreshOf(o.earlyRefresh ?? defaults.earlyRefresh ?? false),
    local: local && { maxEntries: local.maxEntries, ttlMs: local.ttlMs ?? ttlMs, clone },
    keyPrefix: (o.keyPrefix as string | undefined) ?? defaults.keyPrefix,
    name,
    store,
    keyArgs: o.keyArgs as ResolvedOptions['keyArgs'],
    shouldCache: o.shouldCache as ResolvedOptions['shouldCache'],
    hooks: { onHit: o.onHit, onMiss: o.onMiss, onError: o.onError } as Hooks,
    storeSettings: Object.keys(own).length === 0 ? undefined : own,
  };
}
