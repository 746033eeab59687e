import type { Releases } from '../releases';
import { type ClosingEmitter, listenForClose } from './close-listener';
import type { ClientKind, Closable, RedisDriver, TrackingSource } from './driver';
import { clusterTracking, type SentinelLike, sentinelTracking } from './node-redis-tracking';
import { ReleaseRouting } from './release-routing';
import { ReleaseSubscriber, ShardedReleaseSubscriber } from './release-subscriber';
import { ScriptLoading } from './script-loading';
import type { Announcement } from './scripts';
import { circuitPerMaster, readBySlot } from './slots';
import { startTracking } from './tracking';

// The node-redis driver: what the Redis store needs from a node-redis object, and how it tells the
// three kinds apart: a client (`createClient`), a cluster (`createCluster`) and a sentinel
// (`createSentinel`), redis 5.x and 6.x.

type Reply = unknown;

/** The arguments of node-redis `eval` and `evalSha`. */
interface EvalOptions {
  keys: string[];
  arguments: string[];
}

/** Options accepted by node-redis `scanIterator`. */
export interface ScanOptions {
  MATCH: string;
  COUNT: number;
}

/**
 * The node-redis commands the store uses, shared by `createClient`, `createCluster` and `createSentinel`
 * objects (redis 5.x and 6.x). Any object with these methods works.
 */
export interface RedisCommander {
  get(key: string): Promise<Reply>;
  mGet(keys: string[]): Promise<Reply>;
  evalSha(sha1: string, options: EvalOptions): Promise<Reply>;
  eval(script: string, options: EvalOptions): Promise<Reply>;
  unlink(keys: string[]): Promise<Reply>;
  /** node-redis: a view of the object with other command options. */
  withCommandOptions?(options: { timeout: number; typeMapping?: Record<string, never> }): unknown;
}

/** A single server connection (client or sentinel) that can iterate its keyspace. */
export interface Scannable {
  scanIterator(options: ScanOptions): AsyncIterable<Reply[]>;
}

/** A node-redis cluster: keys are scanned on every master; each slot knows its master. */
export interface ClusterLike {
  readonly masters: ReadonlyArray<{ readonly host?: string; readonly port?: number; readonly client?: unknown }>;
  readonly slots?: ReadonlyArray<{ readonly master?: { readonly host?: string; readonly port?: number } } | undefined>;
  nodeClient(node: never): Promise<Scannable> | Scannable;
}

/** A node-redis client, cluster or sentinel object. */
export type RedisLike = RedisCommander & (Scannable | ClusterLike);

/** The readiness flag node-redis objects have. */
interface Readiness {
  readonly isReady?: boolean;
  readonly isOpen?: boolean;
  once?(event: string, listener: () => void): unknown;
  off?(event: string, listener: () => void): unknown;
}

/** Tells a client, a cluster and a sentinel apart by what only each of them has. */
function clientKind(client: object): ClientKind {
  const shape = client as Partial<ClusterLike> & { getMasterNode?: unknown };
  if ('masters' in client && typeof shape.nodeClient === 'function') return 'cluster';
  if (typeof shape.getMasterNode === 'function') return 'sentinel';
  return 'client';
}

