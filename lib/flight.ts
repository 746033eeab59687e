/**
 * In-process single-flight: concurrent calls for one key share one promise (one Redis read, one
 * computation). Entries leave when their promise settles or when they are detached by an
 * invalidation, so a call made after `invalidate()` never joins a computation that began before it.
 */
export class Flights<T> {
  readonly #pending = new Map<string, Promise<T>>();

  /** The promise in flight for `key`, if any. */
  get(key: string): Promise<T> | undefined {
    return this.#pending.get(key);
  }

  /** Makes `promise` the one later callers of `key` join, until it settles or is detached. */
  track(key: string, promise: Promise<T>): Promise<T> {
    this.#pending.set(key, promise);
    const settle = () => {
      if (this.#pending.get(key) === promise) this.#pending.delete(key);
    };
    // Both branches handled: this derived promise must never become an unhandled rejection.
    promise.then(settle, settle);
    return promise;
  }

  /** Detaches the flight of one key (its callers still get their result). */
  detach(key: string): void {
    this.#pending.delete(key);
  }

  /** Detaches every flight. */
  detachAll(): void {
    this.#pending.clear();
  }

  /** How many keys are in flight; for tests and metrics. */
  get size(): number {
    return this.#pending.size;
  }
}
