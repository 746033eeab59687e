import { performance } from 'node:perf_hooks';
import type { Waiting } from './store';

/** The pub/sub channel on which lock releases are announced; the message is the entry's value key. */
export const RELEASE_CHANNEL = 'cache-memoize:released';

/** The second connection that hears lock releases: node-redis `client.duplicate()`. */
interface Subscriber {
  on(event: 'error', listener: (error: Error) => void): unknown;
  unref?(): void;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  destroy(): void;
}

// Releases heard recently, for waiters whose "the lock is taken" answer the release overtook.
const MAX_HEARD = 1024;

/** What a client must offer for releases to be heard; anything else leaves waiters to poll. */
interface Duplicable {
  duplicate?(): Subscriber;
  once?(event: 'end', listener: () => void): unknown;
}

/**
 * Announced lock releases for one client, heard on one subscribed second connection shared by every
 * store over that client. The connection is made on first use, unref'd (it never keeps a process
 * alive), and closed when the client ends; a connection error wakes every waiter to check for itself.
 */
export class Releases {
  readonly #waiters = new Map<string, Set<() => void>>();
  /** When each recently announced value key was last announced (`performance.now()`), oldest first. */
  readonly #heard = new Map<string, number>();

  /** @param client - whose releases to hear; one without `duplicate()` only hears {@link announce}. */
  constructor(client: Duplicable = {}, onEnd: () => void = () => {}) {
    if (typeof client.duplicate !== 'function') return;
    try {
      const subscriber = client.duplicate();
      subscriber.on('error', () => this.#wakeAll());
      subscriber.unref?.();
      client.once?.('end', () => {
        onEnd();
        this.#wakeAll();
        subscriber.destroy();
      });
      subscriber
        .connect()
        .then(() => subscriber.subscribe(RELEASE_CHANNEL, (message) => this.announce(message)))
        .catch(() => this.#wakeAll());
    } catch {
      // No second connection: waiters poll.
    }
  }

  /**
   * Resolves when a release of `valueKey`'s lock is announced, or after `ms`. Registers at once; a
   * release already heard at or after `since` resolves it now.
   */
  waitFor(valueKey: string, ms: number, since = Number.POSITIVE_INFINITY): Waiting {
    if ((this.#heard.get(valueKey) ?? Number.NEGATIVE_INFINITY) >= since) {
      return { promise: Promise.resolve(), cancel: () => {} };
    }
    let set = this.#waiters.get(valueKey);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(valueKey, set);
    }
    const registered = set;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    const wake = () => {
      clearTimeout(timer);
      registered.delete(wake);
      if (registered.size === 0 && this.#waiters.get(valueKey) === registered) this.#waiters.delete(valueKey);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    registered.add(wake);
    return { promise, cancel: wake };
  }

  /** Wakes the waiters of `valueKey` (the subscriber calls this; so does {@link MemoryStore}). */
  announce(valueKey: string): void {
    this.#heard.delete(valueKey);
    this.#heard.set(valueKey, performance.now());
    if (this.#heard.size > MAX_HEARD) this.#heard.delete(this.#heard.keys().next().value as string);
    const set = this.#waiters.get(valueKey);
    if (set !== undefined) for (const wake of [...set]) wake();
  }

  #wakeAll(): void {
    for (const set of [...this.#waiters.values()]) for (const wake of [...set]) wake();
  }
}

const byClient = new WeakMap<object, Releases>();

/** The {@link Releases} of `client`, created (and subscribed) on first use. */
export function releasesOf(client: object): Releases {
  let releases = byClient.get(client);
  if (releases === undefined) {
    releases = new Releases(client as Duplicable, () => byClient.delete(client));
    byClient.set(client, releases);
  }
  return releases;
}
