import { createHash, randomUUID } from 'node:crypto';
import { lockKeyOf, tokenKeyOf, valueKeyOf, waitersKeyOf } from '../key';
import { RELEASE_CHANNEL, releasesOf } from './releases';
import { trackingOf } from './server-tracking';
import type { Begin, BeginOptions, LockRequest, Store, Tracking, Waiting } from './store';

type Reply = unknown;
interface EvalOptions {
  keys: string[];
  arguments: string[];
}

/** Options accepted by node-redis `scanIterator`. */
interface ScanOptions {
  MATCH: string;
  COUNT: number;
}

/**
 * The node-redis commands the store uses, shared by `createClient`, `createCluster` and `createSentinel`
 * objects (redis 5.x and 6.x). Any object with these methods works.
 */
export interface RedisCommander {
  get(key: string): Promise<Reply>;
  evalSha(sha1: string, options: EvalOptions): Promise<Reply>;
  eval(script: string, options: EvalOptions): Promise<Reply>;
  unlink(keys: string[]): Promise<Reply>;
  /** node-redis: a view of the object with other command options. */
  withCommandOptions?(options: { timeout: number; typeMapping?: Record<string, never> }): unknown;
}

/** A single server connection (client or sentinel) that can iterate its keyspace. */
interface Scannable {
  scanIterator(options: ScanOptions): AsyncIterable<Reply[]>;
}

/** A node-redis cluster: keys are scanned on every master. */
interface ClusterLike {
  readonly masters: readonly unknown[];
  nodeClient(node: never): Promise<Scannable> | Scannable;
}

/** A node-redis client, cluster or sentinel object. */
export type RedisLike = RedisCommander & (Scannable | ClusterLike);

class Script {
  readonly sha1: string;
  constructor(readonly source: string) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }
}

// Every script gets the entry's four keys, all in one hash slot: value, token, lock, waiters mark.
// Lifetimes travel as strings; '0' means "no expiry" (PX must be a positive integer).
const PRELUDE = `
local function set_token(t, ttl)
  if ttl == '0' then redis.call('SET', KEYS[2], t) else redis.call('SET', KEYS[2], t, 'PX', ttl) end
end
local function release(lock_token, channel)
  if lock_token ~= '' and redis.call('GET', KEYS[3]) == lock_token then
    redis.call('DEL', KEYS[3])
    if redis.call('DEL', KEYS[4]) == 1 then redis.call('PUBLISH', channel, KEYS[1]) end
  end
end
`;

// ARGV: new token, token ttl, lock token ('' = no lock), lock ttl, ignore value ('1'/'0')
const BEGIN = new Script(`${PRELUDE}
if ARGV[5] ~= '1' then
  local v = redis.call('GET', KEYS[1])
  if v then return {1, v} end
end
local t = redis.call('GET', KEYS[2])
if not t then
  t = ARGV[1]
  set_token(t, ARGV[2])
end
if ARGV[3] == '' then return {0, t, -1} end
if redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', ARGV[4]) then return {0, t, 1} end
if ARGV[5] ~= '1' then redis.call('SET', KEYS[4], '1', 'PX', ARGV[4]) end
return {0, t, 0, redis.call('GET', KEYS[3])}`);

// ARGV: token, value, ttl, token ttl, lock token ('' = none), channel
const SET_IF_TOKEN = new Script(`${PRELUDE}
local written = 0
if redis.call('GET', KEYS[2]) == ARGV[1] then
  if ARGV[3] == '0' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
  if ARGV[4] == '0' then redis.call('PERSIST', KEYS[2]) else redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
  written = 1
end
release(ARGV[5], ARGV[6])
return written`);

// ARGV: lock token, channel
const RELEASE = new Script(`${PRELUDE}
release(ARGV[1], ARGV[2])
return 1`);

// ARGV: new token, token ttl, lock token ('' = none), lock ttl
const ROTATE = new Script(`${PRELUDE}
redis.call('DEL', KEYS[1])
set_token(ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4]) end
return 1`);

