import type { Releases } from '../releases';
import type { ClientKind, Closable } from './driver';
import { follow, type IoredisLike, ownConnection } from './ioredis-client';
import { RELEASE_CHANNEL } from './scripts';

/** The members of an ioredis `Redis` or `Cluster` that a subscriber uses. */
interface Subscriber {
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready' | 'close' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'end', listener: () => void): unknown;
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
 * store started, is subscribed again. A drop, an error and each subscription in place wake every
 * waiter to check for itself.
 * The user closing their client closes this too (the store listens for it); nothing here outlives it.
 */
export class IoredisReleaseListener implements Closable {
  readonly #connection: Subscriber;
  readonly #stopFollowing: () => void;
  #closed = false;

  constructor(
    client: IoredisLike,
    kind: ClientKind,
    /** Where heard releases are announced. */
    readonly releases: Releases,
  ) {
    // Connected, and connected again, with the user's object (follow); subscribed on every 'ready'.
    const connection = ownConnection<Subscriber>(client, kind, kind === 'cluster' ? {} : { autoResubscribe: false });
    this.#connection = connection;
    const wake = () => this.releases.wakeAll();
    connection.on('error', wake);
    connection.on('close', wake);
    connection.on('message', (channel, message) => {
      if (channel === RELEASE_CHANNEL) this.releases.announce(message);
    });
    // A release published while the connection was down is lost: once subscribed again, every
    // waiter checks for itself rather than sleep out its poll.
    connection.on('ready', () => {
      if (!this.#closed) connection.subscribe(RELEASE_CHANNEL).then(wake, wake);
    });
    this.#stopFollowing = follow(client, connection);
  }

  /** Stops hearing releases and closes the connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopFollowing();
    this.releases.wakeAll();
    try {
      this.#connection.disconnect();
    } catch {
      // Already closed.
    }
  }
}
