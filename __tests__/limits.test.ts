import { performance } from 'node:perf_hooks';
import { MemoizeError, SerializationError } from '../lib/errors';
import { createMemoizer } from '../lib/memoizer';
import type { ErrorEvent } from '../lib/options';
import { encode } from '../lib/serializer';
import { MemoryStore } from '../lib/stores/memory';
import { CountingStore } from './helpers/stores';

/** Bytes the result takes in the store: what maxValueBytes limits. */
const encodedBytes = (value: unknown) => Buffer.byteLength(encode(value));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('maxValueBytes', () => {
  let store: MemoryStore;
  let errors: ErrorEvent[];
  beforeEach(() => {
    store = new MemoryStore();
    errors = [];
  });

  /** A memoized function returning `value`, counting its runs. */
  function returning(
    memo: ReturnType<typeof createMemoizer>,
    value: unknown,
    options: { maxValueBytes?: number } = {},
  ) {
    const runs = { count: 0 };
    const f = memo(
      async function result() {
        runs.count++;
        return value;
      },
      { name: `r${Math.random()}`.replace('.', ''), ...options },
    );
    return { f, runs };
  }

  test('a result over the limit is returned, not stored, and reported as E_TOO_LARGE', async () => {
    const value = { text: 'x'.repeat(200) };
    const size = encodedBytes(value);
    const memo = createMemoizer({ store, maxValueBytes: size - 1, onError: (e) => errors.push(e) });
    const { f, runs } = returning(memo, value);

    await expect(f()).resolves.toEqual(value);
    expect(await store.get(f.keyFor())).toBeNull();
    expect(errors).toHaveLength(1);
    const { error, key } = errors[0] as ErrorEvent;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error).toBeInstanceOf(MemoizeError);
    expect(error.code).toBe('E_TOO_LARGE');
    expect(error.message).toMatch(new RegExp(`${size} bytes encoded, over maxValueBytes \\(${size - 1}\\)`));
    expect(key).toBe(f.keyFor());

    // Not stored, so the next call runs the function again (and is reported again).
    await expect(f()).resolves.toEqual(value);
    expect(runs.count).toBe(2);
    expect(errors.map((e) => e.error.code)).toEqual(['E_TOO_LARGE', 'E_TOO_LARGE']);
  });

  test('a result exactly at the limit is stored', async () => {
    const value = { text: 'x'.repeat(200) };
    const memo = createMemoizer({ store, maxValueBytes: encodedBytes(value), onError: (e) => errors.push(e) });
    const { f, runs } = returning(memo, value);

    await expect(f()).resolves.toEqual(value);
    expect(await store.get(f.keyFor())).toBe(encode(value));
    await expect(f()).resolves.toEqual(value);
    expect(runs.count).toBe(1);
    expect(errors).toEqual([]);
  });

  test('a result much larger than the limit is reported too', async () => {
    const value = 'y'.repeat(10_000);
    const memo = createMemoizer({ store, maxValueBytes: 100, onError: (e) => errors.push(e) });
    const { f } = returning(memo, value);
    await expect(f()).resolves.toBe(value);
    expect(await store.get(f.keyFor())).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_TOO_LARGE']);
    expect(errors[0]?.error.message).toMatch(/bytes encoded, over maxValueBytes \(100\); it was returned, not stored/);
  });

  test('multi-byte UTF-8 is counted in bytes, not string length', async () => {
    // '€' is one UTF-16 unit but 3 bytes in UTF-8.
    const value = '€'.repeat(100);
    const encoded = encode(value);
    const bytes = Buffer.byteLength(encoded);
    expect(bytes).toBe(encoded.length + 200);
    // The length fits, and even the length counted twice; only the bytes do not.
    const limit = encoded.length * 2;
    expect(encoded.length * 2).toBeLessThan(bytes);

    const memo = createMemoizer({ store, maxValueBytes: limit, onError: (e) => errors.push(e) });
    const { f } = returning(memo, value);
    await expect(f()).resolves.toBe(value);
    expect(await store.get(f.keyFor())).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_TOO_LARGE']);
    expect(errors[0]?.error.message).toMatch(
      new RegExp(`is ${bytes} bytes encoded, over maxValueBytes \\(${limit}\\)`),
    );
  });

  test.each<[string, string]>([
    ['€ (3 bytes)', '€'],
    ['an emoji (4 bytes, 2 UTF-16 units)', '\u{1F600}'],
    ['é (2 bytes)', 'é'],
  ])('multi-byte %s: stored at exactly its byte size, not one byte less', async (_label, char) => {
    const value = `${char.repeat(50)}-`;
    const bytes = encodedBytes(value);
    expect(bytes).toBeGreaterThan(encode(value).length);

    const exact = createMemoizer({ store, maxValueBytes: bytes, onError: (e) => errors.push(e) });
    const { f: fits } = returning(exact, value);
    await fits();
    expect(await store.get(fits.keyFor())).toBe(encode(value));
    expect(errors).toEqual([]);

    const short = createMemoizer({ store, maxValueBytes: bytes - 1, onError: (e) => errors.push(e) });
    const { f: over } = returning(short, value);
    await expect(over()).resolves.toBe(value);
    expect(await store.get(over.keyFor())).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_TOO_LARGE']);
  });

  test("a function's own maxValueBytes overrides the memoizer's, both ways", async () => {
    const value = 'z'.repeat(500);
    const size = encodedBytes(value);

    const strict = createMemoizer({ store, maxValueBytes: 10, onError: (e) => errors.push(e) });
    const { f: loosened } = returning(strict, value, { maxValueBytes: size });
    await loosened();
    expect(await store.get(loosened.keyFor())).toBe(encode(value));
    expect(errors).toEqual([]);

    const loose = createMemoizer({ store, maxValueBytes: Number.POSITIVE_INFINITY, onError: (e) => errors.push(e) });
    const { f: tightened } = returning(loose, value, { maxValueBytes: size - 1 });
    await tightened();
    expect(await store.get(tightened.keyFor())).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_TOO_LARGE']);
  });

  test('configure({ maxValueBytes }) applies to functions already made, unless they set their own', async () => {
    const value = 'w'.repeat(300);
    const size = encodedBytes(value);
    const memo = createMemoizer({ store, onError: (e) => errors.push(e) });
    const { f: inherits } = returning(memo, value);
    const { f: ownLimit } = returning(memo, value, { maxValueBytes: size });

    // The default (8 MiB) stores it.
    await inherits();
    expect(await store.get(inherits.keyFor())).toBe(encode(value));
    await inherits.invalidate();

    memo.configure({ maxValueBytes: size - 1 });
    await expect(inherits()).resolves.toBe(value);
    expect(await store.get(inherits.keyFor())).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_TOO_LARGE']);
    expect(errors[0]?.error.message).toMatch(new RegExp(`over maxValueBytes \\(${size - 1}\\)`));

    await ownLimit();
    expect(await store.get(ownLimit.keyFor())).toBe(encode(value));
    expect(errors).toHaveLength(1);

    // Raised again: the inheriting function stores once more.
    memo.configure({ maxValueBytes: Number.POSITIVE_INFINITY });
    await inherits();
    expect(await store.get(inherits.keyFor())).toBe(encode(value));
    expect(errors).toHaveLength(1);
  });

  test('a function that sets other store settings still follows configure({ maxValueBytes }) after use', async () => {
    const value = 'u'.repeat(300);
    const memo = createMemoizer({ store, onError: (e) => errors.push(e) });
    const f = memo(
      async function ownTimeoutOnly() {
        return value;
      },
      { timeout: 1000 },
    );
    // Used once under the default limit, so any merged settings it keeps are from before configure().
    await f();
    expect(await store.get(f.keyFor())).toBe(encode(value));
    await f.invalidate();

    memo.configure({ maxValueBytes: 100 });
    await f();
    expect(await store.get(f.keyFor())).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_TOO_LARGE']);
  });

  test('a configure() that does not mention maxValueBytes keeps the earlier limit', async () => {
    const value = 'v'.repeat(300);
    const memo = createMemoizer({ store, maxValueBytes: 50, onError: (e) => errors.push(e) });
    const { f } = returning(memo, value);
    memo.configure({ timeout: 1000 });
    await f();
    expect(await store.get(f.keyFor())).toBeNull();
    expect(errors.map((e) => e.error.code)).toEqual(['E_TOO_LARGE']);
  });
});

