import { performance } from 'node:perf_hooks';
import { type BreakerSettings, breakerOf, type CircuitBreaker } from './breaker';
import { type DeadlineQueue, deadlineQueue, type Timed } from './deadline';
import { StoreError, toStoreError } from './errors';
import type { Store } from './stores/store';

/** How store operations are bounded: resolved from the `timeout` and `circuitBreaker` options. */
export interface GuardSettings {
  /** Deadline of each store round trip in milliseconds; `Infinity` for none. */
  readonly timeoutMs: number;
  /** `undefined` when the circuit breaker is off. */
  readonly breaker: BreakerSettings | undefined;
}

/**
 * A store with the deadline and the circuit breaker in front of it. Operations either answer within
 * the deadline or reject with a {@link StoreError}; a store that is not connected or whose circuit is
 * open is not asked at all.
 */
export class StoreGuard {
  readonly #queue: DeadlineQueue | undefined;
  readonly #breaker: CircuitBreaker;

  constructor(
    readonly store: Store,
    readonly settings: GuardSettings,
  ) {
    this.#queue = Number.isFinite(settings.timeoutMs) ? deadlineQueue(settings.timeoutMs) : undefined;
    // A RedisStore is health-tracked by its client, so stores made over one client share a breaker.
    this.#breaker = breakerOf((store as { client?: object }).client ?? store);
  }

  /**
   * Why the store must be skipped now, or `undefined` to go ahead. Explicit operations (`invalidate`,
   * `refresh`, `invalidateAll`) are not held back by an open circuit: they are rare, their outcome
   * matters, and the deadline still bounds them.
   */
  refusal(operation: string, now: number, explicit: boolean): StoreError | undefined {
    if (this.store.isReady?.() === false) {
      return new StoreError('E_UNAVAILABLE', `cache-memoize: store ${operation} skipped: the client is not connected`);
    }
    const { breaker } = this.settings;
    if (explicit || breaker === undefined || this.#breaker.admits(now, breaker)) return undefined;
    return new StoreError(
      'E_CIRCUIT_OPEN',
      `cache-memoize: store ${operation} skipped: the circuit is open after ${breaker.failures} consecutive ` +
        `failures; the store is probed again every ${breaker.coolDownMs} ms`,
    );
  }

  /** Deadline time for an operation that started at `startedAt`; `Infinity` without a deadline. */
  expiresAt(startedAt: number): number {
    return this.#queue === undefined ? Number.POSITIVE_INFINITY : this.#queue.expiresAt(startedAt);
  }

  /** Watches `timed` until its deadline, if there is one. */
  watch(timed: Timed): void {
    this.#queue?.add(timed);
  }

  /** The error of an operation that missed its deadline, counted by the breaker. */
  timedOut(operation: string): StoreError {
    this.#breaker.failed(performance.now(), this.settings.breaker ?? NEVER_OPENS);
    return new StoreError(
      'E_TIMEOUT',
      `cache-memoize: store ${operation} did not answer within ${this.settings.timeoutMs} ms`,
    );
  }

  /** The store answered. */
  answered(): void {
    this.#breaker.succeeded();
  }

  /** The store failed with `cause`: wraps it and lets the breaker count outages (not answers). */
  failed(operation: string, cause: unknown): StoreError {
    const error = toStoreError(operation, cause);
    if (error.code === 'E_UNAVAILABLE' || error.code === 'E_TIMEOUT') {
      this.#breaker.failed(performance.now(), this.settings.breaker ?? NEVER_OPENS);
    } else {
      this.#breaker.succeeded();
    }
    return error;
  }

  /** Runs one store round trip under the deadline and the breaker; rejects with a {@link StoreError}. */
  run<T>(operation: string, work: (store: Store) => Promise<T>, explicit = false): Promise<T> {
    const now = performance.now();
    const refusal = this.refusal(operation, now, explicit);
    if (refusal !== undefined) return Promise.reject(refusal);
    let pending: Promise<T>;
    try {
      pending = work(this.store);
    } catch (error) {
      pending = Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      const timed: Timed = {
        expiresAt: this.expiresAt(now),
        settled: false,
        expire: () => reject(this.timedOut(operation)),
      };
      pending.then(
        (value) => {
          if (timed.settled) return;
          timed.settled = true;
          this.answered();
          resolve(value);
        },
        (error: unknown) => {
          if (timed.settled) return;
          timed.settled = true;
          reject(this.failed(operation, error));
        },
      );
      this.watch(timed);
    });
  }

  /**
   * A bound for each round trip of a multi-step operation (`deleteMatching`), without the breaker. It
   * takes the round trip as a function, so a step refused up front is never sent.
   */
  bound(operation: string): <T>(roundTrip: () => Promise<T>) => Promise<T> {
    return <T>(roundTrip: () => Promise<T>) => this.run(operation, roundTrip, true);
  }
}

// With the breaker off, failures are still counted (harmlessly) against a threshold never reached.
const NEVER_OPENS: BreakerSettings = { failures: Number.POSITIVE_INFINITY, coolDownMs: 0 };
