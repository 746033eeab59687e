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

/**
 * Runs `start` now if the user's object is open, else once it connects: the store's own connections
 * never open for an object the user has not connected (a `lazyConnect` client that is never used) or
 * has closed, where nothing would ever close them. Returns the way to stop waiting.
 */
export function whenOpen(client: IoredisLike, start: () => void): () => void {
  if (isOpen(client)) {
    start();
    return () => {};
  }
  const emitter = client as unknown as {
    once(event: 'connect', listener: () => void): unknown;
    off(event: 'connect', listener: () => void): unknown;
  };
  emitter.once('connect', start);
  return () => emitter.off('connect', start);
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
 * `Redis`, a `Cluster` for a cluster) with `overrides`, and not connected until its owner connects it.
 */
export function ownConnection<T>(client: IoredisLike, kind: ClientKind, overrides: object = {}): T {
  if (kind === 'cluster') {
    const { redisOptions } = optionsOf(client);
    const options = {
      lazyConnect: true,
      ...overrides,
      redisOptions: { ...redisOptions, disconnectTimeout: DISCONNECT_TIMEOUT_MS },
    };
    return (client.duplicate as (nodes: unknown[], options: object) => T).call(client, [], options);
  }
  const options = { lazyConnect: true, disconnectTimeout: DISCONNECT_TIMEOUT_MS, ...overrides };
  return (client.duplicate as (options: object) => T).call(client, options);
}