function lifetime(ms: number): string {
  return ms === Number.POSITIVE_INFINITY ? '0' : String(Math.max(1, Math.ceil(ms)));
}

function text(reply: Reply): string {
  return typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString() : String(reply);
}

/** What deleting an entry removes: its value, its token, and its lock (computations running are outdated). */
function entryKeys(valueKey: string): string[] {
  return [valueKey, tokenKeyOf(valueKey), lockKeyOf(valueKey)];
}

function unbounded<T>(roundTrip: () => Promise<T>): Promise<T> {
  return roundTrip();
}

/**
 * The library's own deadline bounds every command, including ones already written to a socket, which
 * node-redis's per-command timeout does not. That timeout's AbortSignal halves raw `GET` throughput
 * with 100 in flight (`npm run bench`), so the store's commands run without it. A client with a type
 * mapping (say, blob strings as Buffers) gets the default mapping back, so replies are strings; an
 * explicit mapping costs about a fifth of a `GET`, so it is only set when needed.
 */
function withoutCommandTimeout(client: RedisLike): RedisCommander {
  if (typeof client.withCommandOptions !== 'function') return client;
  const current = (client as { _commandOptions?: { typeMapping?: object } })._commandOptions?.typeMapping;
  const mapped = current !== undefined && Object.keys(current).length > 0;
  return client.withCommandOptions(mapped ? { timeout: 0, typeMapping: {} } : { timeout: 0 }) as RedisCommander;
}

function isCluster(client: RedisLike): client is RedisCommander & ClusterLike {
  return 'masters' in client && typeof (client as Partial<ClusterLike>).nodeClient === 'function';
}

function escapeGlob(value: string): string {
  return value.replace(/[\\*?[\]]/g, '\\$&');
}

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * How many keys one `SCAN` step asks for during {@link RedisStore.deleteMatching}.
   * @default 1000
   */
  scanCount?: number;
}

/**
 * The {@link Store} over a node-redis client, cluster or sentinel object that you created and own
 * (the store never connects or quits it; it listens for its `'end'` to close the second connection
 * that hears lock releases). A hit is one `GET`; a miss adds one script
 * call before computing and one for the conditional write. Every key of an entry shares a hash tag.
 *
 * @example
 * ```ts
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const memoize = createMemoizer({ store: new RedisStore(client) });
 * ```
 */
export class RedisStore implements Store {
  readonly #scanCount: number;
  readonly #commands: RedisCommander;

  constructor(
    /** The node-redis object every command goes through. */
    readonly client: RedisLike,
    options: RedisStoreOptions = {},
  ) {
    if (typeof client !== 'object' || client === null || typeof client.get !== 'function') {
      throw new TypeError('RedisStore: client must be a node-redis client, cluster or sentinel object');
    }
    const { scanCount = 1000 } = options;
    if (!Number.isInteger(scanCount) || scanCount < 1) {
      throw new TypeError(`RedisStore: scanCount must be a positive integer, got ${String(scanCount)}`);
    }
    this.#scanCount = scanCount;
    this.#commands = withoutCommandTimeout(client);
  }

  get(valueKey: string): Promise<string | null> {
    // Not even a `then` of its own: this is the whole hit path.
    return this.#commands.get(valueKey) as Promise<string | null>;
  }

