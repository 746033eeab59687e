import { setTimeout as sleep } from 'node:timers/promises';
import type { MemoizeError } from '../../errors';
import { entryKeysOf, valueKeyOf } from '../../key';
import { Releases } from '../releases';
import type {
  Begin,
  BeginRequest,
  DeleteMatchingRequest,
  ReadManyRequest,
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
import { describeRedisFailure, isTryAgain } from './replies';
import { type Announcement, BEGIN, BROADCAST, RELEASE, ROTATE, type Script, WRITE } from './scripts';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * How many keys one `SCAN` step asks for during {@link RedisStore.deleteMatching}.
   * @default 1000
   */
  scanCount?: number;
}

// A slot's keys migrate in batches; a few short tries cover most, and the caller's deadline the rest.
const MIGRATING_TRIES = 5;
const MIGRATING_PAUSE_MS = 10;

/** Runs `command` again, after a short pause, while the cluster answers `TRYAGAIN`. */
async function whileMigrating<T>(command: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await command();
    } catch (error) {
      if (tries >= MIGRATING_TRIES || !isTryAgain(error)) throw error;
      await sleep(MIGRATING_PAUSE_MS * tries);
    }
  }
}

function unbounded<T>(roundTrip: () => Promise<T>): Promise<T> {
  return roundTrip();
}

function escapeGlob(value: string): string {
  return value.replace(/[\\*?[\]]/g, '\\$&');
}

/** The keys {@link deletedKeysOf} names, the token first. */
function tokenFirst(valueKey: string): string[] {
  const [value, token, lock] = deletedKeysOf(valueKey) as [string, string, string];
  return [token, value, lock];
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
  #stopWaitingForOpen: (() => void) | undefined;
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

  /** One `MGET` per hash slot (every key of a single server or sentinel's master in one), sent at once. */
  async getMany({ keys }: ReadManyRequest): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return whileMigrating(() => this.#driver.getMany(keys));
  }

  begin(request: BeginRequest): Promise<Begin> {
    if (request.lock !== undefined) this.prepare({ locks: true });
    return this.#run(BEGIN, request);
  }

  set(request: WriteRequest): Promise<boolean> {
    return this.#run(WRITE, { ...request, announcement: this.#announcement(request.key) });
  }

  release(request: ReleaseRequest): Promise<void> {
    return this.#run(RELEASE, { ...request, announcement: this.#announcement(request.key) });
  }

  /**
   * Waits for an announced release of the entry's lock, at most `ms`. Without a way to hear
   * releases, the wait simply times out and callers poll.
   */
  waitFor(request: WaitRequest): Waiting {
    const waiting = this.#releases.waitFor(request);
    const listening = this.#driver.listenForRelease?.(request.key);
    if (listening !== undefined) {
      // Listening only from now: a release announced before is heard by checking again, once.
      listening.ready?.then(() => waiting.cancel());
      waiting.promise.then(listening.stop);
    }
    return waiting;
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
    const scanners = () => this.#driver.scanMasters(match, this.#scanCount);
    // Finding a cluster's masters may take a round trip; a single server's answer is at hand, and
    // must not count as the store answering (that would close an open circuit).
    for (const pages of await (this.#driver.kind === 'cluster' ? bound(scanners) : scanners())) {
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
    // A tracking that failed for good (no CLIENT permission, an old server) stays: it says why.
    const tracking = this.#tracking;
    if (tracking === undefined || (tracking.closed && tracking.failure === undefined)) {
      const tracking = this.#driver.startTracking(() => {
        if (this.#tracking === tracking) this.#tracking = undefined;
      });
      this.#tracking = tracking;
      if (tracking !== undefined) this.#listenForClose();
    }
    return this.#tracking;
  }

  /**
   * Opens the release listener as soon as some function takes locks, outside any call's deadline;
   * for a client not connected yet, once it connects (a client already closed gets none).
   */
  prepare(needs: StoreNeeds): void {
    if (!needs.locks || this.#subscriber !== undefined || this.#closed) return;
    if (!this.#driver.isOpen()) {
      this.#stopWaitingForOpen ??= this.#driver.onceOpen(() => {
        this.#stopWaitingForOpen = undefined;
        this.prepare(needs);
      });
      return;
    }
    this.#subscriber = this.#driver.listenForReleases(this.#releases);
    this.#listenForClose();
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
    this.#closed = true;
    this.#stopWaitingForOpen?.();
    this.#stopWaitingForOpen = undefined;
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
    const keys = entryKeysOf(request.key);
    const args = script.arguments(request);
    const reply = await whileMigrating(() => this.#driver.evalScript(script.source, script.sha1, keys, args));
    return script.parseReply(reply);
  }
}
