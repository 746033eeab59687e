import type { BreakerSettings } from './breaker';
import type { CircuitBreakerOptions, EarlyRefreshOptions, LocalOptions } from './options';
import type { EarlyRefreshSettings, LocalOption } from './settings';

// Parsers of single option values: each checks one value and says, in a `TypeError`, which option
// it is and what it must be.

// Node's timers cannot wait longer (setTimeout turns anything above into 1 ms).
const MAX_TIMER_MS = 2_147_483_647;
const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const DEFAULT_LOCAL_MAX_ENTRIES = 1000;
const BREAKER_KEYS = ['failures', 'coolDown'];
const EARLY_REFRESH_KEYS = ['beta', 'random'];
const LOCAL_KEYS = ['maxEntries', 'ttl'];
/** The longest `keyPrefix` or `name`. */
export const MAX_KEY_PART_LENGTH = 200;

/** A value as a message shows it. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
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

export function positiveInteger(value: unknown, option: string, allowInfinity: boolean): number {
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

export function boolean(value: unknown, option: string): boolean {
  if (typeof value !== 'boolean')
    throw new TypeError(`cache-memoize: ${option} must be true or false; got ${describe(value)}`);
  return value;
}

export function checkKnown(options: object, known: string[], where: string): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new TypeError(`cache-memoize: unknown option '${k}' in ${where}; known options: ${known.join(', ')}`);
    }
  }
}

export function optionalFunction<T>(value: unknown, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`cache-memoize: ${option} must be a function, got ${describe(value)}`);
  }
  return value as T | undefined;
}

/** A `keyPrefix` or `name`: it ends up in every key, so it must be well formed and brace-free. */
export function keyPart(value: unknown, option: string, forbidden: RegExp, rule: string): string {
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

export function earlyRefreshOf(value: unknown): EarlyRefreshSettings | false {
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

export function localOf(value: unknown): LocalOption | false {
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

export function breakerPatchOf(breaker: unknown): false | Partial<BreakerSettings> {
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

/**
 * The `instanceKey` of `@memoized`: a function, or `false` (shared); `undefined` for none. Required on
 * instance methods, where leaving it out would silently share one tenant's entries with another's.
 */
export function instanceKeyOf<This>(
  value: unknown,
  method: string,
  isStatic: boolean,
): ((self: This) => unknown) | undefined {
  if (value === undefined && !isStatic) {
    throw new TypeError(
      `cache-memoize: @memoized on ${method} needs instanceKey: a function of the instance giving what tells ` +
        'instances apart in keys, e.g. instanceKey: (self) => self.tenant; or instanceKey: false to share ' +
        'entries between all instances',
    );
  }
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'function') {
    throw new TypeError(
      `cache-memoize: instanceKey must be a function of the instance or false; got ${describe(value)}`,
    );
  }
  return value as (self: This) => unknown;
}

/** The `version` option: a non-negative integer, or a string that can be part of a key. */
export function versionOf(value: unknown): string {
  const rule =
    `a non-negative integer, or a non-empty string (well formed: no lone surrogates) of at most ` +
    `${MAX_KEY_PART_LENGTH} characters without {, } or :`;
  if (typeof value !== 'number') return keyPart(value, 'version', /[{}:]/, rule);
  if (Number.isSafeInteger(value) && value >= 0) return String(value);
  throw new TypeError(`cache-memoize: version must be ${rule}; got ${describe(value)}`);
}

/** A fraction from 0 to 1 (`ttlJitter`). */
export function fraction(value: unknown, option: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new TypeError(`cache-memoize: ${option} must be a number from 0 to 1; got ${describe(value)}`);
  }
  return value;
}
