import type { Releases } from '../releases';
import type { ClientKind } from './driver';
import { RELEASE_CHANNEL } from './scripts';

type Listener = (message: string) => void;

/** The pub/sub side of a node-redis object: a duplicate of a client, or a cluster or sentinel itself. */
interface PubSub {
  subscribe(channel: string, listener: Listener): Promise<unknown>;
  unsubscribe?(channel: string, listener: Listener): Promise<unknown>;
}

/** A second connection of a plain client (node-redis `duplicate()`). */
interface Connection extends PubSub {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  unref?(): void;
  connect(): Promise<unknown>;
  destroy(): void;
}

interface Retriable {
  once?(event: 'connect', listener: () => void): unknown;
}

interface Duplicable {
  duplicate?(): Connection;
}

/**
 * Hears the lock releases that the store's scripts announce, and wakes the calls waiting for them.
 *
 * A plain client cannot run commands while subscribed, so it gets a second connection of its own
 * (`duplicate()`, unref'd: it never keeps a process alive). A cluster and a sentinel keep a pub/sub
 * connection of their own, closed with them, so the subscription goes through the object itself.
 * A dropped connection wakes every waiter to check for itself; node-redis subscribes again when it
 * reconnects.
 */
export class ReleaseSubscriber {
  readonly #connection: Connection | undefined;
  readonly #pubSub: PubSub | undefined;
  readonly #listener: Listener = (message) => this.releases.announce(message);
  #closed = false;

  constructor(
    client: object,
    kind: ClientKind,
    /** Where heard releases are announced. */
    readonly releases: Releases,
  ) {
    try {
      if (kind === 'client') {
        const duplicate = (client as Duplicable).duplicate;
        if (typeof duplicate !== 'function') return;
        const connection = duplicate.call(client);
        connection.on('error', () => this.releases.wakeAll());
        connection.unref?.();
        this.#connection = connection;
        this.#pubSub = connection;
        connection
          .connect()
          .then(() => this.#subscribe())
          .catch(() => this.releases.wakeAll());
        return;
      }
      if (typeof (client as Partial<PubSub>).subscribe !== 'function') return;
      this.#pubSub = client as PubSub;
      // Not connected yet: subscribe once it is.
      this.#subscribe().catch(() => (client as Retriable).once?.('connect', () => this.#subscribe().catch(() => {})));
    } catch {
      // No way to hear releases: waiters poll.
    }
  }

  /** Stops hearing releases: a duplicate is destroyed, a subscription on the user's object removed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.releases.wakeAll();
    if (this.#connection !== undefined) {
      try {
        this.#connection.destroy();
      } catch {
        // Already closed.
      }
      return;
    }
    try {
      this.#pubSub?.unsubscribe?.(RELEASE_CHANNEL, this.#listener)?.catch(() => {});
    } catch {
      // The object is closed, and its subscription with it.
    }
  }

  async #subscribe(): Promise<void> {
    if (this.#closed || this.#pubSub === undefined) return;
    await this.#pubSub.subscribe(RELEASE_CHANNEL, this.#listener);
  }
}
