import { performance } from 'node:perf_hooks';
import { type BreakerSettings, breakerOf, type CircuitBreaker } from './breaker';
import { type DeadlineQueue, deadlineQueue, type Timed } from './deadline';
import { asStoreError, isOutage, type MemoizeError, StoreError } from './errors';
import type { StoreSettings } from './settings';
import type { RoundTrip, Store, TaggedValue } from './stores/store';

/**
 * One store operation under a {@link StoreGuard}: told its answer or its failure, exactly once. The
 * hit path's call is one (so a hit costs no closure of its own); {@link StoreGuard.run} makes one
 * around a promise.
 */
export interface GuardedOperation<T> extends Timed {
  /** Set by the guard when the operation is sent. */
  expiresAt: number;
  /** The entry it is about, when it is about one: a cluster keeps a circuit per master. */
  readonly key?: string | undefined;
  /** What the operation is, for messages: `read`, `begin`, `write`, ... */
  readonly operation: string;
  /** The store answered in time. */
  answered(value: T): void;
  /** The store failed, missed the deadline, or was skipped (not connected, circuit open). */
  failed(error: MemoizeError): void;
}

class AwaitedOperation<T> implements GuardedOperation<T> {
  expiresAt = 0;
  settled = false;
  constructor(
    readonly guard: StoreGuard,
    readonly operation: string,
    readonly key: string | undefined,
    readonly answered: (value: T) => void,
    readonly failed: (error: MemoizeError) => void,
    readonly counted: boolean,
  ) {}
  expire(): void {
    this.failed(this.guard.timedOut(this.operation, this.key, this.counted));
  }
}

/** How {@link StoreGuard.run} treats one operation. */
export interface RunOptions {
  /** `invalidate`, `refresh`, `invalidateAll`: not held back by an open circuit. */
  readonly explicit?: boolean;
  /** The entry the operation is about, for a store with a circuit per master. */
  readonly key?: string | undefined;
  /**
   * `false` for the clean-up of an operation that already failed (the release of the lock after a
   * lost `begin` or write): its own failure is that same outage, so the breaker does not count it
   * again. An answer still counts as the store answering.
   */
  readonly counted?: boolean;
}

// With the breaker off, failures are still counted (harmlessly) against a threshold never reached.
const NEVER_OPENS: BreakerSettings = { failures: Number.POSITIVE_INFINITY, coolDownMs: 0 };

/** A store read made some other way than the store's `get`/`getTagged` (the local tier's, see `LocalTier.reading`). */
export type StoreRead = (key: string, tagged: boolean) => Promise<string | TaggedValue | null | undefined>;

/**
 * A store with the deadline and the circuit breaker in front of it: the one place their rules are
 * written. An operation either answers within the deadline or fails with a `MemoizeError`; a store
 * that is not connected, or whose circuit is open, is not asked at all. Explicit operations
 * (`invalidate`, `refresh`, `invalidateAll`) are not held back by an open circuit: they are rare,
 * their outcome matters, and the deadline still bounds them.
 */
export class StoreGuard {
  readonly #queue: DeadlineQueue | undefined;
  readonly #breaker: CircuitBreaker;
  readonly #circuitKeyFor: ((key: string) => object) | undefined;

  constructor(
    readonly store: Store,
    readonly settings: StoreSettings,
  ) {
    this.#queue = Number.isFinite(settings.timeoutMs) ? deadlineQueue(settings.timeoutMs) : undefined;
    this.#breaker = breakerOf(store.circuitKey ?? store);
    this.#circuitKeyFor = store.circuitKeyFor;
  }

  /**
   * The hit path's entry: one store read for `operation`, with no promise or closure of its own
   * beyond the store's. The same rules as {@link run}. A tagged function's read is the store's
   * `getTagged` (which a store with tags has: the read path checks before), or `source` when given.
   */
  read(
    operation: GuardedOperation<string | TaggedValue | null | undefined>,
    key: string,
    tagged = false,
    source?: StoreRead,
  ): void {
    const breaker = this.#admit(operation, false);
    if (breaker === undefined) return;
    let pending: Promise<string | TaggedValue | null | undefined>;
    try {
      if (source !== undefined) pending = source(key, tagged);
      else
        pending = tagged ? (this.store.getTagged as (key: string) => Promise<TaggedValue>)(key) : this.store.get(key);
    } catch (error) {
      // A store that throws instead of rejecting is still just a failed read.
      pending = Promise.reject(error);
    }
    this.#watch(operation, pending, breaker);
  }

