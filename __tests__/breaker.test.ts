import { type BreakerSettings, breakerOf, CircuitBreaker } from '../lib/breaker';

// The breaker takes the time as an argument, so these tests drive a fake clock: no waiting.
const settings: BreakerSettings = { failures: 3, coolDownMs: 1000 };
const T0 = 10_000;

/** A breaker opened at `at` by `settings.failures` consecutive failures. */
function openedAt(at: number): CircuitBreaker {
  const breaker = new CircuitBreaker();
  for (let i = 0; i < settings.failures; i++) breaker.failed(at, settings);
  expect(breaker.open).toBe(true);
  return breaker;
}

describe('CircuitBreaker', () => {
  test('a new breaker is closed and admits everything', () => {
    const breaker = new CircuitBreaker();
    expect(breaker.open).toBe(false);
    for (let i = 0; i < 5; i++) expect(breaker.admits(T0 + i, settings)).toBe(true);
  });

  test('stays closed below the threshold', () => {
    const breaker = new CircuitBreaker();
    breaker.failed(T0, settings);
    breaker.failed(T0 + 1, settings);
    expect(breaker.open).toBe(false);
    expect(breaker.admits(T0 + 2, settings)).toBe(true);
    expect(breaker.admits(T0 + 3, settings)).toBe(true);
  });

  test('opens at the threshold and refuses for the whole cool-down', () => {
    const breaker = new CircuitBreaker();
    breaker.failed(T0, settings);
    breaker.failed(T0 + 1, settings);
    breaker.failed(T0 + 2, settings);
    expect(breaker.open).toBe(true);
    // The cool-down counts from the failure that opened it.
    for (const t of [T0 + 2, T0 + 3, T0 + 500, T0 + 2 + settings.coolDownMs - 1]) {
      expect(breaker.admits(t, settings)).toBe(false);
    }
    expect(breaker.open).toBe(true);
  });

  test('only consecutive failures count: a success in between resets the count', () => {
    const breaker = new CircuitBreaker();
    breaker.failed(T0, settings);
    breaker.failed(T0, settings);
    breaker.succeeded();
    breaker.failed(T0, settings);
    breaker.failed(T0, settings);
    expect(breaker.open).toBe(false);
    expect(breaker.admits(T0 + 1, settings)).toBe(true);
    breaker.failed(T0 + 1, settings);
    expect(breaker.open).toBe(true);
  });

  test('after the cool-down exactly one caller is admitted as a probe; others wait another cool-down', () => {
    const breaker = openedAt(T0);
    const end = T0 + settings.coolDownMs;
    expect(breaker.admits(end - 1, settings)).toBe(false);
    expect(breaker.admits(end, settings)).toBe(true);
    // Same instant, and for the next cool-down: refused.
    expect(breaker.admits(end, settings)).toBe(false);
    expect(breaker.admits(end + 1, settings)).toBe(false);
    expect(breaker.admits(end + settings.coolDownMs - 1, settings)).toBe(false);
    expect(breaker.open).toBe(true);
    // A probe that never reports back does not lock the store out: another probe after one more cool-down.
    expect(breaker.admits(end + settings.coolDownMs, settings)).toBe(true);
    expect(breaker.admits(end + settings.coolDownMs, settings)).toBe(false);
  });

  test('a late caller after the cool-down is the probe; the new window counts from it', () => {
    const breaker = openedAt(T0);
    const probeAt = T0 + 5 * settings.coolDownMs;
    expect(breaker.admits(probeAt, settings)).toBe(true);
    expect(breaker.admits(probeAt + settings.coolDownMs - 1, settings)).toBe(false);
    expect(breaker.admits(probeAt + settings.coolDownMs, settings)).toBe(true);
  });

  test('a succeeding probe closes the circuit and the failure count starts over', () => {
    const breaker = openedAt(T0);
    const end = T0 + settings.coolDownMs;
    expect(breaker.admits(end, settings)).toBe(true);
    breaker.succeeded();
    expect(breaker.open).toBe(false);
    for (let i = 0; i < 3; i++) expect(breaker.admits(end + i, settings)).toBe(true);
    // Fewer than `failures` new failures do not reopen it.
    breaker.failed(end + 5, settings);
    breaker.failed(end + 6, settings);
    expect(breaker.open).toBe(false);
    expect(breaker.admits(end + 7, settings)).toBe(true);
  });

  test('a failing probe re-opens the circuit for a full cool-down from its failure', () => {
    const breaker = openedAt(T0);
    const end = T0 + settings.coolDownMs;
    expect(breaker.admits(end, settings)).toBe(true);
    const failedAt = end + 50;
    breaker.failed(failedAt, settings);
    expect(breaker.open).toBe(true);
    // The probe's own window would have ended at end + coolDown; its failure pushes that out.
    expect(breaker.admits(end + settings.coolDownMs, settings)).toBe(false);
    expect(breaker.admits(failedAt + settings.coolDownMs - 1, settings)).toBe(false);
    expect(breaker.admits(failedAt + settings.coolDownMs, settings)).toBe(true);
    expect(breaker.admits(failedAt + settings.coolDownMs, settings)).toBe(false);
  });

  test('uses the settings it is given: failures 1 opens on the first failure, with its own cool-down', () => {
    const breaker = new CircuitBreaker();
    const eager: BreakerSettings = { failures: 1, coolDownMs: 50 };
    breaker.failed(T0, eager);
    expect(breaker.open).toBe(true);
    expect(breaker.admits(T0 + 49, eager)).toBe(false);
    expect(breaker.admits(T0 + 50, eager)).toBe(true);
  });

  test('succeeded() while open closes it at once, even during the cool-down', () => {
    const breaker = openedAt(T0);
    breaker.succeeded();
    expect(breaker.open).toBe(false);
    expect(breaker.admits(T0 + 1, settings)).toBe(true);
    expect(breaker.admits(T0 + 1, settings)).toBe(true);
  });
});

describe('breakerOf()', () => {
  test('one breaker per store object, created on first use', () => {
    const a = {};
    const b = {};
    const breakerA = breakerOf(a);
    expect(breakerA).toBeInstanceOf(CircuitBreaker);
    expect(breakerOf(a)).toBe(breakerA);
    expect(breakerOf(b)).not.toBe(breakerA);
    // Equal-looking stores are still different stores.
    expect(breakerOf({})).not.toBe(breakerOf({}));
  });

  test('the state is shared by everyone holding the same store, and only by them', () => {
    const store = {};
    const other = {};
    for (let i = 0; i < settings.failures; i++) breakerOf(store).failed(T0, settings);
    expect(breakerOf(store).open).toBe(true);
    expect(breakerOf(store).admits(T0 + 1, settings)).toBe(false);
    expect(breakerOf(other).open).toBe(false);
    expect(breakerOf(other).admits(T0 + 1, settings)).toBe(true);
  });
});