  async begin(valueKey: string, tokenTtlMs: number, options: BeginOptions = {}): Promise<Begin> {
    const { lock, ignoreValue = false } = options;
    // Subscribe before anyone waits, so the first release is already heard.
    if (lock !== undefined) releasesOf(this.client);
    const reply = await this.#run(BEGIN, valueKey, [
      randomUUID(),
      lifetime(tokenTtlMs),
      lock?.token ?? '',
      lock === undefined ? '0' : lifetime(lock.ttlMs),
      ignoreValue ? '1' : '0',
    ]);
    if (!Array.isArray(reply) || reply.length < 2) throw new Error(`unexpected script reply ${String(reply)}`);
    if (Number(reply[0]) === 1) return { value: text(reply[1]) };
    const locked = Number(reply[2]);
    if (locked === -1) return { token: text(reply[1]) };
    return locked === 1
      ? { token: text(reply[1]), locked: true }
      : { token: text(reply[1]), locked: false, holder: text(reply[3]) };
  }

  async set(
    valueKey: string,
    token: string,
    value: string,
    ttlMs: number,
    tokenTtlMs: number,
    lockToken = '',
  ): Promise<boolean> {
    const reply = await this.#run(SET_IF_TOKEN, valueKey, [
      token,
      value,
      lifetime(ttlMs),
      lifetime(tokenTtlMs),
      lockToken,
      RELEASE_CHANNEL,
    ]);
    return Number(reply) === 1;
  }

  async release(valueKey: string, lockToken: string): Promise<void> {
    await this.#run(RELEASE, valueKey, [lockToken, RELEASE_CHANNEL]);
  }

  /**
   * Waits for an announced release of the entry's lock, at most `ms`. Announcements arrive on one
   * second connection per client (see {@link releasesOf}); without it, the wait simply times out and
   * callers poll.
   */
  waitFor(valueKey: string, ms: number, since?: number): Waiting {
    return releasesOf(this.client).waitFor(valueKey, ms, since);
  }

  async delete(valueKey: string): Promise<void> {
    await this.#commands.unlink(entryKeys(valueKey));
  }

  async rotate(valueKey: string, tokenTtlMs: number, lock?: LockRequest): Promise<string> {
    const token = randomUUID();
    await this.#run(ROTATE, valueKey, [
      token,
      lifetime(tokenTtlMs),
      lock?.token ?? '',
      lock === undefined ? '0' : lifetime(lock.ttlMs),
    ]);
    return token;
  }

  /**
   * `SCAN`s every master for `keyPrefix*` and unlinks each entry found, value and token together
   * (one `UNLINK` per entry, since entries live in different cluster slots). Cost grows with the size
   * of the keyspace, not of the function's entries; it never blocks the server for long.
   */
  async deleteMatching(keyPrefix: string, bound = unbounded): Promise<number> {
    const options: ScanOptions = { MATCH: `${escapeGlob(keyPrefix)}*`, COUNT: this.#scanCount };
    const nodes = isCluster(this.client)
      ? await bound(() => Promise.all((this.client as ClusterLike).masters.map((m) => this.#clusterNode(m))))
      : [this.client as Scannable];
    let count = 0;
    for (const node of nodes) {
      const scan = node.scanIterator(options)[Symbol.asyncIterator]();
      const next = () => scan.next();
      for (let step = await bound(next); step.done !== true; step = await bound(next)) {
        const entries = new Set(step.value.map((key) => valueKeyOf(text(key))));
        const unlinkAll = () => Promise.all([...entries].map((k) => this.#commands.unlink(entryKeys(k))));
        for (const n of await bound(unlinkAll)) count += Number(n);
      }
    }
    return count;
  }

  /** `false` while the client is not connected (node-redis `isReady`). */
  isReady(): boolean {
    return (this.client as { isReady?: unknown }).isReady !== false;
  }

  /**
   * Redis client tracking on one extra RESP3 connection per client (see {@link trackingOf});
   * `undefined` for a cluster.
   */
  tracking(): Tracking | undefined {
    return trackingOf(this.client);
  }

  #clusterNode(master: unknown): Promise<Scannable> | Scannable {
    return (this.client as ClusterLike).nodeClient(master as never);
  }

  async #run(script: Script, valueKey: string, args: string[]): Promise<Reply> {
    const options = {
      keys: [valueKey, tokenKeyOf(valueKey), lockKeyOf(valueKey), waitersKeyOf(valueKey)],
      arguments: args,
    };
    try {
      return await this.#commands.evalSha(script.sha1, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.#commands.eval(script.source, options);
    }
  }
}