/** Whether `client` is a node-redis object with what the store calls. */
export function isNodeRedis(client: unknown): client is RedisLike {
  if (typeof client !== 'object' || client === null) return false;
  const commands = client as Partial<RedisCommander>;
  return ['get', 'evalSha', 'eval', 'unlink'].every((m) => typeof commands[m as keyof RedisCommander] === 'function');
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

/** The {@link RedisDriver} over a node-redis client, cluster or sentinel object. */
export class NodeRedisDriver implements RedisDriver {
  readonly kind: ClientKind;
  readonly circuitKeyFor: ((key: string) => object) | undefined;
  readonly #commands: RedisCommander;
  readonly #releases = new ReleaseRouting();
  readonly #scripts = new ScriptLoading();

  constructor(readonly client: RedisLike) {
    this.kind = clientKind(client);
    this.#commands = withoutCommandTimeout(client);
    if (this.kind === 'cluster') {
      const cluster = client as ClusterLike;
      this.circuitKeyFor = circuitPerMaster((slot) => {
        const master = cluster.slots?.[slot]?.master;
        return master === undefined ? undefined : `${master.host}:${master.port}`;
      }, client);
    }
  }

  get(key: string): Promise<string | null> {
    return this.#commands.get(key) as Promise<string | null>;
  }

  getMany(keys: readonly string[]): Promise<Array<string | null>> {
    const mGet = (group: string[]) => this.#commands.mGet(group) as Promise<Array<string | null>>;
    return this.kind === 'cluster' ? readBySlot(keys, mGet) : mGet([...keys]);
  }

  evalScript(source: string, sha1: string, keys: string[], args: string[]): Promise<unknown> {
    const options = { keys, arguments: args };
    return this.#scripts.run(
      sha1,
      () => this.#commands.evalSha(sha1, options),
      () => this.#commands.eval(source, options),
    );
  }

  async unlink(keys: string[]): Promise<number> {
    return Number(await this.#commands.unlink(keys));
  }

  isReady(): boolean {
    return (this.client as Readiness).isReady !== false;
  }

  isOpen(): boolean {
    return (this.client as Readiness).isOpen !== false;
  }

  onceOpen(listener: () => void): () => void {
    const emitter = this.client as Readiness;
    if (typeof emitter.once !== 'function') return () => {};
    emitter.once('connect', listener);
    return () => emitter.off?.('connect', listener);
  }

  /** A client and a sentinel emit `'end'`, a cluster `'disconnect'` (it has no `'end'`). */
  onClosed(listener: () => void): () => void {
    return listenForClose(this.client as ClosingEmitter, this.kind === 'cluster' ? 'disconnect' : 'end', listener);
  }

  listenForReleases(releases: Releases): Closable | undefined {
    const broadcast = new ReleaseSubscriber(this.client, this.kind, releases);
    if (this.kind !== 'cluster') return broadcast;
    const cluster = this.client as unknown as ClusterLike & ShardedPubSub;
    // Until the masters are known to speak sharded pub/sub, releases go to the one channel.
    return this.#releases.follow(
      broadcast,
      speaksShardedPubSub(cluster),
      () => new ShardedReleaseSubscriber(cluster, releases),
    );
  }

  announcement(key: string): Announcement {
    return this.#releases.announcement(key);
  }

  listenForRelease(key: string): { ready: Promise<void> | undefined; stop(): void } | undefined {
    return this.#releases.listen(key);
  }

  startTracking(onGaveUp: () => void): TrackingSource | undefined {
    if (this.kind === 'cluster') return clusterTracking(this.client as ClusterLike);
    if (this.kind === 'sentinel') return sentinelTracking(this.client as unknown as SentinelLike);
    // A client not open yet (or closed for good): its tracking connects when (if ever) it opens.
    const whenOpen = this.isOpen() ? undefined : (connect: () => void) => void this.onceOpen(connect);
    return startTracking(this.client, this.kind, onGaveUp, whenOpen);
  }
}

/** A node-redis cluster's sharded pub/sub. */
interface ShardedPubSub {
  sSubscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  sUnsubscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
}

/** Whether the cluster's masters are Redis 7 or later (`SPUBLISH`), asked of the first one. */
async function speaksShardedPubSub(cluster: ClusterLike & Partial<ShardedPubSub>): Promise<boolean> {
  if (typeof cluster.sSubscribe !== 'function' || cluster.masters.length === 0) return false;
  try {
    const node = (await cluster.nodeClient(cluster.masters[0] as never)) as unknown as {
      info(section: string): Promise<unknown>;
    };
    const version = /redis_version:(\d+)/.exec(String(await node.info('server')))?.[1];
    return Number(version) >= 7;
  } catch {
    return false;
  }
}
