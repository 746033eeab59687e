import { EventEmitter } from 'node:events';
import type { ClientKind } from './driver';
import { follow, type IoredisLike, ownConnection } from './ioredis-client';
import { databaseOf, ServerTracking, type TrackingConnection } from './tracking';

/** The channel on which Redis sends a RESP2 client's invalidations (`CLIENT TRACKING ... REDIRECT`). */
const INVALIDATIONS = '__redis__:invalidate';

/** The members of an ioredis `Redis` connection used here. */
interface Connection {
  readonly status: string;
  on(event: 'messageBuffer', listener: (channel: Buffer, message: unknown) => void): unknown;
  on(event: 'ready' | 'close' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'end', listener: () => void): unknown;
  /** The socket of the current (or last) connection. */
  readonly stream?: { readonly remoteAddress?: string; readonly remotePort?: number };
  connect(): Promise<unknown>;
  call(command: string, ...args: string[]): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  disconnect(): void;
}

/** Any command, on an ioredis `Redis`. */
interface Callable {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** The events of the user's `Redis` (with `sentinels`) that the tracking follows. */
interface ClientEvents {
  on(event: 'ready' | 'close', listener: () => void): unknown;
  off(event: 'ready' | 'close', listener: () => void): unknown;
}

/** The server a ready connection talks to (`address:port`); undefined while it is not ready. */
function serverOf(connection: { readonly status: string }): string | undefined {
  const { stream } = connection as Pick<Connection, 'stream'>;
  if (connection.status !== 'ready' || stream?.remotePort === undefined) return undefined;
  return `${stream.remoteAddress}:${stream.remotePort}`;
}

/**
 * The connection {@link ServerTracking} expects, made of two ioredis connections, since ioredis
 * speaks RESP2 (or, in 6.x, drops RESP3 `invalidate` pushes): a listener subscribed to
 * `__redis__:invalidate`, and a control connection whose `CLIENT TRACKING ON ...` gets
 * `REDIRECT <the listener's id>` added, so that Redis sends the changes to the listener. The tier's
 * reads go on the control connection: the changes of the keys read there are sent
 * to the listener, so a change and the reply to a read arrive on two sockets, in either order (the
 * tier's rule covers both).
 *
 * `'ready'` is emitted once both are up and the listener is subscribed under a known id, again
 * whenever either comes back (so tracking is set up anew, redirected to the listener's new id);
 * either one closing is an `'error'` (tracking is down until the next `'ready'`). Both connect, and
 * connect again, with the user's object ({@link follow}); they end when the store closes them (it
 * does when the user closes their object).
 *
 * Over a Sentinel group the three connections (the user's, and these two) each ask the sentinels for
 * the master, and need not land on the same server: after `SENTINEL FAILOVER` the old master goes on
 * answering as a master until the sentinels demote it (about 10 s), and a connection stays there
 * until it drops. Changes are heard only while both are on the server the user's `Redis` reads from,
 * and the control connection is made with ioredis's `failoverDetector`, so that it drops when the
 * sentinels switch masters (the tier is emptied and bypassed from then on, not served from the old
 * master while the new one takes writes) and connects again to the new master.
 */
class RedirectedConnection extends EventEmitter implements TrackingConnection {
  readonly #client: IoredisLike;
  readonly #control: Connection;
  readonly #listener: Connection;
  #stopFollowing: Array<() => void> = [];
  /** The listener's client id while it is subscribed; undefined while it is not. */
  #redirectTo: string | undefined;
  /** Bumped whenever the listener closes: a subscription begun earlier is stale. */
  #listenerEpoch = 0;
  #ended = false;
  /** Over a Sentinel group: stops following the user's `Redis` from one server to another. */
  #stopFollowingServer: (() => void) | undefined;

