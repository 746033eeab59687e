import type { Releases } from '../releases';
import type { ClientKind, Closable } from './driver';
import { type IoredisLike, ownConnection, whenOpen } from './ioredis-client';
import { RELEASE_CHANNEL } from './scripts';

/** The members of an ioredis `Redis` or `Cluster` that a subscriber uses. */
interface Subscriber {
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  disconnect(): void;
}

/**
 * Hears the lock releases that the store's scripts announce over an ioredis or iovalkey object, and
 * wakes the calls waiting for them.
 *
 * A subscribed connection cannot run commands, so this is always one of its own, made with
 * `duplicate()`: a second connection for a `Redis`, a second `Cluster` for a cluster (whose
 * subscriber connection goes to one of its nodes, where every node's publishes arrive). Subscribing
 * through the user's own cluster would hand these messages to the user's `'message'` listeners.
 *
 * It subscribes on every `'ready'`, so a connection that comes back, or that was not up when the
 * store started, is subscribed again. A drop or an error wakes every waiter to check for itself.
 * The user closing their client closes this too (the store listens for it); nothing here outlives it.
 */
export class IoredisReleaseListener implements Closable {
  readonly #connection: Subscriber;
  readonly #stopWaiting: () => void;
  #closed = false;

  constructor(
    client: IoredisLike,
    kind: ClientKind,
    /** Where heard releases are announced. */
    readonly releases: Releases,
  ) {
    // Connected below once the user's object is open; a `Redis` subscribes again on every 'ready',
    // rather than by itself.
    const connection = ownConnection<Subscriber>(client, kind, kind === 'cluster' ? {} : { autoResubscribe: false });
    this.#connection = connection;
    const wake = () => this.releases.wakeAll();
    connection.on('error', wake);
    connection.on('close', wake);
    connection.on('message', (channel, message) => {
      if (channel === RELEASE_CHANNEL) this.releases.announce(message);
    });
    connection.on('ready', () => {
      if (!this.#closed) connection.subscribe(RELEASE_CHANNEL).catch(wake);
    });
    // Failures also arrive as 'error' events, and ioredis keeps reconnecting.
    this.#stopWaiting = whenOpen(client, () => connection.connect().catch(() => {}));
  }

  /** Stops hearing releases and closes the connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWaiting();
    this.releases.wakeAll();
    try {
      this.#connection.disconnect();
    } catch {
      // Already closed.
    }
  }
}
