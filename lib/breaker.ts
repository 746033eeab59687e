/** When a {@link CircuitBreaker} opens and for how long. */
export interface BreakerSettings {
  /** Consecutive failures (timeouts, connection errors) that open the circuit. */
  readonly failures: number;
  /** How long an open circuit skips the store before letting one call probe it, in milliseconds. */
  readonly coolDownMs: number;
}

/**
 * The health of one store, shared by every function that uses it. Closed: every operation goes to the
 * store. After `failures` consecutive failures it opens: operations skip the store for `coolDownMs`.
 * Then one operation is let through as a probe (and the window restarts for the others); a success
 * anywhere closes the circuit, a failure keeps it open for another cool-down.
 */
export class CircuitBreaker {
  #failures = 0;
  #openUntil = 0;

  /** Whether an operation may use the store now; `false` means skip it. */
  admits(now: number, settings: BreakerSettings): boolean {
    if (this.#openUntil === 0 || now < this.#openUntil) return this.#openUntil === 0;
    this.#openUntil = now + settings.coolDownMs;
    return true;
  }

  /** Whether the circuit is open (calls skip the store). */
  get open(): boolean {
    return this.#openUntil !== 0;
  }

  /** The store answered. */
  succeeded(): void {
    this.#failures = 0;
    this.#openUntil = 0;
  }

  /** The store timed out or could not be reached. */
  failed(now: number, settings: BreakerSettings): void {
    this.#failures++;
    if (this.#failures >= settings.failures) this.#openUntil = now + settings.coolDownMs;
  }
}

const breakers = new WeakMap<object, CircuitBreaker>();

/** The breaker of `store`, created on first use. */
export function breakerOf(store: object): CircuitBreaker {
  let breaker = breakers.get(store);
  if (breaker === undefined) {
    breaker = new CircuitBreaker();
    breakers.set(store, breaker);
  }
  return breaker;
}
