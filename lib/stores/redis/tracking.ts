import { MemoizeError } from '../../errors';
import { ChangeFeed } from '../change-feed';
import type { ChangeListener, TaggedValue, Tracking } from '../store';
import { readTaggedThrough } from '../tag-stamp';
import type { ClientKind } from './driver';
import { isNoPermission, isUnknownCommand, replyText } from './replies';

/**
 * The connection that hears changes: a node-redis (5.9 or later) client in RESP3 with
 * `emitInvalidate`, or anything that behaves like one (the ioredis driver's pair of connections).
 */
export interface TrackingConnection {
  readonly isReady?: boolean;
  on(event: 'invalidate', listener: (key: Buffer | string | null) => void): unknown;
  on(event: 'ready' | 'end' | 'terminated', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  unref?(): void;
  connect(): Promise<unknown>;
  /** `options.timeout: 0`: no per-command timer of the client's own (the memoizer's deadline bounds the reads). */
  sendCommand(args: string[], options?: { timeout?: number }): Promise<unknown>;
  destroy(): void;
}

/** Options of {@link ServerTracking}. */
export interface ServerTrackingOptions {
  /**
   * Whether a new connection must show tracking already on before it is used: node-redis turns it
   * on in its handshake only when it can deliver `'invalidate'` events, so a connection without it is
   * from a node-redis that cannot. A connection that hears changes some other way skips the check.
   * @default true
   */
  checkHandshake?: boolean;
  /**
   * The database the user's client uses now, which the tracking connection then selects before it
   * is trusted (its own `database` option is the one the client was made with, not one chosen
   * later with `SELECT`).
   */
  database?: () => Promise<number>;
}

/**
 * The database a client uses now (one chosen with `SELECT` after it was made too), read from
 * `CLIENT INFO` (Redis 6.2, as tracking) sent by `clientInfo` on the client itself.
 */
export function databaseOf(clientInfo: () => Promise<unknown>): () => Promise<number> {
  return async () => Number(/\bdb=(\d+)/.exec(replyText(await clientInfo()))?.[1] ?? '0');
}

/** What a client must offer to be tracked: node-redis `duplicate()`. */
interface Trackable {
  duplicate?(overrides: object): TrackingConnection;
  sendCommand?(args: string[]): Promise<unknown>;
}

const UNSUPPORTED =
  'cache-memoize: the local tier cannot hear changes from Redis (it needs a Redis server 6.2 or later, a user ' +
  'allowed to run CLIENT (with ioredis, also to SUBSCRIBE to __redis__:invalidate), and node-redis 5.9 or ' +
  "later for RESP3 'invalidate' events); calls read Redis instead";

const RETRY_MS = 1000;

// node-redis gives each command a timer of its own by default (an AbortSignal); the reads made here
// run under the memoizer's deadline instead, as the store's own reads do.
const NO_TIMEOUT = { timeout: 0 };

/**
 * A refusal that the next connection would get too: the user may not run CLIENT, or the server has
 * no tracking (before Redis 6.2 it does not know CLIENT TRACKINGINFO). Other error replies (say,
 * `ERR max number of clients reached`) pass.
 */
function isRefusal(error: unknown): boolean {
  return isNoPermission(error) || isUnknownCommand(error);
}

/** The flags of a `CLIENT TRACKINGINFO` reply, whatever type mapping the connection uses. */
function trackingFlags(info: unknown): string[] {
  let flags: unknown;
  if (info instanceof Map) flags = info.get('flags');
  else if (Array.isArray(info)) flags = info[info.findIndex((item) => String(item) === 'flags') + 1];
  else if (typeof info === 'object' && info !== null) flags = (info as { flags?: unknown }).flags;
  return Array.isArray(flags) ? flags.map(String) : [];
}

/**
 * Redis client tracking on a connection of its own per client, in Redis's default mode: Redis pushes
 * the changes (write, delete, expiry, eviction, by any client) of the keys read on this connection
 * since their last push, and nothing else. The local tier reads what it keeps here
 * ({@link ServerTracking.read}), so a process hears only the entries it read, and writes elsewhere
 * are checked against no prefix. On a RESP3 connection a push and the reply to the read it follows
 * share it, in the order Redis applied them; the ioredis pair gets pushes on its listener, in either
 * order with the replies (the tier's rule covers both). The feed routes the value keys (and tag keys)
 * pushed to their watchers.
 *
 * Changes are only trusted while the server has confirmed tracking on the current connection; when
 * the connection drops, every watcher is told "anything changed" and is not covered until tracking
 * is set up again on the new connection.
 */
export class ServerTracking implements Tracking {
  readonly #feed = new ChangeFeed();
  readonly #connection: TrackingConnection;
  readonly #covered = new Set<string>();
  /** Bumped whenever the connection drops or comes back: answers from an older session are ignored. */
  #session = 0;
  /** Tracking on a new connection is unchecked (and in the handshake's default mode) until set up. */
  #fresh = true;
  #syncing = false;
  #closed = false;
  #failure: MemoizeError | undefined;
  readonly #checkHandshake: boolean;
  readonly #database: (() => Promise<number>) | undefined;
  /** The server confirmed default-mode tracking on the current connection. */
  #confirmed = false;

