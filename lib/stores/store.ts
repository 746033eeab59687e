import type { MemoizeError } from '../errors';

/**
 * What {@link Store.begin} found: the value if one landed meanwhile, else the entry's generation token
 * and, when a lock was asked for, whether this caller got it (`undefined`: the store has no locks)
 * and, if not, the token of the lock's holder.
 */
export type Begin =
  | { value: string; tags?: readonly string[]; token?: undefined; locked?: undefined; holder?: undefined }
  | { value?: undefined; token: string; locked?: boolean; holder?: string };

/** A tagged entry as a read finds it valid: its envelope and the tags it carries. */
export interface TaggedValue {
  readonly value: string;
  readonly tags: readonly string[];
}

/**
 * What a tagged write records with the value: the tag epoch read before the computation began
 * ({@link Store.tagEpoch}), and the tags the result carries.
 */
export interface TagStamp {
  readonly epoch: string;
  readonly tags: readonly string[];
}

/** What {@link Store.invalidateTags} is asked. */
export interface InvalidateTagsRequest {
  /** Every entry carrying any of these tags stops being readable. */
  readonly tags: readonly string[];
  /** Runs each round trip under the caller's deadline (as for {@link DeleteMatchingRequest}). */
  readonly bound?: RoundTrip;
}

/** A cross-process compute lock to take: a unique token and how long the lock lives. */
export interface LockRequest {
  readonly token: string;
  readonly ttlMs: number;
}

/** What {@link Store.begin} is asked: called on a miss, before computing. */
export interface BeginRequest {
  /** The entry's value key. */
  readonly key: string;
  /** How long a token created now lives. */
  readonly tokenTtlMs: number;
  /** Also try to take the entry's compute lock; a caller that fails is marked as waiting. */
  readonly lock?: LockRequest | undefined;
  /** Do not return an existing value: a background refresh of a stale or nearly expired entry. */
  readonly ignoreValue?: boolean;
  /**
   * The function tags its entries: return a value that landed meanwhile only if it is still valid
   * (as {@link Store.getTagged} would), with its tags; an invalid one counts as missing.
   */
  readonly tagged?: boolean;
}

/** What {@link Store.getMany} is asked. */
export interface ReadManyRequest {
  /**
   * Value keys, in no particular order, without repeats. On a store with
   * {@link Store.circuitKeyFor}, the library asks for keys of one circuit (one cluster master) at a time.
   */
  readonly keys: readonly string[];
}

/** What {@link Store.set} is asked: a conditional write. */
export interface WriteRequest {
  /** The entry's value key. */
  readonly key: string;
  /** The token the computation began under; the write happens only if it is still the entry's. */
  readonly token: string;
  /** The encoded envelope. */
  readonly value: string;
  /** The value's lifetime. */
  readonly ttlMs: number;
  /** The token's lifetime from now on. */
  readonly tokenTtlMs: number;
  /** The lock this computation holds: released (if it still holds this token) written or not. */
  readonly lockToken?: string | undefined;
  /**
   * A tagged entry's stamp, written with the value. Before the value, every tag's key is made to
   * exist (created at the current epoch if missing) and to live at least as long as the value; a
   * stamp that then does not hold (a tag was invalidated during the computation) is refused like a
   * changed token: nothing is written and `set` resolves `false`. Without it, any stamp the entry had
   * is removed.
   */
  readonly stamp?: TagStamp | undefined;
  /**
   * A store with {@link Store.enroll}: how long ago this computation sent the entry's enrollment, if
   * it did. The enrollment scored the entry for a whole token lifetime from then, so a write soon
   * after needs no raise of its own (the store decides how soon).
   */
  readonly enrolledMsAgo?: number | undefined;
}

/** What {@link Store.rotate} is asked. */
export interface RotateRequest {
  /** The entry's value key. */
  readonly key: string;
  /** The new token's lifetime. */
  readonly tokenTtlMs: number;
  /** Also take the entry's lock unconditionally (a refresh supersedes any computation running). */
  readonly lock?: LockRequest | undefined;
}

/** What {@link Store.enroll} is asked: keep an entry in its function's index while its token lives. */
export interface EnrollRequest {
  /** The entry's value key. */
  readonly key: string;
  /** How long the entry's token lives from now on. */
  readonly tokenTtlMs: number;
}

