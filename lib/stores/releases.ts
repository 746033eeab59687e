import { performance } from 'node:perf_hooks';
import type { Waiting, WaitRequest } from './store';

// Releases heard recently, for waiters whose "the lock is taken" answer the release overtook.
const MAX_HEARD = 1024;

/**
 * Lock releases heard by one store, and the calls waiting for them. The store announces each release
 * it hears (from its backend, or its own, in process); a wait resolves on its key's announcement, at
 * its timeout, or when the store loses its notifications ({@link wakeAll}).
 */
export class Releases {
  readonly #waiters = new Map<string, Set<() => void>>();
  /** When each recently announced value key was last announced (`performance.now()`), oldest first. */
  readonly #heard = new Map<string, number>();

  /**
   * Resolves when a release of the entry's lock is announced, or after `ms`. Registers at once; a
   * release already heard at or after `since` resolves it now.
   */
  waitFor({ key: valueKey, ms, since = Number.POSITIVE_INFINITY }: WaitRequest): Waiting {
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

  /** Wakes the waiters of `valueKey`: its lock was released. */
  announce(valueKey: string): void {
    this.#heard.delete(valueKey);
    this.#heard.set(valueKey, performance.now());
    if (this.#heard.size > MAX_HEARD) this.#heard.delete(this.#heard.keys().next().value as string);
    const set = this.#waiters.get(valueKey);
    if (set !== undefined) for (const wake of [...set]) wake();
  }

  /** Wakes every waiter to check for itself: releases may have been missed (a connection dropped). */
  wakeAll(): void {
    for (const set of [...this.#waiters.values()]) for (const wake of [...set]) wake();
  }
}
