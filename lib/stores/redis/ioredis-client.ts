import { performance } from 'node:perf_hooks';
import type { ClientKind } from './driver';

/**
 * What the store needs of an ioredis or iovalkey object (iovalkey shares ioredis's API), how it tells
 * a `Redis`, a `Redis` with `sentinels` and a `Cluster` apart, and how it makes connections of its
 * own like the user's. Nothing here imports ioredis: the objects are told apart by their shape.
 */

/**
 * The ioredis (or iovalkey) members the store calls, which `Redis` and `Cluster` objects of ioredis
 * 5.x and 6.x and of iovalkey have. Any object with these members works.
 */
export interface IoredisLike {
  /** `'ready'` while connected. */
  readonly status: string;
  get(key: string): Promise<string | null>;
  mget(...keys: string[]): Promise<Array<string | null>>;
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  unlink(...keys: string[]): Promise<number>;
  /** A new object with the same options: the store's own connections are made this way. */
  duplicate(...overrides: never[]): unknown;
}

/** The options the store reads: those that change which keys or which servers commands reach. */
export interface IoredisOptions {
  readonly keyPrefix?: string;
  readonly scaleReads?: unknown;
  readonly sentinels?: readonly unknown[];
  /** A cluster's options for each node's connection. */
  readonly redisOptions?: object;
}

/** Whether `client` is an ioredis or iovalkey `Redis` or `Cluster`, by the members only they have. */
export function isIoredis(client: unknown): client is IoredisLike {
  if (typeof client !== 'object' || client === null) return false;
  const shape = client as Record<string, unknown>;
  return (
    typeof shape.status === 'string' &&
    ['get', 'evalsha', 'eval', 'unlink', 'duplicate'].every((m) => typeof shape[m] === 'function')
  );
}

/** The options `client` was made with. */
export function optionsOf(client: IoredisLike): IoredisOptions {
  return (client as { options?: IoredisOptions }).options ?? {};
}

/** A `Cluster` has nodes; a `Redis` made with `sentinels` follows their master. */
export function ioredisKind(client: IoredisLike): ClientKind {
  const shape = client as { isCluster?: unknown; nodes?: unknown };
  if (shape.isCluster === true && typeof shape.nodes === 'function') return 'cluster';
  const sentinels = optionsOf(client).sentinels;
  return Array.isArray(sentinels) && sentinels.length > 0 ? 'sentinel' : 'client';
}

/** The user's object is open: connected (or connecting) by the user, and not closed. */
export function isOpen(client: IoredisLike): boolean {
  return client.status !== 'wait' && client.status !== 'end';
}

/** The events of the user's object that its followers wait for. */
interface Emitter {
  once(event: 'connect' | 'ready', listener: () => void): unknown;
  off(event: 'connect' | 'ready', listener: () => void): unknown;
}

/** What a connection of the store's own offers its follower. */
export interface OwnConnection {
  connect(): Promise<unknown>;
  on(event: 'end' | 'ready', listener: () => void): unknown;
  off(event: 'end' | 'ready', listener: () => void): unknown;
}

/** Calls `listener` once on `event` of the user's object; returns the way to stop waiting. */
function onceOn(client: IoredisLike, event: 'connect' | 'ready', listener: () => void): () => void {
  const emitter = client as unknown as Emitter;
  emitter.once(event, listener);
  return () => emitter.off(event, listener);
}

/**
 * How long a connection of the store's own that ended waits to connect again, while the user's
 * object is up: a moment after it had been up a while (a server killing connections, or a failover,
 * usually drops the user's connection in the same instant, and the user's object may not have seen
 * it yet), and a pause after one that did not stay up (a server refusing it must not be hammered).
 */
const RECONNECT_SOON_MS = 20;
const RECONNECT_MS = 500;

/**
 * Keeps `connection` (made by {@link ownConnection}, which never retries by itself) connected while
 * the user's object is. It connects once the user's object is open (so nothing opens for a
 * `lazyConnect` client the user never connects, or one already closed), and again whenever it ends:
 * soon if the user's object is ready then (after a pause if it ended without staying up), else once
 * the user's object is ready again.
 *
 * ioredis emits nothing when its user disconnects it while it is reconnecting (Redis down), so a
 * connection that retried by itself could outlive its user's object and keep the process alive; one
 * that follows the user's object stops with it. Returns the way to stop following.
 */
export function follow(client: IoredisLike, connection: OwnConnection): () => void {
  let following = true;
  let timer: NodeJS.Timeout | undefined;
  let stopWaiting = () => {};
  /** When the connection was last ready, if it has been since the last connect. */
  let readyAt: number | undefined;
  const ready = () => {
    readyAt = performance.now();
  };
  const connect = () => {
    timer = undefined;
    readyAt = undefined;
    // Failures arrive as 'error' and 'end' events.
    if (following) connection.connect().catch(() => {});
  };
  const again = () => {
    if (!following) return;
    if (client.status === 'ready') {
      const stayedUp = readyAt !== undefined && performance.now() - readyAt >= RECONNECT_MS;
      timer = setTimeout(connect, stayedUp ? RECONNECT_SOON_MS : RECONNECT_MS);
    } else stopWaiting = onceOn(client, 'ready', connect);
  };
  connection.on('ready', ready);
  connection.on('end', again);
  if (client.status !== 'wait' && client.status !== 'end') connect();
  else stopWaiting = onceOn(client, 'connect', connect);
  return () => {
    following = false;
    clearTimeout(timer);
    stopWaiting();
    connection.off('ready', ready);
    connection.off('end', again);
  };
}

/**
 * How long a connection of the store's own waits for its socket to close before destroying it. When
 * a connection is closed while its ready check is failing (the user closed the client right after
 * starting), ioredis arms this timer for a socket already closed, and the timer keeps the process
 * alive until it runs out (2 s by default).
 */
const DISCONNECT_TIMEOUT_MS = 100;

/**
 * A connection of the store's own, made like the user's object (`duplicate()`: a `Redis` for a
 * `Redis`, a `Cluster` for a cluster) with `overrides`: not connected, and never reconnecting by
 * itself ({@link follow} does both).
 */
export function ownConnection<T>(client: IoredisLike, kind: ClientKind, overrides: object = {}): T {
  if (kind === 'cluster') {
    const { redisOptions } = optionsOf(client);
    const options = {
      lazyConnect: true,
      clusterRetryStrategy: null,
      ...overrides,
      redisOptions: { ...redisOptions, disconnectTimeout: DISCONNECT_TIMEOUT_MS },
    };
    return (client.duplicate as (nodes: unknown[], options: object) => T).call(client, [], options);
  }
  const options = { lazyConnect: true, retryStrategy: null, disconnectTimeout: DISCONNECT_TIMEOUT_MS, ...overrides };
  return (client.duplicate as (options: object) => T).call(client, options);
}