/** What {@link Store.release} is asked. */
export interface ReleaseRequest {
  /** The entry's value key. */
  readonly key: string;
  /** The lock is released only if it still holds this token. */
  readonly lockToken: string;
}

/** What {@link Store.waitFor} is asked. */
export interface WaitRequest {
  /** The entry's value key. */
  readonly key: string;
  /** The longest wait, in milliseconds. */
  readonly ms: number;
  /**
   * When the caller asked who holds the lock (a `performance.now()` time): a release heard at or
   * after it resolves the wait at once, since the release may overtake the answer.
   */
  readonly since?: number;
}

/** Runs one round trip of a multi-step operation under the caller's deadline. */
export type RoundTrip = <T>(roundTrip: () => Promise<T>) => Promise<T>;

/** What {@link Store.deleteMatching} is asked. */
export interface DeleteMatchingRequest {
  /**
   * Every entry whose value key starts with this goes: a function's prefix (`keyPrefix:name:`), or
   * what its entries start with (that and `{`). A store may keep an index per function instead of
   * matching the keyspace, as `RedisStore` does.
   */
  readonly prefix: string;
  /**
   * Runs each round trip; it rejects when one misses the caller's deadline (or the store is known to
   * be down, without running it).
   */
  readonly bound?: RoundTrip;
}

/** A registered wait for an entry's lock release (see {@link Store.waitFor}). */
export interface Waiting {
  /** Resolves when the release was announced, the wait timed out, or the store lost its notifications. */
  readonly promise: Promise<void>;
  /** Stops waiting now (resolves the promise). */
  cancel(): void;
}

/** What the calls made with a store will need, so it can set it up before any call waits for it. */
export interface StoreNeeds {
  /** Some function takes the cross-process lock: waiters will want to hear releases. */
  readonly locks?: boolean;
}

/**
 * The contract every store implements ({@link RedisStore}, {@link MemoryStore}, or your own); the
 * suite in `cache-memoize/testing` checks it.
 *
 * Keys come from the library's key module: an entry's value lives at its value key, and its
 * generation token, lock and waiters mark at sibling keys in the same hash slot. Values are opaque
 * envelope strings. Lifetimes are in milliseconds; `Infinity` means no expiry.
 *
 * The race-safety rule a store must keep: {@link Store.set} writes only while the entry's token is
 * the one {@link Store.begin} or {@link Store.rotate} handed out, checked atomically with the write;
 * and {@link Store.delete}, {@link Store.rotate} and {@link Store.deleteMatching} remove the token,
 * so a computation that began before them can never write after them.
 *
 * Failures: a store rejects with whatever its backend threw; {@link Store.describeFailure} (or, without
 * it, the library's default: `E_UNAVAILABLE` unless it is already a `StoreError`) says what it means.
 */