  constructor(client: IoredisLike, kind: ClientKind) {
    super();
    this.#client = client;
    // No offline queue: a command is sent on the connection it was meant for or fails at once. A drop
    // ends the connection (it never retries by itself), failing the commands in flight with it.
    const own = { enableOfflineQueue: false };
    const overSentinels = kind === 'sentinel';
    this.#control = ownConnection<Connection>(
      client,
      'client',
      overSentinels ? { ...own, failoverDetector: true } : own,
    );
    // RESP2, so that invalidations arrive as pub/sub messages; subscribed again by hand, on 'ready',
    // to learn its new id first.
    this.#listener = ownConnection<Connection>(client, 'client', { ...own, protocol: 2, autoResubscribe: false });
    this.#listener.on('messageBuffer', (channel, message) => {
      if (channel.toString() !== INVALIDATIONS) return;
      if (message === null) this.emit('invalidate', null);
      else if (Array.isArray(message)) for (const key of message) this.emit('invalidate', key);
    });
    this.#listener.on('ready', () => this.#subscribe());
    this.#control.on('ready', () => this.#readyIfBoth());
    this.#listener.on('close', () => {
      this.#listenerEpoch++;
      this.#redirectTo = undefined;
    });
    for (const connection of [this.#control, this.#listener]) {
      connection.on('close', () => this.#emitError(new Error('cache-memoize: a tracking connection closed')));
      connection.on('error', (error) => this.#emitError(error));
    }
    if (overSentinels) this.#stopFollowingServer = this.#followServer();
  }

  /** Both connections up, the listener subscribed, and (over a Sentinel group) both on the user's server. */
  get isReady(): boolean {
    return (
      this.#redirectTo !== undefined &&
      this.#control.status === 'ready' &&
      this.#listener.status === 'ready' &&
      (this.#stopFollowingServer === undefined || this.#onClientServer())
    );
  }

  /** Both connections are on the server the user's `Redis` is connected to now. */
  #onClientServer(): boolean {
    const server = serverOf(this.#client);
    return server !== undefined && serverOf(this.#control) === server && serverOf(this.#listener) === server;
  }

  /**
   * Tracking is down while the user's `Redis` is disconnected (it may come back on another server),
   * and set up again once it is ready and both connections are on its server.
   */
  #followServer(): () => void {
    const client = this.#client as unknown as ClientEvents;
    const closed = () => this.#emitError(new Error("cache-memoize: the client's connection closed"));
    const ready = () => this.#readyIfBoth();
    client.on('close', closed);
    client.on('ready', ready);
    return () => {
      client.off('close', closed);
      client.off('ready', ready);
    };
  }

  /**
   * Disconnects each of the two connections that is on another server than the user's ready `Redis`:
   * it connects again ({@link follow}), to the master the sentinels name then.
   */
  #leaveOtherServers(): void {
    const server = serverOf(this.#client);
    if (server === undefined) return;
    for (const connection of [this.#control, this.#listener]) {
      const at = serverOf(connection);
      if (at !== undefined && at !== server) connection.disconnect();
    }
  }

  /** Connects both, and connects them again whenever they end, with the user's object ({@link follow}). */
  connect(): Promise<unknown> {
    if (this.#stopFollowing.length === 0 && !this.#ended) {
      this.#stopFollowing = [follow(this.#client, this.#control), follow(this.#client, this.#listener)];
    }
    return Promise.resolve();
  }

  /** Sends `args` on the control connection, redirecting a `CLIENT TRACKING ON` to the listener. */
  sendCommand(args: string[]): Promise<unknown> {
    const [command = '', ...rest] = args;
    if (command === 'CLIENT' && rest[0] === 'TRACKING' && rest[1] === 'ON') {
      if (this.#redirectTo === undefined) {
        return Promise.reject(new Error('cache-memoize: the invalidation listener is not subscribed'));
      }
      return this.#control.call(command, 'TRACKING', 'ON', 'REDIRECT', this.#redirectTo, ...rest.slice(2));
    }
    return this.#control.call(command, ...rest);
  }

  destroy(): void {
    this.#ended = true;
    this.#stopFollowingServer?.();
    for (const stop of this.#stopFollowing) stop();
    for (const connection of [this.#control, this.#listener]) {
      try {
        connection.disconnect();
      } catch {
        // Already closed.
      }
    }
  }

  /** The listener is up: learns its id, subscribes, and tells the tracking once the control is up too. */
  async #subscribe(): Promise<void> {
    const epoch = this.#listenerEpoch;
    try {
      const id = String(await this.#listener.call('CLIENT', 'ID'));
      await this.#listener.subscribe(INVALIDATIONS);
      if (epoch !== this.#listenerEpoch || this.#ended) return;
      this.#redirectTo = id;
      this.#readyIfBoth();
    } catch (error) {
      // A refusal (an ACL without CLIENT or the channel) ends tracking; a drop comes back with 'ready'.
      if (epoch === this.#listenerEpoch) this.#emitError(error);
    }
  }

  #readyIfBoth(): void {
    if (this.#ended) return;
    if (this.#stopFollowingServer !== undefined) this.#leaveOtherServers();
    if (this.isReady) this.emit('ready');
  }

  #emitError(error: unknown): void {
    if (!this.#ended) this.emit('error', error);
  }
}

/**
 * Starts tracking for an ioredis or iovalkey `Redis` (also one with `sentinels`, whose connections
 * follow the master) on two connections of its own; `undefined` for a cluster, whose keys live on
 * several servers. The connections never give up by themselves (they follow the user's object, whose
 * close the store hears), so `onGaveUp` is not called.
 */
export function startIoredisTracking(
  client: IoredisLike,
  kind: ClientKind,
  onGaveUp: () => void,
  /** Whether the control connection follows the database `client` uses now (not a cluster's node: database 0 only). */
  followsDatabase = true,
): ServerTracking | undefined {
  if (kind === 'cluster') return undefined;
  const connection = new RedirectedConnection(client, kind);
  const call = (client as Partial<Callable>).call?.bind(client);
  const database = call === undefined || !followsDatabase ? undefined : databaseOf(() => call('CLIENT', 'INFO'));
  // No handshake to check: tracking is turned on by ServerTracking itself, redirected. The tier reads
  // what it keeps on the control connection, and only those keys are pushed.
  const tracking = new ServerTracking(connection, onGaveUp, { checkHandshake: false, database });
  connection.connect();
  return tracking;
}
