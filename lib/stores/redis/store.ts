import type { MemoizeError } from '../../errors';
import { deletedKeysOf, entryKeysOf, TAG_EPOCH_KEY, tagKey } from '../../key';
import type {
  Begin,
  BeginRequest,
  DeleteMatchingRequest,
  EnrollRequest,
  InvalidateTagsRequest,
  ReadManyRequest,
  ReleaseRequest,
  RotateRequest,
  Store,
  StoreNeeds,
  TaggedValue,
  Tracking,
  Waiting,
  WaitRequest,
  WriteRequest,
} from '../store';
import type { RedisDriver } from './driver';
import { driverFor, type RedisLike } from './drivers';
import { EntryIndex, indexKeyOf } from './entry-index';
import { tokenFirst, whileMigrating } from './migration';
import { describeRedisFailure, isTryAgain } from './replies';
import { type Announcement, BEGIN, BROADCAST, RELEASE, ROTATE, type Script, type StoreBegin, WRITE } from './scripts';
import { StoreConnections } from './store-connections';
import { READ_TAGGED } from './tag-scripts';
import { RedisTags } from './tags';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * How many entries one page of {@link RedisStore.deleteMatching} (`invalidateAll`) reads from the
   * function's entry index (at most 1000).
   * @default 1000
   */
  scanCount?: number;
}

/**
 * The {@link Store} over a Redis client that you created and own: a node-redis client, cluster or
 * sentinel object, or an ioredis or iovalkey `Redis` (also with `sentinels`) or `Cluster`.
 * A hit is one `GET`; a miss adds one script call before computing and one for the conditional write.
 * Every key of an entry shares a hash tag.
 *
 * The store never connects or quits your client. It opens connections of its own: one that hears
 * lock releases (a node-redis cluster or sentinel subscribes through itself instead; an ioredis
 * cluster gets a second `Cluster`), and one for the `local` tier's change notifications (two with
 * ioredis: a control connection and a subscriber). {@link RedisStore.close} ends them; so does
 * closing your client.
 *
 * @example
 * ```ts
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const memoize = createMemoizer({ store: new RedisStore(client) });
 * ```
 */
export class RedisStore implements Store {
  readonly #driver: RedisDriver;
  readonly #oneServer: boolean;
  readonly #tags: RedisTags;
  readonly #index: EntryIndex;
  readonly #connections: StoreConnections;

  constructor(
    /** The client every command goes through. */
    readonly client: RedisLike,
    options: RedisStoreOptions = {},
  ) {
    this.#driver = driverFor(client);
    this.#connections = new StoreConnections(this.#driver);
    const { scanCount = 1000 } = options;
    if (!Number.isInteger(scanCount) || scanCount < 1) {
      throw new TypeError(`RedisStore: scanCount must be a positive integer, got ${String(scanCount)}`);
    }
    this.#oneServer = this.#driver.kind !== 'cluster';
    const run = <Q, T>(script: Script<Q, T>, keys: string[], request: Q) => this.#eval(script, keys, request);
    this.#tags = new RedisTags(this.#driver, run, this.#oneServer);
    this.#index = new EntryIndex(this.#driver, run, this.#oneServer, scanCount);
    if (!this.#oneServer) {
      // One server indexes an entry inside `begin` and `rotate`; a cluster's index is on another
      // master, so the library enrolls the entry alongside them, under the index's circuit.
      const index = this.#index;
      this.enroll = (request) => index.enroll(request);
      this.indexKeyOf = indexKeyOf;
    }
  }

  /** A cluster's: keeps an entry in its function's index (see {@link Store.enroll}). */
  readonly enroll?: (request: EnrollRequest) => Promise<void>;
  /** A cluster's: the key of the index an entry enrolls in. */
  readonly indexKeyOf?: (key: string) => string;

  /** Stores over one client share its health, and so one circuit breaker. */
  get circuitKey(): object {
    return this.client;
  }

  /** A cluster's: one circuit per master, so that a master failing over skips only its own slots. */
  get circuitKeyFor(): ((key: string) => object) | undefined {
    return this.#driver.circuitKeyFor;
  }

  get(key: string): Promise<string | null> {
    // Not even a `then` of its own: this is the whole hit path.
    return this.#driver.get(key);
  }

  /** One `MGET` per hash slot (every key of a single server or sentinel's master in one), sent at once. */
  async getMany({ keys }: ReadManyRequest): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return whileMigrating(() => this.#driver.getMany(keys));
  }

  async begin(request: BeginRequest): Promise<Begin> {
    if (request.lock !== undefined) this.prepare({ locks: true });
    if (request.tagged !== true) return this.#begin(request, '');
    const begun = await this.#begin(request, this.#oneServer ? 'check' : 'raw');
    if (begun.value === undefined) return begun;
    const valid = await this.#tags.valid({ value: begun.value, stamp: begun.stamp ?? '' });
    // A cluster's landed value whose tags were invalidated: a miss after all, waiting as one would.
    return valid ?? this.#begin(request, 'skip');
  }

