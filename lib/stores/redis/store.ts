import type { MemoizeError } from '../../errors';
import { entryKeysOf, valueKeyOf } from '../../key';
import { Releases } from '../releases';
import type {
  Begin,
  BeginRequest,
  DeleteMatchingRequest,
  ReleaseRequest,
  RotateRequest,
  Store,
  StoreNeeds,
  Tracking,
  Waiting,
  WaitRequest,
  WriteRequest,
} from '../store';
import type { Closable, RedisDriver, TrackingSource } from './driver';
import { driverFor, type RedisLike } from './drivers';
import { describeRedisFailure } from './replies';
import { BEGIN, RELEASE, ROTATE, type Script, WRITE } from './scripts';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * How many keys one `SCAN` step asks for during {@link RedisStore.deleteMatching}.
   * @default 1000
   */
  scanCount?: number;
}

function unbounded<T>(roundTrip: () => Promise<T>): Promise<T> {
  return roundTrip();
}

function escapeGlob(value: string): string {
  return value.replace(/[\\*?[\]]/g, '\\$&');
}

/** What deleting an entry removes: its value, its token and its lock (computations running are outdated). */
function deletedKeysOf(valueKey: string): string[] {
  return entryKeysOf(valueKey).slice(0, 3);
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
  readonly #scanCount: number;
  readonly #driver: RedisDriver;
  readonly #releases = new Releases();
  #subscriber: Closable | undefined;
  #tracking: TrackingSource | undefined;
  #stopListening: (() => void) | undefined;
  #closed = false;

  constructor(
    /** The client every command goes through. */
    readonly client: RedisLike,
    options: RedisStoreOptions = {},
  ) {
    this.#driver = driverFor(client);
    const { scanCount = 1000 } = options;
    if (!Number.isInteger(scanCount) || scanCount < 1) {
      throw new TypeError(`RedisStore: scanCount must be a positive integer, got ${String(scanCount)}`);
    }
    this.#scanCount = scanCount;
  }

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

  begin(request: BeginRequest): Promise<Begin> {
    if (request.lock !== undefined) this.prepare({ locks: true });
    return this.#run(BEGIN, request);
  }

  set(request: WriteRequest): Promise<boolean> {
    return this.#run(WRITE, request);
  }

  release(request: ReleaseRequest): Promise<void> {
    return this.#run(RELEASE, request);
  }

  /**
   * Waits for an announced release of the entry's lock, at most `ms`. Without a way to hear
   * releases, the wait simply times out and callers poll.
   */
  waitFor(request: WaitRequest): Waiting {
    return this.#releases.waitFor(request);
  }

  async delete(key: string): Promise<void> {
    await this.#driver.unlink(deletedKeysOf(key));
  }

  rotate(request: RotateRequest): Promise<string> {
    return this.#run(ROTATE, request);
  }

  /**
   * `SCAN`s every master for the prefix and unlinks each entry found, value and token together
   * (one `UNLINK` per entry, since entries live in different cluster slots). Cost grows with the size
   * of the keyspace, not of the function's entries; it never blocks the server for long.
   */
  async deleteMatching({ prefix, bound = unbounded }: DeleteMatchingRequest): Promise<number> {
    const match = `${escapeGlob(prefix)}*`;
    let count = 0;
    for (const pages of await bound(() => this.#driver.scanMasters(match, this.#scanCount))) {
      const next = () => pages.next();
      for (let page = await bound(next); page.done !== true; page = await bound(next)) {
        const entries = new Set(page.value.map(valueKeyOf));
        const unlinkAll = () => Promise.all([...entries].map((k) => this.#driver.unlink(deletedKeysOf(k))));
        for (const n of await bound(unlinkAll)) count += n;
      }
    }
    return count;
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
    if (this.#closed) return undefined;
    if (this.#tracking === undefined || this.#tracking.closed) {
      const tracking = this.#driver.startTracking(() => {
        if (this.#tracking === tracking) this.#tracking = undefined;
      });
      this.#tracking = tracking;
      if (tracking !== undefined) this.#listenForClose();
    }
    return this.#tracking;
  }

  /** Opens the release listener as soon as some function takes locks, outside any call's deadline. */
  prepare(needs: StoreNeeds): void {
    if (!needs.locks || this.#subscriber !== undefined || this.#closed) return;
    this.#subscriber = this.#driver.listenForReleases(this.#releases);
    this.#listenForClose();
  }

  describeFailure(operation: string, error: unknown): MemoizeError {
    return describeRedisFailure(operation, error);
  }

  /**
   * Ends the connections this store opened (the release listener, the tracking connection); your
   * client stays as it is. Waiting calls wake and check for themselves. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closeConnections();
  }

  /** The user closed the client: close what hangs on it; a client connected again opens anew. */
  #closeConnections(): void {
    this.#stopListening?.();
    this.#stopListening = undefined;
    this.#subscriber?.close();
    this.#tracking?.close();
    this.#tracking = undefined;
    this.#subscriber = undefined;
  }

  #listenForClose(): void {
    this.#stopListening ??= this.#driver.onClosed(() => this.#closeConnections());
  }

  async #run<Request extends { readonly key: string }, Result>(
    script: Script<Request, Result>,
    request: Request,
  ): Promise<Result> {
    const reply = await this.#driver.evalScript(
      script.source,
      script.sha1,
      entryKeysOf(request.key),
      script.arguments(request),
    );
    return script.parseReply(reply);
  }
}