  /** Runs one store round trip under the deadline and the breaker; rejects with a `MemoizeError`. */
  run<T>(operation: string, work: (store: Store) => Promise<T>, options: RunOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const counted = options.counted !== false;
      const guarded = new AwaitedOperation<T>(this, operation, options.key, resolve, reject, counted);
      const breaker = this.#admit(guarded, options.explicit === true);
      if (breaker === undefined) return;
      let pending: Promise<T>;
      try {
        pending = work(this.store);
      } catch (error) {
        pending = Promise.reject(error);
      }
      this.#watch(guarded, pending, breaker, counted);
    });
  }

  /**
   * Each round trip of a multi-step operation (`invalidateAll`) under the deadline. It takes the
   * round trip as a function, so a step refused up front is never sent.
   */
  bound(operation: string): RoundTrip {
    return <T>(roundTrip: () => Promise<T>) => this.run(operation, roundTrip, { explicit: true });
  }

  /** The error of an operation that missed its deadline, counted by the breaker unless not `counted`. */
  timedOut(operation: string, key?: string, counted = true): StoreError {
    if (counted) this.#breakerFor(key).failed(performance.now(), this.settings.breaker ?? NEVER_OPENS);
    return new StoreError(
      'E_TIMEOUT',
      `cache-memoize: store ${operation} did not answer within ${this.settings.timeoutMs} ms`,
    );
  }

  /**
   * What a failure means (the store says, or it is an outage), counted by the circuit the operation
   * was admitted by: the breaker counts outages only (and not those of an operation not `counted`).
   */
  #failure(operation: string, cause: unknown, breaker: CircuitBreaker, counted: boolean): MemoizeError {
    let error: MemoizeError;
    try {
      error = this.store.describeFailure?.(operation, cause) ?? asStoreError(operation, cause);
    } catch {
      error = asStoreError(operation, cause);
    }
    if (isOutage(error)) {
      if (counted) breaker.failed(performance.now(), this.settings.breaker ?? NEVER_OPENS);
    } else {
      breaker.succeeded();
    }
    return error;
  }

  /**
   * Why an explicit operation must not be sent now (the store is not connected), or `undefined`.
   * It asks the breaker nothing and tells it nothing: explicit operations are not held back by it.
   */
  explicitRefusal(operation: string): StoreError | undefined {
    return this.#refusal(operation, this.#breaker, performance.now(), true);
  }

  /** The circuit of the store, or of the master that serves `key` when the store has one per master. */
  #breakerFor(key: string | undefined): CircuitBreaker {
    if (key === undefined || this.#circuitKeyFor === undefined) return this.#breaker;
    return breakerOf(this.#circuitKeyFor(key));
  }

  /** Why the store must be skipped now, or `undefined` to go ahead. */
  #refusal(operation: string, circuit: CircuitBreaker, now: number, explicit: boolean): StoreError | undefined {
    if (this.store.isReady?.() === false) {
      return new StoreError('E_UNAVAILABLE', `cache-memoize: store ${operation} skipped: the client is not connected`);
    }
    const { breaker } = this.settings;
    if (explicit || breaker === undefined || circuit.admits(now, breaker)) return undefined;
    return new StoreError(
      'E_CIRCUIT_OPEN',
      `cache-memoize: store ${operation} skipped: the circuit is open after ${breaker.failures} consecutive ` +
        `failures; the store is probed again every ${breaker.coolDownMs} ms`,
    );
  }

  /**
   * Sets the operation's deadline and resolves the circuit it counts against (once: on a cluster that
   * hashes the key), or fails it at once and resolves `undefined` when the store must be skipped.
   */
  #admit<T>(operation: GuardedOperation<T>, explicit: boolean): CircuitBreaker | undefined {
    const now = performance.now();
    const breaker = this.#breakerFor(operation.key);
    const refusal = this.#refusal(operation.operation, breaker, now, explicit);
    if (refusal !== undefined) {
      operation.settled = true;
      operation.failed(refusal);
      return undefined;
    }
    operation.expiresAt = this.#queue === undefined ? Number.POSITIVE_INFINITY : this.#queue.expiresAt(now);
    return breaker;
  }

  /** Settles the operation with whichever comes first: the store's answer, or the deadline. */
  #watch<T>(operation: GuardedOperation<T>, pending: Promise<T>, breaker: CircuitBreaker, counted = true): void {
    pending.then(
      (value) => {
        if (operation.settled) return;
        this.#settle(operation);
        breaker.succeeded();
        operation.answered(value);
      },
      (error: unknown) => {
        if (operation.settled) return;
        this.#settle(operation);
        operation.failed(this.#failure(operation.operation, error, breaker, counted));
      },
    );
    this.#queue?.add(operation);
  }

  /** The operation answered or failed before its deadline (its queue, if any, watches it). */
  #settle<T>(operation: GuardedOperation<T>): void {
    if (this.#queue === undefined) operation.settled = true;
    else this.#queue.settle(operation);
  }
}