  #begin(request: BeginRequest, tagMode: '' | 'check' | 'raw' | 'skip'): Promise<StoreBegin> {
    return this.#run(BEGIN, request.key, { begin: request, tagMode });
  }

  async set(request: WriteRequest): Promise<boolean> {
    const { stamp, lockToken } = request;
    if (stamp !== undefined && !this.#oneServer && !(await this.#tags.ensure(stamp, request.ttlMs))) {
      // Invalidated while it computed: refused, and its lock let go as a write would.
      if (lockToken !== undefined) await this.release({ key: request.key, lockToken });
      return false;
    }
    // A cluster's index is on another master: its raise is sent (unless the enrollment was recent).
    if (!this.#oneServer) this.#index.keep(request);
    const { key } = request;
    return this.#run(WRITE, key, { write: request, announcement: this.#announcement(key) }, stamp?.tags);
  }

  release(request: ReleaseRequest): Promise<void> {
    const { key, lockToken } = request;
    return this.#run(RELEASE, key, { lockToken, announcement: this.#announcement(key) });
  }

  /**
   * Waits for an announced release of the entry's lock, at most `ms`. Without a way to hear
   * releases, the wait simply times out and callers poll.
   */
  waitFor(request: WaitRequest): Waiting {
    return this.#connections.waitFor(request);
  }

  async delete(key: string): Promise<void> {
    try {
      await whileMigrating(() => this.#driver.unlink(deletedKeysOf(key)));
    } catch (error) {
      if (!isTryAgain(error)) throw error;
      // The slot is still migrating, the entry's keys split between two masters: delete them one at
      // a time, the token first, so that no computation that began before can write after.
      for (const k of tokenFirst(key)) await this.#driver.unlink([k]);
    }
  }

  rotate(request: RotateRequest): Promise<string> {
    return this.#run(ROTATE, request.key, request);
  }

  /** One script on one server; on a cluster, the entry's slot, then its tag keys in parallel. */
  async getTagged(key: string): Promise<TaggedValue | undefined> {
    return this.#tags.valid(await this.#run(READ_TAGGED, key, { check: this.#oneServer }));
  }

  tagEpoch(): Promise<string> {
    return this.#tags.epoch();
  }

  invalidateTags(request: InvalidateTagsRequest): Promise<void> {
    return this.#tags.invalidate(request);
  }

  /**
   * Reads the function's entry index page by page and deletes each page's entries in one batch:
   * the cost follows the function's own entries, not the size of the keyspace. Entries written by a
   * version without the index are not in it.
   */
  deleteMatching({ prefix, bound }: DeleteMatchingRequest): Promise<number> {
    return this.#index.deleteAll(prefix, bound);
  }

  /** `false` while the client is not connected (node-redis `isReady`, ioredis `status`). */
  isReady(): boolean {
    return this.#driver.isReady();
  }

  /**
   * Redis client tracking on connections of its own (see {@link ServerTracking}); `undefined` for a
   * cluster or a node-redis sentinel, whose local tier then reports `E_NO_TRACKING`.
   */
  tracking(): Tracking | undefined {
    return this.#connections.tracking();
  }

  /**
   * Opens the release listener as soon as some function takes locks, outside any call's deadline;
   * for a client not connected yet, once it connects (a client already closed gets none).
   */
  prepare(needs: StoreNeeds): void {
    this.#connections.prepare(needs);
  }

  #announcement(key: string): Announcement {
    return this.#driver.announcement?.(key) ?? BROADCAST;
  }

  describeFailure(operation: string, error: unknown): MemoizeError {
    return describeRedisFailure(operation, error);
  }

  /**
   * Ends the connections this store opened (the release listener, the tracking connection); your
   * client stays as it is. Waiting calls wake and check for themselves. Idempotent.
   */
  async close(): Promise<void> {
    this.#connections.close();
  }

  /**
   * Runs an entry script over the keys of the entry at `key`, and on one server also its index, the
   * tag epoch and `tags`' keys, which the script then maintains itself.
   */
  #run<Request, Result>(
    script: Script<Request, Result>,
    key: string,
    request: Request,
    tags: readonly string[] = [],
  ): Promise<Result> {
    const keys: string[] = entryKeysOf(key);
    if (this.#oneServer) {
      keys.push(indexKeyOf(key), TAG_EPOCH_KEY);
      for (const tag of tags) keys.push(tagKey(tag));
    }
    return this.#eval(script, keys, request);
  }

  async #eval<Request, Result>(script: Script<Request, Result>, keys: string[], request: Request): Promise<Result> {
    const args = script.arguments(request);
    const reply = await whileMigrating(() => this.#driver.evalScript(script.source, script.sha1, keys, args));
    return script.parseReply(reply);
  }
}
