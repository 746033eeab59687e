import type { Releases } from '../releases';
import type { Tracking } from '../store';
import type { Announcement } from './scripts';

/** Which kind of deployment object the store was given. */
export type ClientKind = 'client' | 'cluster' | 'sentinel';

/** Something the store opened and must close. */
export interface Closable {
  close(): void;
}

/** The local tier's change notifications, over connections the driver opened. */
export interface TrackingSource extends Tracking, Closable {
  /**
   * With {@link Tracking.read}: the values of `keys`, all in one hash slot, read through this
   * tracking (one server's: one `MGET`), so that their changes are pushed to it.
   */
  readonly readKeys?: (keys: string[]) => Promise<Array<string | null>>;
}

/**
 * What {@link RedisStore} needs from one Redis client family (node-redis, ioredis): every command,
 * connection and event the store uses goes through here, so a new family is a new driver and
 * nothing else. Drivers never connect or quit the user's object.
 */
export interface RedisDriver {
  /** A single server, a cluster, or a sentinel-managed master. */
  readonly kind: ClientKind;
  /** The user's object: stores over the same one share its circuit. */
  readonly client: object;
  /** One `GET`; the hit path, so its promise is returned untouched. */
  get(key: string): Promise<string | null>;
  /**
   * The values of `keys`, in their order (`null` where there is none, or where the key holds another
   * type): one `MGET` per hash slot, all sent at once, so one round trip per server.
   */
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  /** Runs a script by its SHA-1, sending its source when the server does not have it cached. */
  evalScript(source: string, sha1: string, keys: string[], args: string[]): Promise<unknown>;
  /** `UNLINK` of keys that share one hash slot; resolves how many existed. */
  unlink(keys: string[]): Promise<number>;
  /** `false` while the object is not connected: calls then skip the store at once. */
  isReady(): boolean;
  /** `false` before the user connected the object, and after they closed it. */
  isOpen(): boolean;
  /** Calls `listener` once, the next time the object connects; returns the way to stop waiting. */
  onceOpen(listener: () => void): () => void;
  /** Calls `listener` when the user closes the object; returns the way to stop listening. */
  onClosed(listener: () => void): () => void;
  /**
   * Starts hearing lock releases, announcing each to `releases` (and waking every waiter when
   * releases may have been missed); `undefined` when this object cannot.
   */
  listenForReleases(releases: Releases): Closable | undefined;
  /**
   * How the scripts announce a release of `key`'s lock; without it, `PUBLISH` on the one release
   * channel.
   */
  announcement?(key: string): Announcement;
  /**
   * For announcements that need a subscription per entry (sharded pub/sub): hears `key`'s releases
   * until `stop()`; `ready` is set when a new subscription was started, resolving once it is in place.
   */
  listenForRelease?(key: string): { ready: Promise<void> | undefined; stop(): void } | undefined;
  /** Starts change tracking for the local tier; `undefined` when this object cannot have it. */
  startTracking(onGaveUp: () => void): TrackingSource | undefined;
  /**
   * A cluster's: the object standing for the master that serves `key` now (one per master address),
   * so that each master has a circuit of its own. Absent for a single server and a sentinel.
   */
  readonly circuitKeyFor?: ((key: string) => object) | undefined;
}
