import type { BreakerSettings } from './breaker';
import type { Hooks } from './options';
import type { RedisLike } from './stores/redis/drivers';
import type { Store } from './stores/store';

// Settings: options parsed once (by `parse-options.ts`) into frozen, typed objects, with their
// defaults. The engine reads only these.

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
  readonly awaitWrite?: boolean;
  readonly staleTtlMs?: number;
  readonly earlyRefresh?: EarlyRefreshSettings | false;
  readonly local?: LocalOption | false;
  readonly clone?: boolean;
  /** `0`: every write's ttl is the ttl itself. */
  readonly ttlJitter?: number;
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
  /** A miss's caller waits for the write to be acknowledged, not only sent. */
  readonly awaitWrite: boolean;
  /** `undefined`: no local tier. */
  readonly local: LocalSettings | undefined;
  readonly keyArgs: ((...args: never[]) => unknown) | undefined;
  readonly shouldCache: ((result: never, args: never) => unknown) | undefined;
  /** A fixed, validated tag list, or the function that gives each result's; `undefined`: untagged. */
  readonly tags: readonly string[] | ((result: never, ...args: never[]) => unknown) | undefined;
  /** The function's own hooks; the memoizer's run too. */
  readonly hooks: Hooks;
  /** The function's own store, if it named one. */
  readonly storeChoice: StoreChoice;
  /** Part of every key (see `key.ts`); `undefined`: unversioned. */
  readonly version: string | undefined;
  /** The fraction (0 to 1) by which each write's ttl is shortened at random; `0`: none. */
  readonly ttlJitter: number;
  /** Which errors of the function are stored; `undefined`: none. */
  readonly cacheErrors: ((error: unknown) => unknown) | undefined;
  /** How long a stored error stays, in ms (before jitter). */
  readonly errorTtlMs: number;
  /** The store settings this function sets itself; the memoizer's apply to the rest, at call time. */
  readonly storeSettings: StoreSettingsPatch | undefined;
}

/** Default ttl: five minutes. */
export const DEFAULT_TTL_MS = 300_000;
/** Default first part of every key. */
export const DEFAULT_KEY_PREFIX = 'memo';
/** Defaults of the store settings. */
export const DEFAULT_STORE_SETTINGS: StoreSettings = Object.freeze({
  timeoutMs: 250,
  breaker: Object.freeze({ failures: 5, coolDownMs: 1000 }),
  maxValueBytes: 8 * 1024 * 1024,
});

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
