import keySlot from 'cluster-key-slot';
import type { Releases } from '../releases';
import { type ClosingEmitter, listenForClose } from './close-listener';
import type { ClientKind, Closable, RedisDriver, TrackingSource } from './driver';
import { type IoredisLike, ioredisKind, isOpen, optionsOf } from './ioredis-client';
import { IoredisReleaseListener } from './ioredis-releases';
import {
  IoredisShardedReleases,
  ioredisSpeaksShardedPubSub,
  routesShardedSubscriptions,
} from './ioredis-sharded-releases';
import { startIoredisTracking } from './ioredis-tracking';
import { PerMasterTracking } from './per-master-tracking';
import { ReleaseRouting } from './release-routing';
import { ScriptLoading } from './script-loading';
import type { Announcement } from './scripts';
import { circuitPerMaster, readBySlot } from './slots';

/** What only a `Cluster` has: its nodes, and the slot map (each slot's node keys, master first). */
/** Where an ioredis node connection points. */
interface NodeAddress {
  readonly options: { readonly host?: string; readonly port?: number };
}

/** A node of an ioredis cluster's pool, connected on demand. */
interface Connectable {
  connect(): Promise<unknown>;
}

interface ClusterShape {
  readonly isCluster?: boolean;
  readonly slots?: ReadonlyArray<readonly string[] | undefined>;
  nodes(role: 'master'): unknown[];
}

/**
 * Refuses options under which the store would silently go wrong: a `keyPrefix` is added to some keys
 * (commands) and not others (`SCAN` patterns, the keys tracking pushes, release messages), and a cluster
 * reading from replicas could serve a value after `invalidate` has returned.
 */
function refuseUnsafeOptions(client: IoredisLike, kind: ClientKind): void {
  const options = optionsOf(client);
  if (typeof options.keyPrefix === 'string' && options.keyPrefix !== '') {
    throw new TypeError(
      `RedisStore: the ioredis client has keyPrefix ${JSON.stringify(options.keyPrefix)}, which the cache cannot ` +
        "use; give it a client without one (client.duplicate({ keyPrefix: '' })) and use cache-memoize's own " +
        'keyPrefix option',
    );
  }
  if (kind === 'cluster' && options.scaleReads !== undefined && options.scaleReads !== 'master') {
    throw new TypeError(
      'RedisStore: the ioredis cluster reads from replicas (scaleReads), which may serve a value after ' +
        'invalidate() has returned; give it a cluster that reads from masters ' +
        "(cluster.duplicate([], { scaleReads: 'master' }))",
    );
  }
}

/**
 * The {@link RedisDriver} over an ioredis `Redis` (also one made with the `sentinels` option) or
 * `Cluster`, 5.x and 6.x, or the same classes of iovalkey, which shares their API.
 */
export class IoredisDriver implements RedisDriver {
  readonly kind: ClientKind;
  readonly circuitKeyFor: ((key: string) => object) | undefined;
  readonly #releases = new ReleaseRouting();
  readonly #scripts = new ScriptLoading();

  /** @throws TypeError for a client with a `keyPrefix`, or a cluster that reads from replicas. */
  constructor(readonly client: IoredisLike) {
    this.kind = ioredisKind(client);
    refuseUnsafeOptions(client, this.kind);
    if (this.kind === 'cluster') {
      const cluster = client as unknown as ClusterShape;
      this.circuitKeyFor = circuitPerMaster((slot) => cluster.slots?.[slot]?.[0], client);
    }
  }

  get(key: string): Promise<string | null> {
    // ioredis has no per-command timeout of its own to switch off: the library's deadline bounds it.
    return this.client.get(key);
  }

  getMany(keys: readonly string[]): Promise<Array<string | null>> {
    const mget = (group: string[]) => this.client.mget(...group);
    return this.kind === 'cluster' ? readBySlot(keys, mget) : mget([...keys]);
  }

  evalScript(source: string, sha1: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#scripts.run(
      sha1,
      () => this.client.evalsha(sha1, keys.length, ...keys, ...args),
      () => this.client.eval(source, keys.length, ...keys, ...args),
    );
  }

  async unlink(keys: string[]): Promise<number> {
    return Number(await this.client.unlink(...keys));
  }

  isReady(): boolean {
    return this.client.status === 'ready';
  }

  isOpen(): boolean {
    return isOpen(this.client);
  }

  onceOpen(listener: () => void): () => void {
    const emitter = this.client as unknown as {
      once(event: 'connect', listener: () => void): unknown;
      off(event: 'connect', listener: () => void): unknown;
    };
    emitter.once('connect', listener);
    return () => emitter.off('connect', listener);
  }

  /** A `Redis` and a `Cluster` both emit `'end'` once closed for good (`quit()`, `disconnect()`). */
  onClosed(listener: () => void): () => void {
    return listenForClose(this.client as unknown as ClosingEmitter, 'end', listener);
  }

  /**
   * One release channel, or on a cluster of Redis 7 or later whose ioredis routes sharded
   * subscriptions, each waited entry's sharded channel ({@link IoredisShardedReleases}).
   */
  listenForReleases(releases: Releases): Closable | undefined {
    const broadcast = new IoredisReleaseListener(this.client, this.kind, releases);
    if (this.kind !== 'cluster' || !routesShardedSubscriptions(this.client)) return broadcast;
    // Until the masters are known to speak sharded pub/sub, releases go to the one channel.
    return this.#releases.follow(broadcast, ioredisSpeaksShardedPubSub(this.client), () =>
      isOpen(this.client) ? new IoredisShardedReleases(this.client, releases) : undefined,
    );
  }

  announcement(key: string): Announcement {
    return this.#releases.announcement(key);
  }

  listenForRelease(key: string): { ready: Promise<void> | undefined; stop(): void } | undefined {
    return this.#releases.listen(key);
  }

  startTracking(onGaveUp: () => void): TrackingSource | undefined {
    if (this.kind !== 'cluster') return startIoredisTracking(this.client, this.kind, onGaveUp);
    // One tracking per master, on duplicates of the cluster's own connection to it.
    const cluster = this.client as unknown as ClusterShape;
    const masters = () => cluster.nodes('master') as unknown as Array<IoredisLike & NodeAddress>;
    const addressOf = (node: NodeAddress) => `${node.options.host}:${node.options.port}`;
    return new PerMasterTracking({
      masters: () => masters().map(addressOf),
      track: (address) => {
        const node = masters().find((m) => addressOf(m) === address);
        if (node === undefined) return undefined;
        // ioredis connects a master's node at its first command there; its tracking connections wait
        // for that, so one this process has only read nothing from yet would never cover. Connect it.
        if (node.status === 'wait') (node as unknown as Connectable).connect().catch(() => {});
        return startIoredisTracking(node, 'client', () => {}, false);
      },
      onTopologyChange: (listener) => listenForClose(this.client as unknown as ClosingEmitter, 'refresh', listener),
      // Each read goes to the tracking of the master serving its slot now.
      masterOf: (key) => cluster.slots?.[keySlot(key)]?.[0],
    });
  }
}
