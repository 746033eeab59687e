/** One computation (or read) in flight for one key, shared by every caller who joins it. */
export interface Flight<T> {
  /** Settles with the shared result. */
  readonly promise: Promise<T>;
  /**
   * Set when the store refused this flight's write because the entry was invalidated while it ran
   * (perhaps by another process): its result may predate that invalidation.
   */
  superseded: boolean;
}

/**
 * In-process single-flight: concurrent calls for one key share one promise (one Redis read, one
 * computation). A flight leaves when it settles, when it is superseded, or when an invalidation in
 * this process detaches it, so a later call never joins a computation that began before it.
 */
export class Flights<T> {
  readonly #pending = new Map<string, Flight<T>>();

  /** The flight for `key`, if any. */
  get(key: string): Flight<T> | undefined {
    return this.#pending.get(key);
  }

  /** Starts `run` as the flight later callers of `key` join, replacing any earlier one. */
  start(key: string, run: (flight: Flight<T>) => Promise<T>): Flight<T> {
    const flight = { superseded: false } as { promise: Promise<T>; superseded: boolean };
    flight.promise = run(flight);
    this.#pending.set(key, flight);
    const settle = () => this.detach(key, flight);
    // Both branches handled: this derived promise must never become an unhandled rejection.
    flight.promise.then(settle, settle);
    return flight;
  }

  /** Detaches the flight of `key` (only `flight`, when given); its callers still get their result. */
  detach(key: string, flight?: Flight<T>): void {
    if (flight === undefined || this.#pending.get(key) === flight) this.#pending.delete(key);
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
