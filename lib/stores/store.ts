/**
 * What {@link Store.begin} found: the value if one landed meanwhile, else the entry's generation token
 * and, when a lock was asked for, whether this caller got it (`undefined`: the store has no locks)
 * and, if not, the token of the lock's holder.
 */
export type Begin =
  | { value: string; token?: undefined; locked?: undefined; holder?: undefined }
  | { value?: undefined; token: string; locked?: boolean; holder?: string };

/** A cross-process compute lock to take: a unique token and how long the lock lives. */
export interface LockRequest {
  readonly token: string;
  readonly ttlMs: number;
}

/** Options of {@link Store.begin}. */
export interface BeginOptions {
  /** Also try to take the entry's compute lock (`SET NX PX`); a caller that fails is marked as waiting. */
  lock?: LockRequest;
  /** Do not return an existing value: a background refresh of a stale or nearly expired entry. */
  ignoreValue?: boolean;
}

/** A registered wait for an entry's lock release (see {@link Store.waitFor}). */
export interface Waiting {
  /** Resolves when the release was announced, the wait timed out, or the store lost its notifications. */
  readonly promise: Promise<void>;
  /** Stops waiting now (resolves the promise). */
  cancel(): void;
}

/**
 * The contract every store implements ({@link RedisStore}, {@link MemoryStore}, or your own).
 *
 * Keys come from the library's key module: an entry's value lives at `valueKey` and its generation
 * token at a sibling key in the same hash slot. Values are opaque envelope strings. Lifetimes are in
 * milliseconds; `Infinity` means no expiry.
 *
 * The race-safety rule a store must keep: {@link Store.set} writes only while the entry's token is the
 * one {@link Store.begin} or {@link Store.rotate} handed out, checked atomically with the write; and
 * {@link Store.delete}, {@link Store.rotate} and {@link Store.deleteMatching} remove the token, so a
 * computation that began before them can never write after them.
 */
export interface Store {
  /**
   * The stored envelope, or `undefined` or `null` when there is none. This is the whole hit path:
   * keep it to one round trip.
   */
  get(valueKey: string): Promise<string | null | undefined>;
  /**
   * Called on a miss before computing: atomically, the value if it exists now, otherwise the entry's
   * token, created (and kept for `tokenTtlMs`) if there is none, and the outcome of the lock request.
   * A store without locks ignores `options.lock` and leaves `locked` undefined.
   */
  begin(valueKey: string, tokenTtlMs: number, options?: BeginOptions): Promise<Begin>;
  /**
   * Writes `value` with lifetime `ttlMs` if the entry's token still equals `token`, and extends the
   * token's lifetime to `tokenTtlMs`. Resolves `true` if written, `false` if the token had changed.
   * With `lockToken`, also releases that lock (only if it still holds that token) and announces the
   * release to waiters, written or not.
   */
  set(
    valueKey: string,
    token: string,
    value: string,
    ttlMs: number,
    tokenTtlMs: number,
    lockToken?: string,
  ): Promise<boolean>;
  /** Optional (stores with locks): releases the lock if it still holds `lockToken`, and announces it. */
  release?(valueKey: string, lockToken: string): Promise<void>;
  /**
   * Optional (stores with locks): waits until a release of the entry's lock is announced, at most
   * `ms`. Registers synchronously, so an announcement after this call returns is not missed; one
   * heard at or after `since` (a `performance.now()` time: when the caller asked who holds the lock)
   * resolves it at once, since the release may overtake the answer that said the lock was taken.
   */
  waitFor?(valueKey: string, ms: number, since?: number): Waiting;
  /** Deletes the value, the token and the lock in one atomic step. */
  delete(valueKey: string): Promise<void>;
  /**
   * Deletes the value and replaces the token with a new one, atomically; resolves the new token. With
   * `lock`, also takes the entry's lock unconditionally (a refresh supersedes any computation running).
   */
  rotate(valueKey: string, tokenTtlMs: number, lock?: LockRequest): Promise<string>;
  /**
   * Deletes every entry (value, token, lock) whose key starts with `keyPrefix`; resolves how many keys.
   * A store that needs several round trips runs each one through `bound`, which rejects when it
   * misses the caller's deadline (or the store is known to be down, without running it).
   */
  deleteMatching(keyPrefix: string, bound?: <T>(roundTrip: () => Promise<T>) => Promise<T>): Promise<number>;
  /**
   * Optional: `false` when the store knows it cannot answer now (its client is not connected), so calls
   * skip it at once instead of waiting for a deadline or filling an offline queue.
   */
  isReady?(): boolean;
  /**
   * Optional: change notifications for a local tier (the `local` option). Without them, or when it
   * returns `undefined`, a local tier is never used and every call reads the store.
   */
  tracking?(): Tracking | undefined;
}

/**
 * Told which entries changed: a value key, or `null` for "anything may have changed" (tracking
 * stopped or started, or the store was flushed).
 */
export type ChangeListener = (valueKey: string | null) => void;

/**
 * Server-assisted invalidation for a local tier: the store reports every change of an entry, made by
 * any process, for the function prefixes it was asked to watch.
 */
export interface Tracking {
  /**
   * Starts delivering changes of keys that start with `functionPrefix` to `listener`; resolves
   * nothing, since delivery may start later (see {@link Tracking.covers}). Returns the way to stop.
   */
  watch(functionPrefix: string, listener: ChangeListener): () => void;
  /**
   * `true` while every change of keys under `functionPrefix` is being delivered. A listener is called
   * with `null` whenever this turns either way, so a read begun before can be told apart.
   */
  covers(functionPrefix: string): boolean;
  /** Set once tracking stopped for good, saying why; nothing will be covered any more. */
  readonly failure?: Error | undefined;
  /**
   * `true` once this tracking ended for good (its client ended, or `failure`); a local tier then asks
   * the store for its tracking again, which may be a new one (the client connected again).
   */
  readonly closed?: boolean;
}
