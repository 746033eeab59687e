import type { Releases } from '../releases';
import type { ClientKind, Closable } from './driver';
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
export class ReleaseSubscriber implements Closable {
  readonly #connection: Connection | undefined;
  readonly #pubSub: PubSub | undefined;
  readonly #listener: Listener = (message) => this.releases.announce(message);
  #closed = false;
  /** The last subscribe sent, so that closing waits for it. */
  #subscribing: Promise<unknown> = Promise.resolve();

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
    // An unsubscribe that overtakes a subscribe still under way would leave the subscription.
    const unsubscribe = () => {
      try {
        this.#pubSub?.unsubscribe?.(RELEASE_CHANNEL, this.#listener)?.catch(() => {});
      } catch {
        // The object is closed, and its subscription with it.
      }
    };
    this.#subscribing.then(unsubscribe, unsubscribe);
  }

  #subscribe(): Promise<void> {
    if (this.#closed || this.#pubSub === undefined) return Promise.resolve();
    const pubSub = this.#pubSub;
    this.#subscribing = this.#subscribing.then(
      () => pubSub.subscribe(RELEASE_CHANNEL, this.#listener),
      () => pubSub.subscribe(RELEASE_CHANNEL, this.#listener),
    );
    return this.#subscribing.then(() => {});
  }
}

/** A node-redis cluster's sharded pub/sub. */
interface ShardedPubSub {
  sSubscribe(channel: string, listener: Listener): Promise<unknown>;
  sUnsubscribe(channel: string, listener: Listener): Promise<unknown>;
}

// A channel nobody waits on any more stays subscribed this long, so a waiter's next wait finds it.
const LINGER_MS = 2000;

/** One entry's release channel, heard while someone waits on it. */
interface Subscription {
  waiters: number;
  linger: NodeJS.Timeout | undefined;
  /** Settles once the subscribe was answered: an unsubscribe must not overtake it. */
  subscribed: Promise<void>;
}

/**
 * Sharded release announcements on a Redis Cluster (Redis 7 or later): each entry's releases go to
 * a channel in the entry's slot (`SPUBLISH`), which only that slot's master relays, instead of one
 * channel every node relays to every subscriber. A waiter subscribes to its entry's channel for as
 * long as it waits (and a little longer); a release published before its subscription was in place
 * cannot be heard, so the first subscription to a channel wakes its waiter to check once more.
 */
export class ShardedReleaseSubscriber implements Closable {
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #listener: Listener = (message) => this.releases.announce(message);
  #closed = false;

  constructor(
    readonly cluster: ShardedPubSub,
    readonly releases: Releases,
  ) {}

  /**
   * Hears the releases of `valueKey` until `stop()`. `ready` is set when this started a new
   * subscription: it resolves once the subscription is in place.
   */
  listen(channel: string): { ready: Promise<void> | undefined; stop(): void } {
    let subscription = this.#subscriptions.get(channel);
    let ready: Promise<void> | undefined;
    if (subscription === undefined) {
      ready = this.cluster.sSubscribe(channel, this.#listener).then(
        () => {},
        () => this.#drop(channel),
      );
      subscription = { waiters: 0, linger: undefined, subscribed: ready };
      this.#subscriptions.set(channel, subscription);
    }
    const current = subscription;
    clearTimeout(current.linger);
    current.waiters++;
    let stopped = false;
    return {
      ready,
      stop: () => {
        if (stopped) return;
        stopped = true;
        if (--current.waiters > 0 || this.#closed) return;
        current.linger = setTimeout(() => this.#drop(channel), LINGER_MS);
        current.linger.unref();
      },
    };
  }

  close(): void {
    this.#closed = true;
    for (const channel of [...this.#subscriptions.keys()]) this.#drop(channel);
    this.releases.wakeAll();
  }

  #drop(channel: string): void {
    const subscription = this.#subscriptions.get(channel);
    if (subscription === undefined) return;
    clearTimeout(subscription.linger);
    this.#subscriptions.delete(channel);
    subscription.subscribed.then(() => {
      try {
        this.cluster.sUnsubscribe(channel, this.#listener).catch(() => {});
      } catch {
        // The cluster is closed, and its subscriptions with it.
      }
    });
  }
}