// A store whose get never answers. This is the unit level: the never-answering store stands in for a
// Redis that hangs or a network that drops packets. The tests against a real, faulted redis-server
// live in __tests__/faults/.
class HangingStore extends CountingStore {
  constructor() {
    super(new MemoryStore());
  }
  override get(_key: string): Promise<string | null | undefined> {
    this.calls.get++;
    return new Promise(() => {});
  }
}

describe('timeout and circuitBreaker against a store that never answers', () => {
  const TIMEOUT = 50;
  // Which deadline applied is told by the error's message ("within 50 ms"); the time bound only shows
  // that the call came back without the store, which never answers. Timers run late on a busy
  // machine, and a timer more than 20 ms late reads as a blocked event loop, which gives pending
  // operations one more while, up to one deadline: a call came back 192 ms after it began under the
  // full suite.
  const LATE_MS = 400;

  test('a read past the timeout becomes a miss: the call resolves with the result, reported as E_TIMEOUT', async () => {
    const store = new HangingStore();
    const errors: ErrorEvent[] = [];
    const memo = createMemoizer({ store, timeout: TIMEOUT, onError: (e) => errors.push(e) });
    let runs = 0;
    const f = memo(async function slowStore(n: number) {
      runs++;
      return n * 2;
    });

    const started = performance.now();
    await expect(f(21)).resolves.toBe(42);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT - 2);
    expect(elapsed).toBeLessThan(TIMEOUT + LATE_MS);
    expect(runs).toBe(1);
    expect(store.calls.get).toBe(1);
    expect(errors).toHaveLength(1);
    const { error } = errors[0] as ErrorEvent;
    expect(error.code).toBe('E_TIMEOUT');
    expect(error.message).toMatch(new RegExp(`store read did not answer within ${TIMEOUT} ms`));
    // Without the store, the result is not written either.
    expect(store.calls.set).toBe(0);
  });

  test('a duration string works as the timeout', async () => {
    const store = new HangingStore();
    const errors: ErrorEvent[] = [];
    const memo = createMemoizer({ store, timeout: '60ms', onError: (e) => errors.push(e) });
    const f = memo(async function durationTimeout() {
      return 'done';
    });
    const started = performance.now();
    await expect(f()).resolves.toBe('done');
    expect(performance.now() - started).toBeLessThan(60 + LATE_MS);
    expect(errors.map((e) => e.error.message)).toEqual([expect.stringMatching(/did not answer within 60 ms$/)]);
  });

  test('a function-level timeout overrides the memoizer default', async () => {
    const store = new HangingStore();
    const errors: ErrorEvent[] = [];
    const memo = createMemoizer({ store, timeout: 10_000, onError: (e) => errors.push(e) });
    const f = memo(
      async function ownTimeout() {
        return 1;
      },
      { timeout: TIMEOUT },
    );
    const started = performance.now();
    await expect(f()).resolves.toBe(1);
    expect(performance.now() - started).toBeLessThan(TIMEOUT + LATE_MS);
    expect(errors.map((e) => e.error.message)).toEqual([
      expect.stringMatching(new RegExp(`did not answer within ${TIMEOUT} ms$`)),
    ]);
  });

  test('a function that sets only maxValueBytes still follows the memoizer timeout, as configured later', async () => {
    const store = new HangingStore();
    const errors: ErrorEvent[] = [];
    const memo = createMemoizer({ store, timeout: 10_000, onError: (e) => errors.push(e) });
    const f = memo(
      async function ownLimitOnly() {
        return 'ok';
      },
      { maxValueBytes: 1000 },
    );
    // Read at call time: neither the 10 s it was made under nor the 250 ms default.
    memo.configure({ timeout: TIMEOUT });
    const started = performance.now();
    await expect(f()).resolves.toBe('ok');
    expect(performance.now() - started).toBeLessThan(TIMEOUT + LATE_MS);
    expect(errors.map((e) => e.error.message)).toEqual([
      expect.stringMatching(new RegExp(`did not answer within ${TIMEOUT} ms$`)),
    ]);
  });

  test('after `failures` timeouts the circuit opens: calls skip the store until one probe after the cool-down', async () => {
    const COOL_DOWN = 200;
    const store = new HangingStore();
    const errors: ErrorEvent[] = [];
    const memo = createMemoizer({
      store,
      timeout: TIMEOUT,
      circuitBreaker: { failures: 2, coolDown: COOL_DOWN },
      onError: (e) => errors.push(e),
    });
    const f = memo(async function behindBreaker(n: number) {
      return n + 1;
    });
    const codes = () => errors.map((e) => e.error.code);

    // Two reads time out: each pays the deadline.
    await expect(f(1)).resolves.toBe(2);
    await expect(f(2)).resolves.toBe(3);
    const openedAt = performance.now();
    expect(codes()).toEqual(['E_TIMEOUT', 'E_TIMEOUT']);
    expect(store.calls.get).toBe(2);

    // Open: the store is skipped at once (a call that waited the deadline takes at least TIMEOUT - 2,
    // as the first test shows; a busy machine may stall one a few tens of ms).
    for (const n of [3, 4, 5]) {
      const started = performance.now();
      await expect(f(n)).resolves.toBe(n + 1);
      expect(performance.now() - started).toBeLessThan(TIMEOUT - 2);
    }
    expect(store.calls.get).toBe(2);
    expect(store.calls.begin).toBe(0);
    expect(codes().slice(2)).toEqual(['E_CIRCUIT_OPEN', 'E_CIRCUIT_OPEN', 'E_CIRCUIT_OPEN']);
    expect(errors[2]?.error.message).toMatch(
      new RegExp(`circuit is open after 2 consecutive failures; the store is probed again every ${COOL_DOWN} ms`),
    );

    // After the cool-down one call probes the store; one made meanwhile is still refused.
    await sleep(openedAt + COOL_DOWN + 20 - performance.now());
    errors.length = 0;
    const probe = f(6);
    expect(store.calls.get).toBe(3);
    const started = performance.now();
    await expect(f(7)).resolves.toBe(8);
    expect(performance.now() - started).toBeLessThan(TIMEOUT - 2);
    expect(store.calls.get).toBe(3);
    // The probe hangs too: it times out and keeps the circuit open.
    await expect(probe).resolves.toBe(7);
    expect(codes()).toEqual(['E_CIRCUIT_OPEN', 'E_TIMEOUT']);
    await expect(f(8)).resolves.toBe(9);
    expect(store.calls.get).toBe(3);
    expect(codes()).toEqual(['E_CIRCUIT_OPEN', 'E_TIMEOUT', 'E_CIRCUIT_OPEN']);
  });

  test('circuitBreaker: false never skips the store', async () => {
    const store = new HangingStore();
    const errors: ErrorEvent[] = [];
    const memo = createMemoizer({ store, timeout: 20, circuitBreaker: false, onError: (e) => errors.push(e) });
    const f = memo(async function noBreaker(n: number) {
      return n;
    });
    for (let n = 0; n < 7; n++) await f(n);
    expect(store.calls.get).toBe(7);
    expect(new Set(errors.map((e) => e.error.code))).toEqual(new Set(['E_TIMEOUT']));
  });
});

test('a function that sets part of circuitBreaker inherits the other part from its memoizer', async () => {
  const store = new HangingStore();
  const errors: ErrorEvent[] = [];
  const memo = createMemoizer({
    store,
    timeout: 30,
    circuitBreaker: { failures: 50, coolDown: 100 },
    onError: (e) => errors.push(e),
  });
  const f = memo(
    async function partBreaker(n: number) {
      return n;
    },
    { circuitBreaker: { failures: 1 } },
  );
  await f(1); // one timeout opens it (the function's failures: 1)
  await f(2);
  expect(errors.map((e) => e.error.code)).toEqual(['E_TIMEOUT', 'E_CIRCUIT_OPEN']);
  // The memoizer's 100 ms cool-down applies, not the 1 s default: a probe goes out after it.
  await new Promise((r) => setTimeout(r, 150));
  const reads = store.calls.get;
  await f(3);
  expect(store.calls.get).toBe(reads + 1);
});