export interface Store {
  /**
   * The stored envelope, or `undefined` or `null` when there is none. This is the whole hit path:
   * keep it to one round trip.
   */
  get(key: string): Promise<string | null | undefined>;
  /**
   * Optional: the stored envelopes of many keys, in the order of `request.keys` (`undefined` or `null`
   * where there is none), in one round trip per server: `f.many` reads its entries with it. Without
   * it, `f.many` reads each entry with {@link Store.get}.
   */
  getMany?(request: ReadManyRequest): Promise<ReadonlyArray<string | null | undefined>>;
  /**
   * Atomically: the value if it exists now (unless `ignoreValue`), otherwise the entry's token,
   * created if there is none, and the outcome of the lock request. A store without locks ignores
   * `lock` and leaves `locked` undefined.
   */
  begin(request: BeginRequest): Promise<Begin>;
  /**
   * Writes the value if the entry's token still equals `token`, and extends the token's lifetime.
   * Resolves `true` if written, `false` if the token had changed. With `lockToken`, also releases
   * that lock and announces the release to waiters, written or not.
   */
  set(request: WriteRequest): Promise<boolean>;
  /** Optional (stores with locks): releases the lock if it still holds `lockToken`, and announces it. */
  release?(request: ReleaseRequest): Promise<void>;
  /**
   * Optional (stores with locks): waits until a release of the entry's lock is announced, at most
   * `ms`. Registers synchronously, so an announcement after this call returns is not missed.
   */
  waitFor?(request: WaitRequest): Waiting;
  /** Deletes the value, the token and the lock in one atomic step. */
  delete(key: string): Promise<void>;
  /**
   * Deletes the value and replaces the token with a new one, atomically; resolves the new token.
   */
  rotate(request: RotateRequest): Promise<string>;
  /**
   * Optional, for a store whose function index lives apart from the entry (a Redis Cluster's, on the
   * index's own master): keeps the entry in its function's index for as long as its token lives. The
   * library sends it alongside `begin` and `rotate` and waits for both before the function runs,
   * under the circuit of {@link Store.indexKeyOf}; when it fails, the entry is not written, so
   * `deleteMatching` never misses an entry that could still be written. A store that indexes inside
   * `begin` and `rotate`, or has no index, leaves it out.
   */
  enroll?(request: EnrollRequest): Promise<void>;
  /**
   * Optional, with {@link Store.enroll}: the key of the index that `key`'s entry enrolls in, whose
   * circuit ({@link Store.circuitKeyFor}) counts the enrollment's failures.
   */
  indexKeyOf?(key: string): string;
  /** Deletes every entry (value, token, lock) whose value key starts with `prefix`; resolves how many keys. */
  deleteMatching(request: DeleteMatchingRequest): Promise<number>;
  /**
   * Optional (stores with tags, needed by the `tags` option): a tagged entry's value if it is still
   * valid, with its tags, else `undefined` or `null`. Valid means: it has a stamp, and every one of
   * its tags has a key whose epoch is at most the stamp's. The tagged hit path: keep it to one round
   * trip where the backend allows (two on a Redis Cluster).
   */
  getTagged?(key: string): Promise<TaggedValue | null | undefined>;
  /**
   * Optional (stores with tags): the current tag epoch, read before a tagged computation begins;
   * it goes into the entry's {@link TagStamp}.
   */
  tagEpoch?(): Promise<string>;
  /**
   * Optional (stores with tags): increments the tag epoch, then sets each tag's key to the new epoch
   * (creating it if missing, keeping it at least as long as it would have lived, and at least a floor
   * that covers writes in flight). Once it resolves, no entry whose stamp predates the increment and
   * that carries one of the tags is valid.
   */
  invalidateTags?(request: InvalidateTagsRequest): Promise<void>;
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
  /**
   * Optional: told, outside any call, what calls will need (say, hearing lock releases), so that the
   * first call does not pay for setting it up. Called again whenever needs grow; must not throw.
   */
  prepare?(needs: StoreNeeds): void;
  /**
   * Optional: what a failure of `operation` means, as the library's error: a `StoreError` with the
   * right code (an outage, a refused write, a permission...), or a `SerializationError` `E_DECODE`
   * when the entry holds something that is not a value (the call then replaces it).
   */
  describeFailure?(operation: string, error: unknown): MemoizeError;
  /**
   * Optional: stores that share a connection return the same object, so they share one circuit
   * breaker. Without it, each store has its own.
   */
  readonly circuitKey?: object;
  /**
   * Optional, for stores over several servers (a Redis Cluster): the object standing for the server
   * that holds `key`, so that each server has a circuit of its own and one failing server does not
   * skip the others. Without it, {@link Store.circuitKey} serves every key.
   */
  readonly circuitKeyFor?: ((key: string) => object) | undefined;
  /** Optional: ends every connection the store opened itself (never the user's client). */
  close?(): Promise<void>;
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
   * Starts delivering changes of keys that start with `functionPrefix` to `listener`; delivery may
   * start later (see {@link Tracking.covers}). Returns the way to stop.
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
  /**
   * Present when changes are delivered only for the keys read through it (Redis's default tracking
   * mode, instead of every key under a prefix): a local tier then reads the values it keeps here, and
   * keeps no value read any other way. Resolves the entry's stored value, or `null`.
   */
  read?(key: string): Promise<string | null>;
  /**
   * With {@link Tracking.read}: a tagged entry read here, its tag keys too, checked as
   * {@link Store.getTagged} checks it; `undefined` when missing or its tags were invalidated.
   * `tagKeys`: the keys of the tags the entry is expected to carry (a fixed tags list), read in the
   * same round trip as the value; a stamp naming others costs a second.
   */
  readTagged?(key: string, tagKeys?: readonly string[]): Promise<TaggedValue | undefined>;
}