  constructor(
    connection: TrackingConnection,
    /** Called when the connection ended by itself (its reconnect strategy gave up). */
    onGaveUp: () => void = () => {},
    options: ServerTrackingOptions = {},
  ) {
    this.#connection = connection;
    this.#checkHandshake = options.checkHandshake ?? true;
    this.#database = options.database;
    connection.on('invalidate', (key) => {
      if (key === null) this.#feed.everything();
      else this.#feed.changed(typeof key === 'string' ? key : key.toString());
    });
    connection.on('error', (error) => {
      // An error reply while connecting is node-redis's handshake (CLIENT TRACKING ON) refused: an
      // ACL without CLIENT, a server without tracking. Reconnecting would only repeat it.
      if (connection.isReady === false && isRefusal(error)) {
        this.#fail(error);
        return;
      }
      this.#down();
      // node-redis also reports errors that leave the socket up (a failed ping): set up again.
      if (connection.isReady === true) this.#sync();
    });
    const ended = () => {
      this.#down();
      if (this.#closed) return;
      this.#closed = true;
      onGaveUp();
    };
    connection.on('end', ended);
    // node-redis 6: the reconnect strategy gave up; the connection is unusable from here on.
    connection.on('terminated', ended);
    connection.on('ready', () => {
      this.#down();
      this.#sync();
    });
  }

  /** Routes the changes of the keys under `functionPrefix` read here to `listener`. */
  watch(functionPrefix: string, listener: ChangeListener): () => void {
    const remove = this.#feed.add(functionPrefix, listener);
    this.#recompute();
    this.#sync();
    return remove;
  }

  covers(functionPrefix: string): boolean {
    return this.#covered.has(functionPrefix);
  }

  /** The value at `key`, read on the tracking connection, so that its next change is pushed here. */
  readonly read = async (key: string): Promise<string | null> => {
    const reply = await this.#connection.sendCommand(['GET', key], NO_TIMEOUT);
    return reply === null || reply === undefined ? null : replyText(reply);
  };

  /** The values of `keys` (in one hash slot, on a cluster's master), in one `MGET` here. */
  readonly readKeys = async (keys: string[]): Promise<Array<string | null>> =>
    ((await this.#connection.sendCommand(['MGET', ...keys], NO_TIMEOUT)) as unknown[]).map((e) =>
      e === null || e === undefined ? null : replyText(e),
    );

  /**
   * A tagged entry, its stamp and its tag keys read here, and checked ({@link readTaggedThrough}: a
   * fixed tags list's keys in the same round trip as the value).
   */
  readonly readTagged = (key: string, expected?: readonly string[]): Promise<TaggedValue | undefined> =>
    readTaggedThrough(this.readKeys, key, expected);

  /** Why tracking stopped for good; each local tier reports it to its function's `onError`. */
  get failure(): MemoizeError | undefined {
    return this.#failure;
  }

  /** Closed for good: failed, or its client ended (a client connected again gets a new tracking). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops tracking for good and closes its connection (the client or the store closed). */
  close(): void {
    this.#closed = true;
    this.#down();
    try {
      this.#connection.destroy();
    } catch {
      // Already closed.
    }
  }

  #down(): void {
    this.#session++;
    this.#fresh = true;
    if (this.#confirmed) {
      this.#confirmed = false;
      this.#recompute();
    }
  }

  /** Sets tracking up on a new connection. */
  #sync(): void {
    if (this.#syncing || this.#closed || this.#connection.isReady === false) return;
    const session = this.#session;
    this.#syncing = true;
    let retry = true;
    this.#step(session)
      .catch((error: unknown) => {
        retry = false;
        // An answer to a command sent before a reconnect says nothing about the new connection.
        if (session !== this.#session) return;
        // An error reply (ACL, a server without tracking) will not go away by itself.
        if (isRefusal(error)) this.#fail(error);
        // A dropped connection comes back with 'ready'; anything else is retried after a pause.
        else setTimeout(() => this.#sync(), RETRY_MS).unref();
      })
      .finally(() => {
        this.#syncing = false;
        if (retry && this.#fresh) this.#sync();
      });
  }

  async #step(session: number): Promise<void> {
    if (!this.#fresh) return;
    const send = (args: string[]) => this.#connection.sendCommand(args);
    let flags: string[] = [];
    if (this.#checkHandshake) {
      // node-redis turns tracking on (default mode) in the handshake only if it supports emitInvalidate.
      flags = trackingFlags(await send(['CLIENT', 'TRACKINGINFO']));
      if (session !== this.#session) return;
      if (!flags.includes('on')) {
        this.#fail(undefined);
        return;
      }
    }
    // The handshake's default mode is the one wanted: every read from here on is tracked. A
    // connection in another mode (an earlier session's), or one whose mode is unknown (without the
    // handshake), is switched to it.
    if (!this.#checkHandshake || flags.some((f) => f === 'bcast' || f === 'optin' || f === 'optout')) {
      await send(['CLIENT', 'TRACKING', 'OFF']);
      await send(['CLIENT', 'TRACKING', 'ON']);
      if (session !== this.#session) return;
    }
    // Reads go where the user's client reads (tracking itself does not care which database).
    if (this.#database !== undefined) {
      const database = await this.#database();
      if (session !== this.#session) return;
      await send(['SELECT', String(database)]);
      if (session !== this.#session) return;
    }
    this.#fresh = false;
    this.#confirmed = true;
    this.#recompute();
  }

  /** Recomputes which watched function prefixes are covered; those that changed either way hear `null`. */
  #recompute(): void {
    const flipped: string[] = [];
    for (const prefix of this.#feed.prefixes()) {
      const covered = this.#confirmed;
      if (covered === this.#covered.has(prefix)) continue;
      if (covered) this.#covered.add(prefix);
      else this.#covered.delete(prefix);
      flipped.push(prefix);
    }
    this.#feed.everything(flipped);
  }

  #fail(cause: unknown): void {
    this.#failure = new MemoizeError('E_NO_TRACKING', UNSUPPORTED, { cause });
    this.close();
  }
}

/**
 * Starts tracking for a plain node-redis client on a connection of its own; `undefined` for what
 * cannot be tracked this way: a cluster (its keys live on several servers), a sentinel, or an object
 * without `duplicate`. `onGaveUp` is told when the connection ended by itself. With `whenOpen`, the
 * connection connects only once the user's client is open: a client closed for good never opens one.
 */
export function startTracking(
  client: object,
  kind: ClientKind,
  onGaveUp: () => void,
  whenOpen?: (connect: () => void) => void,
  /**
   * Whether the tracking connection follows the database `client` uses now (`CLIENT INFO` on it each
   * time it connects). `false` for a client lent for a moment (a sentinel object's) or one that only
   * has database 0 (a cluster's node): the connection then keeps the database it was made with.
   */
  followsDatabase = true,
): ServerTracking | undefined {
  const trackable = client as Trackable;
  if (kind !== 'client' || typeof trackable.duplicate !== 'function') return undefined;
  let connection: TrackingConnection;
  try {
    // node-redis refuses emitInvalidate next to its own client-side cache, which this replaces.
    connection = trackable.duplicate({ RESP: 3, emitInvalidate: true, clientSideCache: undefined });
  } catch {
    return undefined;
  }
  const send = trackable.sendCommand?.bind(client);
  const database = send === undefined || !followsDatabase ? undefined : databaseOf(() => send(['CLIENT', 'INFO']));
  const tracking = new ServerTracking(connection, onGaveUp, { database });
  connection.unref?.();
  // Failures arrive as 'error' events, and node-redis keeps reconnecting.
  const connect = () => {
    if (!tracking.closed) connection.connect().catch(() => {});
  };
  if (whenOpen === undefined) connect();
  else whenOpen(connect);
  return tracking;
}
