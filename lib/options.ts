import type { MemoizeError } from './errors';
import type { RedisLike } from './stores/redis/drivers';
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
   * Whether a miss's caller waits for its result's write to be acknowledged. By default the caller
   * gets the result once `fn` succeeded and the conditional write is sent: a later call for the same
   * arguments in this process waits for that write (it joins the computation until then), so it never
   * computes again; another process that reads before the write lands (about one round trip) finds
   * the lock still held and waits for its release and the value (with `lock: false`, it computes too).
   * A failed or refused write is reported to `onError`, never to the caller. `true`: the caller gets
   * the result after the write was acknowledged, so the next call for the same arguments anywhere
   * hits; a miss costs that round trip more. `refresh`, and a function with `tags`, always wait for
   * their write.
   * @default false
   */
  awaitWrite?: boolean;
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
   * a round trip. Redis keeps every process's tier consistent: each store gets one more connection
   * with client tracking (one per master on a cluster; on ioredis, two: a `__redis__:invalidate`
   * subscriber and one with tracking redirected to it), the tier reads the values it keeps there,
   * and any change of such an entry (`invalidate`, `refresh`, `invalidateAll`, a new value, expiry)
   * in any process evicts it, typically within a millisecond. While that connection is down the tier is emptied
   * and bypassed. Needs node-redis 5.9 or later, ioredis or iovalkey, and a Redis server 6.2 or
   * later with a user allowed to run CLIENT; otherwise it is reported as `E_NO_TRACKING` and
   * unused. Values are shared by reference between callers: see `clone`.
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
  /**
   * Spreads expiries: each write's ttl is `ttl × (1 − ttlJitter × r)`, with `r` uniform in [0, 1), so
   * entries written together do not expire together. A fraction from 0 to 1; the ttl is never
   * lengthened. The entry's freshness moves with it: a `staleTtl` window starts at the shortened
   * ttl and keeps its length, and early refresh aims at the shortened ttl. No effect with ttl `Infinity`.
   * @default 0
   * @example `ttlJitter: 0.1` (a ttl of 1 h becomes 54 to 60 minutes)
   */
  ttlJitter?: number;
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
   * Decides whether a result is stored; it is returned either way. It may return a promise, which
   * is awaited. If it throws (or its promise rejects), the result is returned and not stored, and
   * the error is reported to `onError` as `E_SHOULD_CACHE`.
   * @example `shouldCache: (rows) => rows.length > 0`
   */
  shouldCache?: (result: R, args: A) => boolean | PromiseLike<boolean>;
  /**
   * Part of every key (`keyPrefix:name:v<version>{digest}`): a deploy that changes what the function
   * returns bumps it and reads none of the entries the old code wrote, while the old code, still
   * running, keeps its own. `invalidateAll` reaches only this version's entries. A non-negative
   * integer, or a string without `{`, `}` or `:`.
   * @default none (keys without a version)
   * @example `version: 2`
   */
  version?: number | string;
  /**
   * Which errors of the function are cached, like results: a hit rethrows the cached error, from the
   * store or the local tier, and callers waiting for the computing one get it too. The rethrown error
   * is an `Error` with the same `name`, `message` and `code` (a string or number), and `cached: true`;
   * its class, stack, `cause` and other properties are lost. The caller whose call threw gets the
   * original. If this throws, the error is not cached and `E_SHOULD_CACHE` is reported.
   * @default none (errors are never cached)
   * @example `cacheErrors: (error) => error instanceof NotFoundError`
   */
  cacheErrors?: (error: unknown) => boolean;
  /**
   * How long a cached error stays (seconds or a {@link DurationString}); only with `cacheErrors`.
   * A cached error is never served stale.
   * @default the function's ttl
   * @example `errorTtl: '30s'`
   */
  errorTtl?: Ttl;
  /**
   * Tags for each entry, so that `invalidateTags` can invalidate every entry that carries one of
   * them, across functions and processes: a fixed list, or a function of the result and the
   * arguments, called after `fn` succeeded. A tag is a non-empty, well-formed string of at most
   * 200 characters. A list that breaks this rule is a `TypeError` here; a function that returns one
   * (or throws) is reported to `onError` as `E_BAD_TAGS`, and that result is returned, not stored.
   * Tags are shared by every function of every memoizer over the same store. A tagged hit costs one
   * round trip on one server, two on a Redis Cluster. The store must support tags (`RedisStore`
   * and `MemoryStore` do).
   * @default undefined (no tags)
   * @example `tags: (post) => post.keywords.map((k) => \`kw:${k}\`)`
   */
  tags?: readonly string[] | ((result: R, ...args: A) => readonly string[]);
}
